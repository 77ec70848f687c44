import * as tf from '@tensorflow/tfjs';
import { Conv2d, Linear, Module } from '@diffpress/core';
import { channelMeanAbs } from '../quantizers/init-flag';

/**
 * A real-valued scale a binary layer multiplies its output by (before the bias): the activation-dependent K map of
 * XNOR-Net, or XNOR++'s learned static scale. `forward(x, y)` gets the layer's real-valued input `x` and the binary
 * product `y` (without bias).
 */
export abstract class OutputScale extends Module<[tf.Tensor, tf.Tensor]> {
  /** Values stored besides the layer's weights (for the as-implemented accounting). */
  abstract readonly storedValues: number;

  /** `y` scaled. */
  abstract override forward(x: tf.Tensor, y: tf.Tensor): tf.Tensor;
}

/**
 * XNOR-Net's activation scale (Rastegari et al., ECCV 2016): `A = mean_c |x|` (one channel), `K = A ⊛ k` with `k`
 * a `kh × kw` box filter `1/(kh·kw)` at the conv's stride, padding and dilation, so each output position is scaled by
 * the mean magnitude of the input patch it saw. `learnable` makes `k` (and a bias, initialised to 0) trainable —
 * the "learnable k" baseline and BiDM's Kmap. On a linear layer `K = mean_c |x|` per token, without a filter.
 * Children (learnable conv only): `kernel` `[kh, kw, 1, 1]`, `bias` `[1]`.
 */
export class ActivationScaleMap extends OutputScale {
  /** The filter, when learnable. */
  readonly kernel: tf.Variable | null;
  /** The filter's bias, when learnable. */
  readonly kbias: tf.Variable | null;
  private readonly conv: Conv2d | null;

  /**
   * @param layer - The conv or linear layer whose output is scaled (its geometry is copied).
   * @param learnable - Train the filter (conv layers).
   */
  constructor(
    layer: Conv2d | Linear,
    readonly learnable: boolean,
  ) {
    super();
    this.conv = layer instanceof Conv2d ? layer : null;
    const box = this.conv ? 1 / (this.conv.kernelSize[0] * this.conv.kernelSize[1]) : 0;
    this.kernel = this.conv && learnable ? this.registerParameter('kernel', tf.fill([...this.conv.kernelSize, 1, 1], box)) : null;
    this.kbias = this.conv && learnable ? this.registerParameter('bias', tf.zeros([1])) : null;
  }

  get storedValues(): number {
    return this.kernel ? this.kernel.size + 1 : 0;
  }

  /** `K` for input `x`: `[n, h', w', 1]` (conv) or `[…, 1]` (linear). */
  scaleMap(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const a = tf.mean(tf.abs(x), -1, true);
      const c = this.conv;
      if (!c) return a;
      const [kh, kw] = c.kernelSize;
      const kernel = this.kernel ?? tf.fill([kh, kw, 1, 1], 1 / (kh * kw));
      return tf.fused.conv2d({ x: a as tf.Tensor4D, filter: kernel as tf.Tensor4D, bias: this.kbias ?? undefined, strides: c.stride, pad: c.padding, dilations: c.dilation });
    });
  }

  forward(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(y, this.scaleMap(x)));
  }
}

/**
 * XNOR++'s learned static scale (Bulat & Tzimiropoulos, BMVC 2019): `Γ = α ⊗ β ⊗ γ`, α per output channel, β per
 * output row and γ per output column, all learned by backpropagation and independent of the input; on a linear layer
 * α alone. α starts at mean|W| per output channel (so the first forward is XNOR-Net's without its K map), β and γ
 * at 1. Children: `alpha` `[out]`, and for convs `beta` `[h']`, `gamma` `[w']`.
 */
export class StaticScale extends OutputScale {
  /** Per-output-channel factor. */
  readonly alpha: tf.Variable;
  /** Per-row factor (convs). */
  readonly beta: tf.Variable | null;
  /** Per-column factor (convs). */
  readonly gamma: tf.Variable | null;

  /**
   * @param layer - The layer (its weight initialises α).
   * @param outputSize - `[h', w']` of a conv's output (omit for a linear layer).
   */
  constructor(layer: Conv2d | Linear, outputSize?: readonly [number, number]) {
    super();
    if (layer instanceof Conv2d && !outputSize) throw new Error('StaticScale: a conv layer needs its output size [h, w]');
    this.alpha = this.registerParameter('alpha', channelMeanAbs(layer.weight));
    const conv = layer instanceof Conv2d && outputSize;
    this.beta = conv ? this.registerParameter('beta', tf.ones([outputSize[0]])) : null;
    this.gamma = conv ? this.registerParameter('gamma', tf.ones([outputSize[1]])) : null;
  }

  get storedValues(): number {
    return this.alpha.size + (this.beta?.size ?? 0) + (this.gamma?.size ?? 0);
  }

  forward(_x: tf.Tensor, y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let g: tf.Tensor = this.alpha;
      if (this.beta && this.gamma) {
        const [h, w] = [this.beta.size, this.gamma.size];
        if (y.shape[1] !== h || y.shape[2] !== w) throw new Error(`StaticScale: built for ${h}×${w} outputs, got ${y.shape[1]}×${y.shape[2]}`);
        g = tf.mul(tf.mul(this.beta.reshape([h, 1, 1]), this.gamma.reshape([1, w, 1])), this.alpha);
      }
      return tf.mul(y, g);
    });
  }
}

/**
 * ReActNet's RPReLU (Liu et al., ECCV 2020) on a binary layer's output, per output channel:
 * `f(y) = PReLU_β(y − γ) + ζ` with learnable shifts γ, ζ (initialised to 0) and slope β. ReActNet initialises β to
 * 0.25 because RPReLU is its block's only nonlinearity; a UNet keeps its SiLU before every conv, so here β starts at
 * 1 and RPReLU starts as the identity (the FP model's function at the start of QAT). Children: `shiftIn`, `slope`,
 * `shiftOut` (`[out]`).
 */
export class RPReLU extends Module {
  /** γ. */
  readonly shiftIn: tf.Variable;
  /** β. */
  readonly slope: tf.Variable;
  /** ζ. */
  readonly shiftOut: tf.Variable;

  /** @param channels - Output channels of the layer. */
  constructor(readonly channels: number) {
    super();
    this.shiftIn = this.registerParameter('shiftIn', tf.zeros([channels]));
    this.slope = this.registerParameter('slope', tf.ones([channels]));
    this.shiftOut = this.registerParameter('shiftOut', tf.zeros([channels]));
  }

  /** Values stored besides the layer's weights. */
  get storedValues(): number {
    return 3 * this.channels;
  }

  forward(y: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const u = tf.sub(y, this.shiftIn);
      // PReLU(u) = max(u, 0) − β·max(−u, 0), written with relu so that every path has a gradient.
      return tf.add(tf.sub(tf.relu(u), tf.mul(this.slope, tf.relu(tf.neg(u)))), this.shiftOut);
    });
  }
}
