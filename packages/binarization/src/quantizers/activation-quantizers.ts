import * as tf from '@tensorflow/tfjs';
import { Module, approxSign, signSTE } from '@diffpress/core';
import { InitFlag, lsqWithInit } from './init-flag';

/** An input-activation quantizer of a QAT layer; `bits` is what efficiency accounting counts per activation. */
export abstract class ActivationQuantizer extends Module {
  /** Bits per activation. */
  abstract readonly bits: number;

  /** The quantized activation. */
  abstract override forward(x: tf.Tensor): tf.Tensor;
}

/**
 * LSQ activation quantization (Esser et al., ICLR 2020), signed symmetric at `bits` bits:
 * `round(clamp(x/s, Qn, Qp))·s` with the gradient scale `1/√(numel·Qp)`. The step is initialised once, from the
 * first batch, to `2·mean|x|/√Qp` (binarization spec §1.5). BinaryDM's reference code re-initialises it at every
 * forward, training and sampling alike (its "initialised" flag is never set); `dynamic: true` reproduces that.
 * Children: `step`, buffer `initialized`.
 */
export class LsqActivationQuantizer extends ActivationQuantizer {
  /** The learned step size `s`. */
  readonly step: tf.Variable;
  private readonly init: InitFlag;

  /**
   * @param bits - Activation bits (2…8).
   * @param dynamic - Re-initialise the step from every batch (the reference code's behaviour).
   */
  constructor(
    readonly bits: number,
    readonly dynamic = false,
  ) {
    super();
    if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new RangeError(`LSQ activation bits must be an integer in 2…8, got ${bits}`);
    this.step = this.registerParameter('step', tf.scalar(1));
    this.init = new InitFlag(this.registerBuffer('initialized', tf.scalar(0)));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return lsqWithInit(x, this.step, this.init, this.bits, this.dynamic);
  }
}

/** The backward pass of {@link SignActivation}: the clipped identity (XNOR-Net, DoReFa) or Bi-Real's ApproxSign. */
export type SignEstimator = 'clipped' | 'approx';

/** Options of {@link SignActivation}. */
export interface SignActivationOptions {
  /** Backward estimator (default `clipped`). */
  estimator?: SignEstimator;
  /**
   * Input channels of a learnable per-channel threshold `b`, forward `sign(x + b)` with `b` initialised to 0
   * (ReActNet's RSign; BiDM's activation binarizer). Omit for plain `sign(x)`.
   */
  thresholdChannels?: number;
}

/**
 * 1-bit activations `sign(x)` (or `sign(x + b)` with a learnable per-channel threshold), `sign(0) = 0`. Child
 * parameter `threshold` (`[C]`, last axis) when thresholded.
 */
export class SignActivation extends ActivationQuantizer {
  readonly bits = 1;
  /** Backward estimator. */
  readonly estimator: SignEstimator;
  /** The learnable threshold `b`, or null. */
  readonly threshold: tf.Variable | null;

  /** @param options - Estimator and threshold. */
  constructor(options: SignActivationOptions = {}) {
    super();
    this.estimator = options.estimator ?? 'clipped';
    this.threshold = options.thresholdChannels != null ? this.registerParameter('threshold', tf.zeros([options.thresholdChannels])) : null;
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const shifted = this.threshold ? tf.add(x, this.threshold) : x;
      return this.estimator === 'approx' ? approxSign(shifted) : signSTE(shifted);
    });
  }
}
