import * as tf from '@tensorflow/tfjs';
import { AnyModule, ScaledDotProductAttention } from '@diffpress/core';
import { LsqActivationQuantizer } from '../quantizers/activation-quantizers';

/**
 * `softmax(Q(q)·Q(k)ᵀ/√d)` → `Q(P)·Q(v)`: core's attention product with LSQ quantizers on q, k, v and the softmax
 * probabilities, as BinaryDM quantizes attention at W1A8/W1A4 (its reference applies the same signed LSQ
 * quantizer to every operand, the probabilities included). Replaces a `ScaledDotProductAttention`; a copy for a
 * later method is built with {@link LsqAttention.copyModule}. While {@link quantized} is false it is the FP product.
 * Children: `queryQuant`, `keyQuant`, `valueQuant`, `probsQuant`.
 */
export class LsqAttention extends ScaledDotProductAttention {
  /** Quantizer of q. */
  readonly queryQuant: LsqActivationQuantizer;
  /** Quantizer of k. */
  readonly keyQuant: LsqActivationQuantizer;
  /** Quantizer of v. */
  readonly valueQuant: LsqActivationQuantizer;
  /** Quantizer of the softmax probabilities. */
  readonly probsQuant: LsqActivationQuantizer;
  /** Whether the operands are quantized (progressive initialisation turns attention on last). */
  quantized = true;

  /**
   * @param bits - Bits of every operand.
   * @param dynamic - Re-initialise the steps at every forward (see `LsqActivationQuantizer`).
   */
  constructor(
    readonly bits: number,
    readonly dynamic = false,
  ) {
    super();
    this.queryQuant = this.registerModule('queryQuant', new LsqActivationQuantizer(bits, dynamic));
    this.keyQuant = this.registerModule('keyQuant', new LsqActivationQuantizer(bits, dynamic));
    this.valueQuant = this.registerModule('valueQuant', new LsqActivationQuantizer(bits, dynamic));
    this.probsQuant = this.registerModule('probsQuant', new LsqActivationQuantizer(bits, dynamic));
  }

  override forward(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
    if (!this.quantized) return super.forward(q, k, v);
    return tf.tidy(() => {
      const d = q.shape[q.rank - 1];
      const scores = tf.mul(tf.matMul(this.queryQuant.forward(q), this.keyQuant.forward(k), false, true), 1 / Math.sqrt(d));
      return tf.matMul(this.probsQuant.forward(tf.softmax(scores, -1)), this.valueQuant.forward(v));
    });
  }

  /** A fresh instance of the same settings (values are loaded by the caller). */
  copyModule(): AnyModule {
    const copy = new LsqAttention(this.bits, this.dynamic);
    copy.quantized = this.quantized;
    return copy as unknown as AnyModule;
  }
}
