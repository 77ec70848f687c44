import * as tf from '@tensorflow/tfjs';
import { groupNormOp } from '../../ops/activation-norm';
import { Module } from '../module';

/** Options of {@link GroupNorm}. */
export interface GroupNormOptions {
  /** Added to the variance (default 1e-5, as PyTorch and DDPM; some LDM configs use 1e-6). */
  eps?: number;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
}

/**
 * Group normalisation (Wu & He, 2018) over channels-last tensors `[n, ..., c]`: channels are split into `numGroups`
 * contiguous groups and each (sample, group) is normalised over its spatial positions and channels.
 */
export class GroupNorm extends Module {
  /** Scale `[numChannels]` (initialised to 1), or `null`. */
  readonly gamma: tf.Variable | null;
  /** Shift `[numChannels]` (initialised to 0), or `null`. */
  readonly beta: tf.Variable | null;
  /** Variance epsilon. */
  readonly eps: number;

  /**
   * @param numGroups number of groups; must divide `numChannels`.
   * @param numChannels channels (last axis).
   */
  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    options: GroupNormOptions = {},
  ) {
    super();
    if (numChannels % numGroups !== 0) {
      throw new Error(`GroupNorm: ${numChannels} channels cannot be split into ${numGroups} groups`);
    }
    this.eps = options.eps ?? 1e-5;
    const affine = options.affine ?? true;
    this.gamma = affine ? this.registerParameter('gamma', tf.ones([numChannels])) : null;
    this.beta = affine ? this.registerParameter('beta', tf.zeros([numChannels])) : null;
  }

  /** `x [n, ..., c] → same shape`. */
  forward(x: tf.Tensor): tf.Tensor {
    const c = x.shape[x.rank - 1];
    if (c !== this.numChannels) throw new Error(`GroupNorm: expected ${this.numChannels} channels, got ${c}`);
    return groupNormOp(x, this.numGroups, this.gamma, this.beta, this.eps);
  }
}
