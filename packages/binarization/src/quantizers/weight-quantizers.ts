import * as tf from '@tensorflow/tfjs';
import { Module, signSTE } from '@diffpress/core';
import { InitFlag, channelMeanAbs, lsqWithInit } from './init-flag';

/**
 * A weight quantizer of a QAT layer: maps the latent FP weight (output channels on the last axis) to the weight the
 * layer computes with, differentiably (straight-through where it rounds). `bits` is what efficiency accounting
 * counts per weight.
 */
export abstract class WeightQuantizer extends Module {
  /** Bits per stored weight. */
  abstract readonly bits: number;

  /** The weight the layer computes with. */
  abstract override forward(w: tf.Tensor): tf.Tensor;
}

/**
 * How {@link SignWeightQuantizer} scales `sign(W)`:
 * - `channel-mean` — XNOR-Net: `α = mean|W|` per output channel, recomputed at every forward (the gradient also
 *   flows through α, as in XNOR-Net's derivation);
 * - `layer-mean` — DoReFa-Net's 1-bit weights: `sign(W)·E|W|` with one scale per layer, the gradient passed
 *   straight through to W (DoReFa's estimator, not the clipped identity);
 * - `learned` — BinaryDM's "vanilla" binarizer: a learnable α₁ per output channel, initialised to mean|W| at the
 *   layer's first binarized forward;
 * - `none` — `sign(W)` alone (XNOR++ puts its learned scale on the output instead).
 */
export type SignScale = 'channel-mean' | 'layer-mean' | 'learned' | 'none';

/** DoReFa's 1-bit weight: forward `sign(w)·mean|w|`, backward the identity. */
function doReFaSign(w: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor;
    return { value: tf.tidy(() => tf.mul(tf.sign(x), tf.mean(tf.abs(x)))), gradFunc: (dy: tf.Tensor) => dy };
  });
  return op(w);
}

/**
 * `Wb = α ⊙ sign(W)` (`sign(0) = 0`), with the clipped-identity straight-through estimator (gradient where
 * |W| ≤ 1) and the scale chosen by {@link SignScale}. Child parameter `alpha` (`[out]`) and buffer `initialized`
 * only with `learned`.
 */
export class SignWeightQuantizer extends WeightQuantizer {
  readonly bits = 1;
  /** The learnable α₁ (`learned` only). */
  readonly alpha: tf.Variable | null;
  private readonly init: InitFlag | null;

  /**
   * @param outChannels - Output channels of the layer (size of α).
   * @param scale - See {@link SignScale}.
   */
  constructor(
    outChannels: number,
    readonly scale: SignScale,
  ) {
    super();
    this.alpha = scale === 'learned' ? this.registerParameter('alpha', tf.ones([outChannels])) : null;
    this.init = scale === 'learned' ? new InitFlag(this.registerBuffer('initialized', tf.scalar(0))) : null;
  }

  forward(w: tf.Tensor): tf.Tensor {
    if (this.scale === 'layer-mean') return doReFaSign(w);
    if (this.alpha && this.init && !this.init.done) {
      const a = channelMeanAbs(w);
      this.alpha.assign(a);
      a.dispose();
      this.init.set();
    }
    return tf.tidy(() => {
      const s = signSTE(w);
      if (this.scale === 'none') return s;
      return tf.mul(s, this.alpha ?? channelMeanAbs(w));
    });
  }
}

/**
 * BinaryDM's learnable multi-basis binarizer (LMB; the ICLR version's evolvable-basis binarizer, EBB):
 * `Wb = α₁ ⊙ sign(W) + α₂ ⊙ sign(R)` with the residual `R = W − α₁ ⊙ sign(W)` (differentiable, so W and α₁ also
 * learn through the second basis). α₁ and α₂ are per output channel, initialised at the first forward to mean|W|
 * and mean|R| (R computed with the initial α₁), as the reference code does. With {@link useSecondBasis} false the
 * binarizer is `α₁ ⊙ sign(W)` (EBB removes the second basis half-way through training). Children: `alpha1`,
 * `alpha2`, buffer `initialized`.
 */
export class MultiBasisWeightQuantizer extends WeightQuantizer {
  /** First-basis scale α₁ (`[out]`). */
  readonly alpha1: tf.Variable;
  /** Second-basis scale α₂ (`[out]`). */
  readonly alpha2: tf.Variable;
  /** Whether the second basis is used (EBB sets it false for the second half of training). */
  useSecondBasis = true;
  private readonly init: InitFlag;

  /** @param outChannels - Output channels of the layer. */
  constructor(outChannels: number) {
    super();
    this.alpha1 = this.registerParameter('alpha1', tf.ones([outChannels]));
    this.alpha2 = this.registerParameter('alpha2', tf.ones([outChannels]));
    this.init = new InitFlag(this.registerBuffer('initialized', tf.scalar(0)));
  }

  /** Two stored bits per weight while both bases are used, one after the second is removed. */
  get bits(): number {
    return this.useSecondBasis ? 2 : 1;
  }

  forward(w: tf.Tensor): tf.Tensor {
    if (!this.init.done) {
      tf.tidy(() => {
        const a1 = channelMeanAbs(w);
        this.alpha1.assign(a1);
        this.alpha2.assign(channelMeanAbs(tf.sub(w, tf.mul(tf.sign(w), a1))));
      });
      this.init.set();
    }
    return tf.tidy(() => {
      const first = tf.mul(signSTE(w), this.alpha1);
      if (!this.useSecondBasis) return first;
      return tf.add(first, tf.mul(signSTE(tf.sub(w, first)), this.alpha2));
    });
  }
}

/**
 * LSQ weight quantization (Esser et al., ICLR 2020) at `bits` bits, signed symmetric, one learned step per layer
 * initialised once to `2·mean|W|/√Qp`: the multi-bit reference of the binarization tables. Children: `step`,
 * buffer `initialized`.
 */
export class LsqWeightQuantizer extends WeightQuantizer {
  /** The learned step size. */
  readonly step: tf.Variable;
  private readonly init: InitFlag;

  /** @param bits - Weight bits (2…8). */
  constructor(readonly bits: number) {
    super();
    if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new RangeError(`LSQ weight bits must be an integer in 2…8, got ${bits}`);
    this.step = this.registerParameter('step', tf.scalar(1));
    this.init = new InitFlag(this.registerBuffer('initialized', tf.scalar(0)));
  }

  forward(w: tf.Tensor): tf.Tensor {
    return lsqWithInit(w, this.step, this.init, this.bits);
  }
}
