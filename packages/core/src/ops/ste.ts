import * as tf from '@tensorflow/tfjs';

/**
 * A one-input op with a hand-written gradient: `backward(dy, x)` returns dL/dx. `tf.customGrad` passes inputs and
 * the save function through one variadic parameter, hence the unpacking.
 */
function unaryWithGrad<T extends tf.Tensor>(
  x: T,
  forward: (a: tf.Tensor) => tf.Tensor,
  backward: (dy: tf.Tensor, a: tf.Tensor) => tf.Tensor,
): T {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const a = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    save([a]);
    return { value: forward(a), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backward(dy, saved[0]) };
  });
  return op(x) as T;
}

/**
 * Rounds to the nearest integer (ties to even, like `torch.round`) with a straight-through gradient: the backward
 * pass treats rounding as the identity (Bengio et al. 2013), which is what makes fake quantization trainable.
 *
 * @example
 * ```ts
 * roundSTE(tf.tensor([0.4, 1.5, 2.5])); // [0, 2, 2]; d/dx = [1, 1, 1]
 * ```
 */
export function roundSTE<T extends tf.Tensor>(x: T): T {
  return unaryWithGrad(x, tf.round, (dy) => dy);
}

/**
 * `sign(x)` (with `sign(0) = 0`, as in torch) whose gradient is the clipped identity: `dy` where `|x| ≤ 1`, else 0.
 * The weight straight-through estimator of BinaryNet/XNOR-Net and of BinaryDM's weight binarizer.
 *
 * @example
 * ```ts
 * signSTE(tf.tensor([-2, -0.5, 0, 1])); // [-1, -1, 0, 1]; d/dx = [0, 1, 1, 1]
 * ```
 */
export function signSTE<T extends tf.Tensor>(x: T): T {
  return unaryWithGrad(x, tf.sign, (dy, a) => tf.mul(dy, tf.cast(tf.lessEqual(tf.abs(a), 1), 'float32')));
}

/**
 * `sign(x)` with the ApproxSign gradient of Bi-Real Net (Liu et al., ECCV 2018), used by BiDM for activations:
 * `d/dx = 2 + 2x` on `[−1, 0)`, `2 − 2x` on `[0, 1)`, `0` elsewhere — the derivative of a piecewise-quadratic
 * approximation of sign, i.e. `max(0, 2 − 2|x|)`.
 *
 * @example
 * ```ts
 * approxSign(tf.tensor([-0.5, 0, 0.25, 3])); // [-1, 0, 1, 1]; d/dx = [1, 2, 1.5, 0]
 * ```
 */
export function approxSign<T extends tf.Tensor>(x: T): T {
  return unaryWithGrad(x, tf.sign, (dy, a) => tf.mul(dy, tf.relu(tf.sub(2, tf.mul(2, tf.abs(a))))));
}

/**
 * Identity in the forward pass, gradient multiplied by `scale` in the backward pass. LSQ (Esser et al., ICLR 2020)
 * scales the step-size gradient by `g = 1/√(N·Qp)` this way; see {@link lsqGradScale}.
 *
 * @example
 * ```ts
 * gradScale(step, lsqGradScale(weight.size, 7)); // value of `step`, gradient ×(1/√(N·7))
 * ```
 */
export function gradScale<T extends tf.Tensor>(x: T, scale: number): T {
  return unaryWithGrad(x, tf.clone, (dy) => tf.mul(dy, scale));
}

/**
 * The LSQ step-size gradient scale `1/√(numel·qp)` for a quantizer over `numel` values whose largest positive
 * level is `qp` (e.g. 7 for signed 4-bit, 127 for signed 8-bit).
 */
export function lsqGradScale(numel: number, qp: number): number {
  if (!(numel > 0) || !(qp > 0)) throw new Error(`lsqGradScale: numel and qp must be positive (got ${numel}, ${qp})`);
  return 1 / Math.sqrt(numel * qp);
}

/**
 * `clamp(x, lo, hi)` whose gradient passes where `lo ≤ x ≤ hi` (bounds included) and is zero outside, the
 * clipping half of a uniform fake quantizer.
 *
 * @example
 * ```ts
 * clampSTE(tf.tensor([-3, 0.5, 3]), -1, 1); // [-1, 0.5, 1]; d/dx = [0, 1, 0]
 * ```
 */
export function clampSTE<T extends tf.Tensor>(x: T, lo: number, hi: number): T {
  if (!(lo <= hi)) throw new Error(`clampSTE: lo (${lo}) must not exceed hi (${hi})`);
  return unaryWithGrad(
    x,
    (a) => tf.clipByValue(a, lo, hi),
    (dy, a) => tf.mul(dy, tf.cast(tf.logicalAnd(tf.greaterEqual(a, lo), tf.lessEqual(a, hi)), 'float32')),
  );
}
