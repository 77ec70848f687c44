import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../random/seeded';
import { uniformFanIn } from '../init';
import { Module } from '../module';

/** Options of {@link Conv2d}. */
export interface Conv2dOptions {
  /** Stride, one number or `[height, width]` (default 1). */
  stride?: number | [number, number];
  /**
   * `'same'` (default; for stride 2 on even sizes this pads bottom/right only, as DDPM's down-sampler does),
   * `'valid'`, or a symmetric number of zero rows/columns.
   */
  padding?: 'same' | 'valid' | number;
  /** Dilation (default 1; gradients need 1). */
  dilation?: number | [number, number];
  /** Learn a bias (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default: the shared one, see `manualSeed`). */
  rng?: Rng;
}

/**
 * 2-D convolution on NHWC tensors. `weight` has the tfjs layout `[kh, kw, in, out]` (output channels on the last
 * axis, unlike PyTorch's `[out, in, kh, kw]`); `bias` is `[out]`.
 */
export class Conv2d extends Module {
  /** Kernel `[kh, kw, inChannels, outChannels]`. */
  readonly weight: tf.Variable;
  /** Bias `[outChannels]`, or `null`. */
  readonly bias: tf.Variable | null;
  /** Kernel height and width. */
  readonly kernelSize: [number, number];
  /** Stride `[height, width]`. */
  readonly stride: [number, number];
  /** Padding mode or amount. */
  readonly padding: 'same' | 'valid' | number;
  /** Dilation `[height, width]`. */
  readonly dilation: [number, number];

  /**
   * @param inChannels input channels.
   * @param outChannels output channels.
   * @param kernelSize kernel size, one number or `[height, width]`.
   */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | [number, number],
    options: Conv2dOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    this.dilation = pair(options.dilation ?? 1);
    this.padding = options.padding ?? 'same';
    const [kh, kw] = this.kernelSize;
    const fanIn = inChannels * kh * kw;
    this.weight = this.registerParameter('weight', uniformFanIn([kh, kw, inChannels, outChannels], fanIn, options.rng));
    this.bias = options.bias === false ? null : this.registerParameter('bias', uniformFanIn([outChannels], fanIn, options.rng));
  }

  /** `x [n, h, w, in] → [n, h', w', out]`. */
  forward(x: tf.Tensor): tf.Tensor {
    return this.forwardWith(x, this.weight);
  }

  /**
   * The convolution with a substitute kernel of the weight's shape (and this layer's bias, stride, padding and
   * dilation): how quantizers and binarizers run the layer with a transformed copy of `weight` without replacing it.
   */
  forwardWith(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
    if (!tf.util.arraysEqual(kernel.shape, this.weight.shape)) {
      throw new Error(`Conv2d.forwardWith: kernel shape [${kernel.shape.join(', ')}] differs from the weight's [${this.weight.shape.join(', ')}]`);
    }
    return tf.fused.conv2d({
      x: x as tf.Tensor4D,
      filter: kernel as tf.Tensor4D,
      bias: this.bias ?? undefined,
      strides: this.stride,
      pad: this.padding,
      dilations: this.dilation,
    });
  }
}

/** `n` or `[a, b]` as a pair. */
export function pair(n: number | [number, number]): [number, number] {
  return typeof n === 'number' ? [n, n] : n;
}
