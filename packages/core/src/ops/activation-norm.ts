import * as tf from '@tensorflow/tfjs';

/**
 * SiLU / swish `x·sigmoid(x)` with a hand-written gradient `dy·s·(1 + x·(1 − s))`. Autodiff of the product
 * saves and clones three tensors and runs twice as many kernels; UNets call SiLU ~50 times per forward pass.
 *
 * @example
 * ```ts
 * silu(tf.tensor1d([0, 1])); // [0, 0.7311]
 * ```
 */
export function silu<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const a = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([a]);
    return {
      value: tf.tidy(() => tf.mul(a, tf.sigmoid(a))),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const s = tf.sigmoid(saved[0]);
          return tf.mul(tf.mul(dy, s), tf.add(tf.mul(saved[0], tf.sub(1, s)), 1));
        }),
    };
  });
  return op(x) as T;
}

/**
 * Group normalisation of a channels-last tensor `[n, ..., c]` with an optional per-channel affine map, and the
 * closed-form backward pass: with x̂ the normalised input, r = 1/√(var + eps) and g = dy·γ,
 * `dx = r·(g − mean_G(g) − x̂·mean_G(g·x̂))`, `dγ = Σ dy·x̂`, `dβ = Σ dy` (means over each sample's group). This runs
 * a third of the kernels autodiff of the moment computation would and saves only x̂ and r.
 *
 * @param x - Input `[n, ..., c]`.
 * @param numGroups - Groups; must divide c.
 * @param gamma - Scale `[c]`, or `null`.
 * @param beta - Shift `[c]`, or `null` (given together with `gamma`).
 * @param eps - Variance epsilon.
 */
export function groupNormOp(x: tf.Tensor, numGroups: number, gamma: tf.Tensor | null, beta: tf.Tensor | null, eps: number): tf.Tensor {
  const n = x.shape[0];
  const c = x.shape[x.rank - 1];
  if (c % numGroups !== 0) throw new Error(`groupNorm: ${c} channels cannot be split into ${numGroups} groups`);
  if ((gamma == null) !== (beta == null)) throw new Error('groupNorm: give both gamma and beta, or neither');
  const grouped = [n, -1, numGroups, c / numGroups];
  const reduceAxes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const normalise = (a: tf.Tensor): { xhat: tf.Tensor; r: tf.Tensor } =>
    tf.tidy(() => {
      const g = tf.reshape(a, grouped);
      const mean = tf.mean(g, [1, 3], true);
      const xc = tf.sub(g, mean);
      const r = tf.rsqrt(tf.add(tf.mean(tf.square(xc), [1, 3], true), eps));
      return { xhat: tf.mul(xc, r), r };
    });
  const backwardX = (dxhatFlat: tf.Tensor, xhat: tf.Tensor, r: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      const g = tf.reshape(dxhatFlat, grouped);
      const m1 = tf.mean(g, [1, 3], true);
      const m2 = tf.mean(tf.mul(g, xhat), [1, 3], true);
      return tf.reshape(tf.mul(r, tf.sub(tf.sub(g, m1), tf.mul(xhat, m2))), x.shape);
    });
  if (gamma == null || beta == null) {
    const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const { xhat, r } = normalise(args[0] as tf.Tensor);
      (args[1] as tf.GradSaveFunc)([xhat, r]);
      return { value: tf.reshape(xhat, x.shape), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backwardX(dy, saved[0], saved[1]) };
    });
    return op(x);
  }
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [a, gm, bt] = args as tf.Tensor[];
    const { xhat, r } = normalise(a);
    (args[3] as tf.GradSaveFunc)([xhat, r, gm]);
    return {
      value: tf.tidy(() => tf.add(tf.mul(tf.reshape(xhat, x.shape), gm), bt)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xh, r, gm2] = saved;
          const xhFlat = tf.reshape(xh, x.shape);
          return [backwardX(tf.mul(dy, gm2), xh, r), tf.sum(tf.mul(dy, xhFlat), reduceAxes), tf.sum(dy, reduceAxes)];
        }),
    };
  });
  return op(x, gamma, beta);
}
