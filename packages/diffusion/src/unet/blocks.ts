import * as tf from '@tensorflow/tfjs';
import { Conv2d, Dropout, GroupNorm, Linear, Module, Rng, silu } from '@diffpress/core';
import { ResBlockPlan } from './config';

/** Options shared by the blocks of one UNet. */
export interface BlockOptions {
  /** GroupNorm groups (reduced to the channel count where smaller). */
  groups: number;
  /** GroupNorm epsilon. */
  eps: number;
  /** Size of the time embedding the block receives. */
  timeEmbedDim: number;
  /** Dropout rate before the second conv. */
  dropout: number;
  /** Apply the time embedding as GroupNorm scale and shift (LDM `use_scale_shift_norm`). */
  scaleShiftNorm: boolean;
  /** Initialisation generator (default: the shared one). */
  rng?: Rng;
}

/**
 * Groups actually used for `channels`: the largest divisor of `channels` that is at most `groups` (DDPM/LDM configs
 * assume 32 groups, small nets have fewer channels).
 */
export function normGroups(channels: number, groups: number): number {
  let g = Math.min(groups, channels);
  while (channels % g !== 0) g--;
  return g;
}

/** GroupNorm with {@link normGroups} groups. */
export function groupNorm(channels: number, groups: number, eps: number): GroupNorm {
  return new GroupNorm(normGroups(channels, groups), channels, { eps });
}

/**
 * DDPM/LDM residual block: `h = conv1(SiLU(norm1(x)))`; `h += emb(SiLU(temb))` (or scale-shift of norm2);
 * `h = conv2(dropout(SiLU(norm2(h))))`; output `shortcut(x) + h`, where `shortcut` is a 1×1 conv when channels
 * change (decoder blocks, whose input is `concat(h, skip)`, always have one) and the identity otherwise.
 * Children: `norm1`, `conv1`, `emb`, `norm2`, `dropout`, `conv2`, and `shortcut` when present.
 * With `resample`, both paths are up-/down-sampled after `norm1` (LDM `resblock_updown`).
 */
export class ResBlock extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  /** Pre-norm of the input. */
  readonly norm1: GroupNorm;
  /** First 3×3 conv. */
  readonly conv1: Conv2d;
  /** Projection of the time embedding (the temporal feature `g_i` of TFMQ-DM, after SiLU). */
  readonly emb: Linear;
  /** Norm before the second conv. */
  readonly norm2: GroupNorm;
  /** Dropout before the second conv. */
  readonly dropout: Dropout;
  /** Second 3×3 conv. */
  readonly conv2: Conv2d;
  /** 1×1 conv on the input when channels change, else `null`. */
  readonly shortcut: Conv2d | null;
  /** Decoder blocks: channels of the deep half of the concatenated input (split shortcut quantization uses it). */
  readonly concatSplit?: number;
  /** Block resampling, if any. */
  readonly resample?: 'up' | 'down';
  /** Whether the time feature scales and shifts the normalised features (`norm2(h)·(1 + s) + b`) instead of being added before `norm2`. */
  readonly scaleShift: boolean;

  /**
   * @param plan - Channels, name and resampling of the block (see `planUNet`).
   * @param options - Norm, embedding and dropout settings.
   */
  constructor(
    readonly plan: ResBlockPlan,
    options: BlockOptions,
  ) {
    super();
    const { inChannels: cin, outChannels: cout } = plan;
    const rng = options.rng;
    this.concatSplit = plan.concatSplit;
    this.resample = plan.resample;
    this.scaleShift = options.scaleShiftNorm;
    this.norm1 = this.registerModule('norm1', groupNorm(cin, options.groups, options.eps));
    this.conv1 = this.registerModule('conv1', new Conv2d(cin, cout, 3, { rng }));
    this.emb = this.registerModule('emb', new Linear(options.timeEmbedDim, options.scaleShiftNorm ? 2 * cout : cout, { rng }));
    this.norm2 = this.registerModule('norm2', groupNorm(cout, options.groups, options.eps));
    this.dropout = this.registerModule('dropout', new Dropout(options.dropout, { rng: rng?.fork(`${plan.name}.dropout`) }));
    this.conv2 = this.registerModule('conv2', new Conv2d(cout, cout, 3, { rng }));
    this.shortcut = cin !== cout ? this.registerModule('shortcut', new Conv2d(cin, cout, 1, { rng })) : null;
  }

  /**
   * The block's temporal feature `emb(SiLU(temb))`: `[n, C]` (or `[n, 2C]` with scale-shift). It depends on t only,
   * which is why TFMQ-DM calibrates it separately.
   */
  timeFeature(temb: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.emb.forward(silu(temb)));
  }

  /** `x [n, h, w, Cin]`, `temb [n, E]` → `[n, h', w', Cout]`. */
  forward(x: tf.Tensor, temb: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.forwardWithFeature(x, this.timeFeature(temb)));
  }

  /** The block with a precomputed temporal feature (see {@link ResBlock.timeFeature}). */
  forwardWithFeature(x: tf.Tensor, feature: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = silu(this.norm1.forward(x));
      let skip = x;
      if (this.resample) {
        h = resample2x(h, this.resample);
        skip = resample2x(x, this.resample);
      }
      h = this.conv1.forward(h);
      const c = this.plan.outChannels;
      const f = tf.reshape(feature, [feature.shape[0], 1, 1, feature.shape[1] as number]);
      if (this.scaleShift) {
        const [scale, shift] = tf.split(f, [c, c], 3);
        h = tf.add(tf.mul(this.norm2.forward(h), tf.add(scale, 1)), shift);
      } else {
        h = this.norm2.forward(tf.add(h, f));
      }
      h = this.conv2.forward(this.dropout.forward(silu(h)));
      return tf.add(this.shortcut ? this.shortcut.forward(skip) : skip, h);
    });
  }
}

function resample2x(x: tf.Tensor, mode: 'up' | 'down'): tf.Tensor {
  const [, h, w] = x.shape as number[];
  return mode === 'up' ? tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [2 * h, 2 * w]) : tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid');
}
