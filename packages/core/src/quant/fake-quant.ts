import * as tf from '@tensorflow/tfjs';
import { clampSTE, roundSTE } from '../ops/ste';

/**
 * Grid of a uniform quantizer (ptq spec §1):
 * - `asymmetric`: integers `0 … 2^b − 1` with a zero point z (weights and general activations);
 * - `symmetric`: `−2^(b−1) … 2^(b−1) − 1`, z = 0;
 * - `unsigned`: `0 … 2^b − 1`, z = 0 (softmax outputs, which are never negative).
 */
export type QuantMode = 'asymmetric' | 'symmetric' | 'unsigned';

/** Integer range `[lo, hi]` of a quantizer grid. */
export interface QuantLevels {
  /** Smallest integer level. */
  lo: number;
  /** Largest integer level. */
  hi: number;
}

/**
 * The integer levels of a `bits`-bit grid in `mode`.
 *
 * @example
 * ```ts
 * quantLevels(4, 'asymmetric'); // { lo: 0, hi: 15 }
 * quantLevels(4, 'symmetric');  // { lo: -8, hi: 7 }
 * ```
 */
export function quantLevels(bits: number, mode: QuantMode): QuantLevels {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) throw new RangeError(`quantizer bits must be an integer in 1…16, got ${bits}`);
  if (mode === 'symmetric') return { lo: -(2 ** (bits - 1)), hi: 2 ** (bits - 1) - 1 };
  return { lo: 0, hi: 2 ** bits - 1 };
}

/**
 * Uniform affine fake quantization `x̂ = (clamp(round(x/Δ) + z, lo, hi) − z)·Δ`, with the gradients of the ptq spec:
 * straight-through for `round` (identity), zero outside `[lo, hi]` for `clamp`, and the exact derivative through
 * the divisions by and the product with Δ — so a trainable Δ receives the LSQ step-size gradient
 * (`q − z − x/Δ` inside the range, `lo − z` or `hi − z` outside).
 *
 * `delta` and `zero` broadcast against `x`: a scalar or `[1]` per tensor, `[C]` per channel of the last axis
 * (tfjs kernels `[kh, kw, in, out]` and linear weights `[in, out]` keep output channels there).
 *
 * @example
 * ```ts
 * fakeQuantize(tf.tensor([0.26, -1, 9]), tf.scalar(0.5), tf.scalar(2), { lo: 0, hi: 15 }); // [0.5, -1, 6.5]
 * ```
 */
export function fakeQuantize(x: tf.Tensor, delta: tf.Tensor, zero: tf.Tensor, levels: QuantLevels): tf.Tensor {
  return tf.tidy(() => {
    const q = clampSTE(tf.add(roundSTE(tf.div(x, delta)), zero), levels.lo, levels.hi);
    return tf.mul(tf.sub(q, zero), delta);
  });
}
