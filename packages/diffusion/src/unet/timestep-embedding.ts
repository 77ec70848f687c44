import * as tf from '@tensorflow/tfjs';
import { Linear, Module, Rng, silu } from '@diffpress/core';

/**
 * Sinusoidal embedding of (possibly fractional) timesteps, as in DDPM/DDIM's `get_timestep_embedding`: with
 * `half = dim/2` and `f_k = exp(−k·ln(10000)/(half − 1))`, the row for `t` is
 * `[sin(t·f_0) … sin(t·f_{half−1}), cos(t·f_0) … cos(t·f_{half−1})]` (zero-padded when `dim` is odd).
 *
 * @param t - Timesteps `[n]`, in the model's time units (0…999 for DDPM-style models).
 * @param dim - Embedding size, at least 2.
 * @returns `[n, dim]` float32.
 *
 * @example
 * ```ts
 * const e = timestepEmbedding(tf.tensor1d([0, 500]), 128); // [2, 128]
 * ```
 */
export function timestepEmbedding(t: tf.Tensor, dim: number): tf.Tensor2D {
  if (!Number.isInteger(dim) || dim < 2) throw new RangeError(`timestepEmbedding: dim must be an integer ≥ 2, got ${dim}`);
  if (t.rank !== 1) throw new RangeError(`timestepEmbedding: t must be rank 1 [n], got shape [${t.shape.join(', ')}]`);
  const half = Math.floor(dim / 2);
  // half = 1 would divide by zero in the frequency ladder; a single frequency of 1 is the natural limit.
  const step = half > 1 ? Math.log(10000) / (half - 1) : 0;
  const freqs = new Float32Array(half);
  for (let k = 0; k < half; k++) freqs[k] = Math.exp(-k * step);
  return tf.tidy(() => {
    const args = tf.mul(tf.reshape(tf.cast(t, 'float32'), [-1, 1]), tf.tensor2d(freqs, [1, half]));
    const emb = tf.concat([tf.sin(args), tf.cos(args)], 1);
    return (dim % 2 === 1 ? tf.pad(emb, [[0, 0], [0, 1]]) : emb) as tf.Tensor2D;
  });
}

/** The time-embedding MLP `h` of the UNet and the MLP denoiser: sinusoid → `linear1` → SiLU → `linear2`. */
export class TimeEmbedding extends Module {
  /** Sinusoid → hidden. */
  readonly linear1: Linear;
  /** Hidden → hidden. */
  readonly linear2: Linear;

  /**
   * @param sinusoidDim - Size of the sinusoidal embedding.
   * @param embedDim - Output size.
   * @param rng - Initialisation generator (default: the shared one).
   */
  constructor(
    readonly sinusoidDim: number,
    readonly embedDim: number,
    rng?: Rng,
  ) {
    super();
    this.linear1 = this.registerModule('linear1', new Linear(sinusoidDim, embedDim, { rng }));
    this.linear2 = this.registerModule('linear2', new Linear(embedDim, embedDim, { rng }));
  }

  /** Model times `[n]` (0…1000 scale) → `[n, embedDim]`. */
  forward(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.linear2.forward(silu(this.linear1.forward(timestepEmbedding(t, this.sinusoidDim)))));
  }
}
