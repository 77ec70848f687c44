import * as tf from '@tensorflow/tfjs';
import { AnyModule, Conv2d, LayerBits, Linear, WeightLayer, WeightLayerWrapper } from '@diffpress/core';
import { ActivationQuantizer } from '../quantizers/activation-quantizers';
import { MultiBasisWeightQuantizer, WeightQuantizer } from '../quantizers/weight-quantizers';
import { OutputScale, RPReLU } from './output-scales';

/** The parts of a {@link BinaryLayer}; each is optional (absent: that side stays real-valued). */
export interface BinaryLayerParts {
  /** Maps the latent FP weight to the weight used (binarizer or LSQ). */
  weight?: WeightQuantizer;
  /** Quantizes or binarizes the layer's input. */
  input?: ActivationQuantizer;
  /** Scales the product before the bias (XNOR-Net's K map, XNOR++'s Γ); needs a bare conv or linear layer. */
  scale?: OutputScale;
  /** A learnable activation after the bias (ReActNet's RPReLU). */
  post?: RPReLU;
}

/**
 * Builds the parts of a {@link BinaryLayer} for a layer: called once per layer, and again by
 * {@link BinaryLayer.copyModule} to give a copy fresh parts of the same kinds (their values are loaded afterwards).
 */
export type BinaryPartsFactory = (inner: WeightLayer & AnyModule) => BinaryLayerParts;

/** The wrapped layer's bias, or null; output-scaled layers need the bare conv/linear to reach it. */
export function biasOf(inner: WeightLayer & AnyModule): tf.Variable | null {
  if (inner instanceof Conv2d || inner instanceof Linear) return inner.bias;
  throw new Error(`a binary layer with an output scale wraps a Conv2d or Linear, not a ${inner.constructor.name} (apply it before methods that wrap layers)`);
}

/**
 * A conv or linear layer trained quantization-aware: `y = post(scale(x, inner(Q_a(x), Q_w(W)) − b) + b)`, where the
 * inner layer (core's `Conv2d`/`Linear` or another method's wrapper of one) keeps its latent FP weight `W` and bias
 * `b`. It stays a core `WeightLayer`, so a later method (a PTQ quantizer) can still transform the weight it feeds
 * in. While {@link binarized} is false the layer is the FP layer (BinaryDM's progressive initialisation turns
 * layers on group by group). Children: `inner`, and `weightQuant`, `inputQuant`, `scale`, `post` when given.
 *
 * @example
 * ```ts
 * const conv = unet.getModule('down.0.res.0.conv1') as Conv2d;
 * unet.replace('down.0.res.0.conv1', new BinaryLayer(conv, (l) => ({ weight: new SignWeightQuantizer(l.weight.shape[3], 'learned') })));
 * ```
 */
export class BinaryLayer extends WeightLayerWrapper {
  /** Weight quantizer, or null. */
  readonly weightQuant: WeightQuantizer | null;
  /** Input quantizer, or null. */
  readonly inputQuant: ActivationQuantizer | null;
  /** Output scale, or null. */
  readonly scale: OutputScale | null;
  /** Post-bias activation, or null. */
  readonly post: RPReLU | null;
  /** Whether the layer computes binarized (false: the FP layer). */
  binarized = true;

  /**
   * @param inner - The layer (kept, not copied).
   * @param factory - Builds the quantizers and output transforms for `inner`.
   */
  constructor(
    inner: WeightLayer & AnyModule,
    readonly factory: BinaryPartsFactory,
  ) {
    super(inner);
    const parts = factory(inner);
    this.weightQuant = parts.weight ? this.registerModule('weightQuant', parts.weight) : null;
    this.inputQuant = parts.input ? this.registerModule('inputQuant', parts.input) : null;
    this.scale = parts.scale ? (this.registerModule('scale', parts.scale as unknown as AnyModule), parts.scale) : null;
    this.post = parts.post ? this.registerModule('post', parts.post) : null;
    if (this.scale) biasOf(inner);
  }

  /** Bits per weight and per input activation as the layer computes now (32: real-valued). */
  get precision(): LayerBits {
    return { weightBits: this.weightQuant?.bits ?? 32, activationBits: this.inputQuant?.bits ?? 32 };
  }

  forwardWith(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
    if (!this.binarized) return this.inner.forwardWith(x, w);
    return tf.tidy(() => {
      const xq = this.inputQuant ? this.inputQuant.forward(x) : x;
      const wq = this.weightQuant ? this.weightQuant.forward(w) : w;
      let y = this.inner.forwardWith(xq, wq);
      if (this.scale) {
        const b = biasOf(this.inner);
        y = b ? tf.add(this.scale.forward(x, tf.sub(y, b)), b) : this.scale.forward(x, y);
      }
      return this.post ? this.post.forward(y) : y;
    });
  }

  /** The same layer kind around `inner`, with this layer's switches (values are loaded by the caller). */
  protected rewrap(inner: WeightLayer & AnyModule): BinaryLayer {
    const copy = new BinaryLayer(inner, this.factory);
    copy.binarized = this.binarized;
    if (this.weightQuant instanceof MultiBasisWeightQuantizer && copy.weightQuant instanceof MultiBasisWeightQuantizer) {
      copy.weightQuant.useSecondBasis = this.weightQuant.useSecondBasis;
    }
    return copy;
  }
}
