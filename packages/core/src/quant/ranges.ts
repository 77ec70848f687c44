import * as tf from '@tensorflow/tfjs';
import { QuantMode, fakeQuantize, quantLevels } from './fake-quant';

/** Step sizes and zero points of a quantizer, one entry per channel (or one for a per-tensor quantizer). */
export interface QuantParams {
  /** Step sizes Δ (> 0). */
  delta: Float32Array;
  /** Zero points z (integers; 0 for symmetric and unsigned grids). */
  zero: Float32Array;
}

/** Smallest step size: an all-zero tensor would otherwise divide by zero. */
export const MIN_DELTA = 1e-8;

/**
 * Min-max range init (ptq spec §1): asymmetric grids take `xmin = min(x.min, 0)`, `xmax = max(x.max, 0)`,
 * `Δ = (xmax − xmin)/(2^b − 1)`, `z = round(−xmin/Δ)`; symmetric ones `Δ = max(|x.min|, |x.max|)/(2^(b−1) − 1)`;
 * unsigned ones `Δ = max(x.max, 0)/(2^b − 1)`. Both ends are taken from the same widened range, unlike
 * Q-Diffusion's code, whose Δ uses the raw range and so clips all-positive tensors.
 *
 * @param xmin - Per-channel (or single) minima.
 * @param xmax - Per-channel maxima, same length.
 * @example
 * ```ts
 * minmaxParams([0.5], [2], 2, 'asymmetric'); // Δ = 2/3 (range widened to [0, 2]), z = 0
 * ```
 */
export function minmaxParams(xmin: ArrayLike<number>, xmax: ArrayLike<number>, bits: number, mode: QuantMode): QuantParams {
  if (xmin.length !== xmax.length) throw new Error(`minmaxParams: ${xmin.length} minima but ${xmax.length} maxima`);
  const { hi } = quantLevels(bits, mode);
  const delta = new Float32Array(xmin.length);
  const zero = new Float32Array(xmin.length);
  for (let c = 0; c < xmin.length; c++) {
    const lo = Math.min(xmin[c], 0);
    const up = Math.max(xmax[c], 0);
    if (mode === 'asymmetric') {
      delta[c] = Math.max((up - lo) / hi, MIN_DELTA);
      // + 0 turns the −0 of an all-positive range into 0.
      zero[c] = Math.round(-lo / delta[c]) + 0;
    } else if (mode === 'symmetric') {
      delta[c] = Math.max(Math.max(-lo, up) / hi, MIN_DELTA);
    } else {
      delta[c] = Math.max(up / hi, MIN_DELTA);
    }
  }
  return { delta, zero };
}

/** Per-channel minima and maxima of a tensor. */
export interface ChannelRange {
  /** Minima. */
  min: Float32Array;
  /** Maxima. */
  max: Float32Array;
}

/**
 * Minima and maxima of `x`, per channel of the last axis when `perChannel`, else over the whole tensor
 * (arrays of length 1).
 */
export function channelRange(x: tf.Tensor, perChannel: boolean): ChannelRange {
  const [mn, mx] = tf.tidy(() => {
    const flat = perChannel ? x.reshape([-1, x.shape[x.rank - 1]]) : x.reshape([-1, 1]);
    return [tf.min(flat, 0), tf.max(flat, 0)];
  });
  const out = { min: mn.dataSync() as Float32Array, max: mx.dataSync() as Float32Array };
  tf.dispose([mn, mx]);
  return out;
}

/** Options of {@link mseSearchParams}. */
export interface MseSearchOptions {
  /** Per channel of the last axis (weights) or per tensor (activations). */
  perChannel: boolean;
  /** Shrink candidates (default 80: factors 1, 0.99, …, 0.21). */
  candidates?: number;
  /** Exponent p of the score `mean |x − Q(x)|^p` (default 2.4, as Q-Diffusion/BRECQ). */
  p?: number;
  /**
   * Per-tensor search only: score on at most this many values, an evenly strided subset (default 2^20), which
   * keeps the 80 candidate passes cheap on large activation batches. The range itself is the full tensor's.
   */
  maxValues?: number;
}

/**
 * MSE range init (ptq spec §1): tries the shrunken ranges `[xmin·(1 − 0.01 i), xmax·(1 − 0.01 i)]`,
 * i = 0 … 79, each through {@link minmaxParams}, scores `mean |x − Q(x)|^2.4` and keeps the best — per channel for
 * weights. Ties keep the widest range.
 */
export function mseSearchParams(x: tf.Tensor, bits: number, mode: QuantMode, options: MseSearchOptions): QuantParams {
  const candidates = options.candidates ?? 80;
  const p = options.p ?? 2.4;
  const { perChannel } = options;
  const range = channelRange(x, perChannel);
  const levels = quantLevels(bits, mode);
  const data = tf.tidy(() => {
    if (perChannel) return x.reshape([-1, x.shape[x.rank - 1]]);
    const flat = x.reshape([-1, 1]);
    const cap = options.maxValues ?? 2 ** 20;
    if (flat.shape[0] <= cap) return flat;
    const stride = Math.ceil(flat.shape[0] / cap);
    return tf.stridedSlice(flat, [0, 0], [flat.shape[0], 1], [stride, 1]);
  });
  const channels = range.min.length;
  const best = { delta: new Float32Array(channels), zero: new Float32Array(channels), score: new Float64Array(channels).fill(Infinity) };
  try {
    for (let i = 0; i < candidates; i++) {
      const s = 1 - 0.01 * i;
      const cand = minmaxParams(range.min.map((v) => v * s), range.max.map((v) => v * s), bits, mode);
      const score = tf.tidy(() => {
        const q = fakeQuantize(data, tf.tensor1d(cand.delta), tf.tensor1d(cand.zero), levels);
        return tf.mean(tf.pow(tf.abs(tf.sub(data, q)), p), 0);
      });
      const values = score.dataSync();
      score.dispose();
      for (let c = 0; c < channels; c++) {
        if (values[c] < best.score[c]) {
          best.score[c] = values[c];
          best.delta[c] = cand.delta[c];
          best.zero[c] = cand.zero[c];
        }
      }
    }
  } finally {
    data.dispose();
  }
  return { delta: best.delta, zero: best.zero };
}

/** How a quantizer's range is initialised from calibration data (ptq spec §1). */
export type RangeInit = 'minmax' | 'mse' | 'ema';
