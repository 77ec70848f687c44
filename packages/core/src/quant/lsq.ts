import * as tf from '@tensorflow/tfjs';
import { clampSTE, gradScale, lsqGradScale, roundSTE } from '../ops/ste';
import { QuantLevels } from './fake-quant';

/**
 * LSQ's initial step size `s = 2·mean|x|/√Qp` (Esser et al., ICLR 2020), set once from the first batch (binarization
 * spec §1.5: BinaryDM's reference code re-initialises it every batch by mistake).
 *
 * @param qp - Largest positive level (7 for signed 4-bit, 127 for signed 8-bit).
 * @example
 * ```ts
 * lsqInitStep(tf.tensor([1, -3]), 7); // 2·2/√7 ≈ 1.512
 * ```
 */
export function lsqInitStep(x: tf.Tensor, qp: number): number {
  if (!(qp > 0)) throw new RangeError(`lsqInitStep: qp must be positive, got ${qp}`);
  const m = tf.tidy(() => tf.mean(tf.abs(x)));
  const meanAbs = m.dataSync()[0];
  m.dispose();
  return (2 * meanAbs) / Math.sqrt(qp);
}

/**
 * LSQ fake quantization `round(clamp(x/s, Qn, Qp))·s` (Esser et al., ICLR 2020) with a learned step size `s`. Clamping
 * before rounding is LSQ's order (the uniform affine {@link fakeQuantize} rounds first; the values agree, the
 * gradients differ within half a step of the ends). Gradients: `x` straight through inside `[Qn, Qp]` (ends
 * included), 0 outside; `s` gets `round(x/s) − x/s` inside and `Qn` or `Qp` outside, multiplied by the gradient
 * scale `g` (default LSQ's `1/√(numel·Qp)`, see {@link lsqGradScale}).
 *
 * @param step - Step size `s` (a scalar or anything broadcasting against `x`; usually a trainable variable).
 * @param levels - `{ lo: Qn, hi: Qp }`, e.g. `quantLevels(4, 'symmetric')`.
 * @example
 * ```ts
 * lsqQuantize(tf.tensor([0.3, -2, 5]), tf.scalar(0.5), quantLevels(4, 'symmetric')); // [0.5, -2, 3.5]
 * ```
 */
export function lsqQuantize(x: tf.Tensor, step: tf.Tensor, levels: QuantLevels, scale = lsqGradScale(x.size, levels.hi)): tf.Tensor {
  return tf.tidy(() => {
    const s = gradScale(step, scale);
    return tf.mul(roundSTE(clampSTE(tf.div(x, s), levels.lo, levels.hi)), s);
  });
}
