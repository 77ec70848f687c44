import * as tf from '@tensorflow/tfjs';

/**
 * What the network outputs (Salimans & Ho 2022, §4):
 * - `'eps'`: the noise ε̂, `x̂ = (z − σ ε̂)/α` (DDPM);
 * - `'x'`: the data x̂ directly, `ε̂ = (z − α x̂)/σ`;
 * - `'v'`: v̂ ≈ α ε − σ x, `x̂ = α z − σ v̂`, `ε̂ = σ z + α v̂`;
 * - `'both'`: x̃ and ε̃ stacked on the channel axis (twice the data channels), `x̂ = σ² x̃ + α (z − σ ε̃)`.
 */
export type Prediction = 'eps' | 'x' | 'v' | 'both';

/** All parameterizations, for validation messages and loops in tests. */
export const PREDICTIONS: readonly Prediction[] = ['eps', 'x', 'v', 'both'];

/**
 * Loss weightings, each a weight w(λ) on the x-space error ‖x − x̂‖²:
 * - `'constant'`: w = 1 (x-MSE);
 * - `'snr'`: w = SNR, which equals ε-MSE (DDPM's simple loss);
 * - `'snr-trunc'`: w = max(SNR, 1), i.e. per example the larger of x-MSE and ε-MSE (progressive distillation);
 * - `'snr+1'`: w = SNR + 1, which equals v-MSE.
 */
export type LossWeighting = 'constant' | 'snr' | 'snr-trunc' | 'snr+1';

/** All loss weightings. */
export const LOSS_WEIGHTINGS: readonly LossWeighting[] = ['constant', 'snr', 'snr-trunc', 'snr+1'];

/** Data and noise estimates derived from a network output. */
export interface XEps {
  /** x̂, same shape as z. */
  x: tf.Tensor;
  /** ε̂, same shape as z. */
  eps: tf.Tensor;
}

/** Number of output channels a network needs for `prediction` on data with `dataChannels` channels. */
export function outputChannels(prediction: Prediction, dataChannels: number): number {
  return prediction === 'both' ? 2 * dataChannels : dataChannels;
}

/**
 * Per-example coefficients shaped to broadcast against a batch of rank `rank`: `[n, 1, …, 1]`.
 *
 * @param values - One coefficient per example.
 * @param rank - Rank of the data tensor, e.g. 4 for NHWC images.
 */
export function perExample(values: ArrayLike<number>, rank: number): tf.Tensor {
  return tf.tensor(Float32Array.from(values), [values.length, ...new Array<number>(Math.max(0, rank - 1)).fill(1)]);
}

/**
 * Converts a network output into (x̂, ε̂) for the given parameterization.
 *
 * @param prediction - What `out` is.
 * @param out - Network output (channels doubled for `'both'`).
 * @param z - Noisy input `α x + σ ε`.
 * @param alpha - α per example, broadcastable to `z` (see {@link perExample}).
 * @param sigma - σ per example, broadcastable to `z`.
 * @returns New tensors; the caller disposes them.
 *
 * @example
 * ```ts
 * const { x, eps } = toXEps('v', vHat, z, perExample(alphas, 4), perExample(sigmas, 4));
 * ```
 */
export function toXEps(prediction: Prediction, out: tf.Tensor, z: tf.Tensor, alpha: tf.Tensor, sigma: tf.Tensor): XEps {
  return tf.tidy(() => {
    switch (prediction) {
      case 'eps': {
        const x = tf.div(tf.sub(z, tf.mul(sigma, out)), alpha);
        return { x, eps: tf.clone(out) };
      }
      case 'x':
        return { x: tf.clone(out), eps: tf.div(tf.sub(z, tf.mul(alpha, out)), sigma) };
      case 'v':
        return { x: tf.sub(tf.mul(alpha, z), tf.mul(sigma, out)), eps: tf.add(tf.mul(sigma, z), tf.mul(alpha, out)) };
      case 'both': {
        const c = z.shape[z.rank - 1];
        if (out.shape[out.rank - 1] !== 2 * c) {
          throw new Error(`'both' prediction needs ${2 * c} output channels for ${c}-channel data, got ${out.shape[out.rank - 1]}`);
        }
        const [xt, et] = tf.split(out, 2, out.rank - 1);
        const x = tf.add(tf.mul(tf.square(sigma), xt), tf.mul(alpha, tf.sub(z, tf.mul(sigma, et))));
        return { x, eps: tf.div(tf.sub(z, tf.mul(alpha, x)), sigma) };
      }
      default:
        throw new Error(`unknown prediction '${String(prediction)}' (expected one of ${PREDICTIONS.join(', ')})`);
    }
  });
}

/**
 * The output an ideal network of the given parameterization would produce for data `x` and noise `eps`: the
 * regression target. For `'both'` it is `concat(x, ε)` on the channel axis.
 */
export function targetFor(prediction: Prediction, x: tf.Tensor, eps: tf.Tensor, alpha: tf.Tensor, sigma: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    switch (prediction) {
      case 'eps':
        return tf.clone(eps);
      case 'x':
        return tf.clone(x);
      case 'v':
        return velocity(x, eps, alpha, sigma);
      case 'both':
        return tf.concat([x, eps], x.rank - 1);
      default:
        throw new Error(`unknown prediction '${String(prediction)}' (expected one of ${PREDICTIONS.join(', ')})`);
    }
  });
}

/** v ≡ α ε − σ x. */
export function velocity(x: tf.Tensor, eps: tf.Tensor, alpha: tf.Tensor, sigma: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.mul(alpha, eps), tf.mul(sigma, x)));
}

/** The forward process `z = α x + σ ε`. */
export function diffuse(x: tf.Tensor, eps: tf.Tensor, alpha: tf.Tensor, sigma: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul(alpha, x), tf.mul(sigma, eps)));
}

/**
 * Per-example weighted loss from the per-example mean squared errors in x space and in ε space. Because
 * ε − ε̂ = −(α/σ)(x − x̂), ε-MSE = SNR·x-MSE, so every weighting is a combination of the two that never divides
 * by a vanishing α or σ: `snr` = ε-MSE, `snr-trunc` = max(x-MSE, ε-MSE), `snr+1` = x-MSE + ε-MSE.
 *
 * @param weighting - The weighting.
 * @param xMse - Per-example mean of (x − x̂)², shape `[n]`.
 * @param epsMse - Per-example mean of (ε − ε̂)², shape `[n]`.
 * @returns Per-example losses `[n]`.
 */
export function weightedLoss(weighting: LossWeighting, xMse: tf.Tensor, epsMse: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    switch (weighting) {
      case 'constant':
        return tf.clone(xMse);
      case 'snr':
        return tf.clone(epsMse);
      case 'snr-trunc':
        return tf.maximum(xMse, epsMse);
      case 'snr+1':
        return tf.add(xMse, epsMse);
      default:
        throw new Error(`unknown loss weighting '${String(weighting)}' (expected one of ${LOSS_WEIGHTINGS.join(', ')})`);
    }
  });
}

/** The x-space weight w(λ) of a weighting at log-SNR λ (for plots and tests): 1, SNR, max(SNR, 1) or SNR + 1. */
export function lossWeight(weighting: LossWeighting, logSnr: number): number {
  const snr = Math.exp(logSnr);
  switch (weighting) {
    case 'constant':
      return 1;
    case 'snr':
      return snr;
    case 'snr-trunc':
      return Math.max(snr, 1);
    case 'snr+1':
      return snr + 1;
    default:
      throw new Error(`unknown loss weighting '${String(weighting)}' (expected one of ${LOSS_WEIGHTINGS.join(', ')})`);
  }
}
