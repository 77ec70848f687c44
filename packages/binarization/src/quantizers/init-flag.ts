import * as tf from '@tensorflow/tfjs';
import { lsqInitStep, lsqQuantize, quantLevels } from '@diffpress/core';

/**
 * Whether a quantizer's data-dependent initialisation (α = mean|W| at the first binarized forward, LSQ's step from
 * the first batch) has run, kept as a 0/1 buffer so that it travels with the weights: a run resumed from a
 * checkpoint, or a model restored from the store, does not initialise a second time.
 */
export class InitFlag {
  private known = false;

  /** @param buffer - The module's registered scalar buffer (0: not yet, 1: done). */
  constructor(private readonly buffer: tf.Variable) {}

  /** Whether the initialisation has run (read from the buffer until it is first seen set). */
  get done(): boolean {
    if (!this.known) this.known = this.buffer.dataSync()[0] === 1;
    return this.known;
  }

  /** Records that the initialisation ran. */
  set(): void {
    this.buffer.assign(tf.scalar(1));
    this.known = true;
  }
}

/**
 * The mean of `|w|` over every axis but the last (tfjs kernels `[kh, kw, in, out]` and linear weights `[in, out]`
 * keep output channels last): XNOR-Net's and BinaryDM's per-output-channel scale, shape `[out]`.
 */
export function channelMeanAbs(w: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.abs(w), Array.from({ length: w.rank - 1 }, (_, i) => i)) as tf.Tensor1D);
}

/**
 * LSQ fake quantization of `x` (signed symmetric at `bits` bits) with a learned `step` that is set from `x` to
 * LSQ's `2·mean|x|/√Qp` before its first use, or before every use with `reinit` (BinaryDM's reference behaviour).
 */
export function lsqWithInit(x: tf.Tensor, step: tf.Variable, init: InitFlag, bits: number, reinit = false): tf.Tensor {
  const levels = quantLevels(bits, 'symmetric');
  if (reinit || !init.done) {
    step.assign(tf.scalar(lsqInitStep(x, levels.hi)));
    init.set();
  }
  return lsqQuantize(x, step, levels);
}
