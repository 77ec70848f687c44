import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../random/seeded';
import { Module } from '../module';
import { Conv2d } from './conv2d';

/** Options of {@link Upsample}. */
export interface UpsampleOptions {
  /** Follow the 2× nearest-neighbour upsampling with a 3×3 conv (default true, as DDPM). */
  withConv?: boolean;
  /** Generator for the conv's initial weights. */
  rng?: Rng;
}

/** 2× nearest-neighbour upsampling of NHWC maps, optionally followed by a 3×3 conv (child `conv`). */
export class Upsample extends Module {
  /** The 3×3 conv, or `null`. */
  readonly conv: Conv2d | null;

  /** @param channels channels in and out. */
  constructor(
    readonly channels: number,
    options: UpsampleOptions = {},
  ) {
    super();
    this.conv = options.withConv === false ? null : this.registerModule('conv', new Conv2d(channels, channels, 3, { rng: options.rng }));
  }

  /** `x [n, h, w, c] → [n, 2h, 2w, c]`. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [, h, w] = x.shape;
      const up = tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [2 * h, 2 * w]);
      return this.conv ? this.conv.forward(up) : up;
    });
  }
}

/** Options of {@link Downsample}. */
export interface DownsampleOptions {
  /** `'conv'` (default): 3×3 conv with stride 2; `'avgpool'`: 2×2 average pooling. */
  mode?: 'conv' | 'avgpool';
  /** Generator for the conv's initial weights. */
  rng?: Rng;
}

/**
 * 2× downsampling of NHWC maps: a stride-2 3×3 conv (child `conv`; 'same' padding pads bottom/right on even sizes,
 * exactly DDPM's `(0, 1, 0, 1)` pad) or 2×2 average pooling.
 */
export class Downsample extends Module {
  /** The strided conv, or `null` in avg-pool mode. */
  readonly conv: Conv2d | null;

  /** @param channels channels in and out. */
  constructor(
    readonly channels: number,
    options: DownsampleOptions = {},
  ) {
    super();
    const mode = options.mode ?? 'conv';
    this.conv = mode === 'conv' ? this.registerModule('conv', new Conv2d(channels, channels, 3, { stride: 2, rng: options.rng })) : null;
  }

  /** `x [n, h, w, c] → [n, ⌈h/2⌉, ⌈w/2⌉, c]` (conv) or `[n, ⌊h/2⌋, ⌊w/2⌋, c]` (avg-pool). */
  forward(x: tf.Tensor): tf.Tensor {
    return this.conv ? this.conv.forward(x) : tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid');
  }
}
