import * as tf from '@tensorflow/tfjs';
import { AnyModule, Module, QuantizerSteps, UniformQuantizer, WeightLayer } from '@diffpress/core';
import { AdaRound } from './adaround';

/** Per-layer quantization settings of {@link QuantLayer} and {@link SplitQuantConv2d}. */
export interface QuantLayerOptions {
  /** Weight bits (32: keep FP). */
  weightBits: number;
  /** Input-activation bits (32: no activation quantizer). */
  activationBits: number;
  /** Per-step activation parameters (TFMQ-DM FSC) for these sampler steps, if any. */
  activationSteps?: QuantizerSteps;
}

function outChannels(layer: WeightLayer): number {
  return layer.weight.shape[layer.weight.rank - 1];
}

/**
 * The FP weight of a layer whose own weight variable holds quantized values (after AdaRound, or loaded from a
 * cache): FP reference passes of the reconstruction still need it.
 */
class FpWeightStash {
  private kept: tf.Tensor | null = null;

  constructor(private readonly weight: tf.Variable) {}

  /** Writes `values` into the weight, keeping the FP values aside first (once). */
  replace(values: tf.Tensor): void {
    this.kept ??= tf.keep(this.weight.clone());
    this.weight.assign(values);
  }

  /** The FP weight (the variable itself when nothing was replaced or after `release`). */
  fp(): tf.Tensor {
    return this.kept ?? this.weight;
  }

  /** Frees the kept FP values. */
  release(): void {
    this.kept?.dispose();
    this.kept = null;
  }
}

/** A weight quantizer (per output channel, asymmetric) for `layer`, or null at 32 bits. */
function weightQuantizer(layer: WeightLayer, bits: number): UniformQuantizer | null {
  return bits < 32 ? new UniformQuantizer({ bits, mode: 'asymmetric', channels: outChannels(layer) }) : null;
}

/** A per-tensor input quantizer, or null at 32 bits. */
function inputQuantizer(options: QuantLayerOptions): UniformQuantizer | null {
  return options.activationBits < 32 ? new UniformQuantizer({ bits: options.activationBits, mode: 'asymmetric', perStep: options.activationSteps }) : null;
}

/**
 * Common part of the quantized wrappers: a weight quantizer or AdaRound (during reconstruction), a switch for the
 * weight path, and access to every quantizer for the calibration code.
 */
export interface QuantizedLayer {
  /**
   * The wrapped FP layer — a conv or linear, or another method's wrapper of one that exposes its weight (see core's
   * `WeightLayer`). Its weight is quantized on the fly; after AdaRound it holds the hard-rounded values.
   */
  readonly layer: WeightLayer;
  /** Whether weights are quantized in `forward` (false: the FP weight, for FP reference passes). */
  quantizeWeights: boolean;
  /** Weight quantizers (one, or one per input half for a split shortcut). */
  weightQuantizers(): UniformQuantizer[];
  /** Input-activation quantizers. */
  inputQuantizers(): UniformQuantizer[];
  /** Starts AdaRound on every weight quantizer (their Δ, z must be initialised); returns the rounding objects. */
  beginAdaRound(): AdaRound[];
  /**
   * Writes the hard-rounded weights into the layer and drops the AdaRound objects. The FP weight is kept aside, so
   * that FP reference passes (quantization switched off) still see it, until {@link QuantizedLayer.releaseFpWeight}.
   */
  endAdaRound(): void;
  /** Frees the FP weight kept by `endAdaRound`; afterwards the layer holds only its on-grid weights. */
  releaseFpWeight(): void;
  /** Sets already-quantized weights (from a cache), keeping the FP weight aside as `endAdaRound` does. */
  adoptQuantizedWeight(weight: tf.Tensor): void;
}

/**
 * A conv or linear layer with quantized weights (per output channel, tfjs's last kernel axis) and a quantized input
 * (per tensor), the basic unit of Q-Diffusion and TFMQ-DM. The layer may be another method's wrapper of a conv or
 * linear (core's `WeightLayer`): the quantizers then act on the inner weight and on the wrapper's input, and the
 * wrapper's own change applies on top (`wrapper.forwardWith(Q(x), Q(W))`). Children: `layer` (the FP layer),
 * `weightQuant`, `inputQuant` (each present only below 32 bits).
 */
export class QuantLayer extends Module implements QuantizedLayer {
  /** The wrapped layer. */
  readonly layer: WeightLayer;
  /** Weight quantizer, or null (FP weights). */
  readonly weightQuant: UniformQuantizer | null;
  /** Input quantizer, or null (FP input). */
  readonly inputQuant: UniformQuantizer | null;
  /** See {@link QuantizedLayer.quantizeWeights}. */
  quantizeWeights = true;
  private adaround: AdaRound | null = null;
  private readonly stash: FpWeightStash;

  /**
   * @param layer - The layer to wrap (kept, not copied).
   * @param options - Bits of weights and input.
   */
  constructor(layer: WeightLayer & AnyModule, options: QuantLayerOptions) {
    super();
    this.layer = this.registerModule('layer', layer);
    this.stash = new FpWeightStash(layer.weight);
    const wq = weightQuantizer(layer, options.weightBits);
    this.weightQuant = wq ? this.registerModule('weightQuant', wq) : null;
    const iq = inputQuantizer(options);
    this.inputQuant = iq ? this.registerModule('inputQuant', iq) : null;
  }

  /** See {@link QuantizedLayer.weightQuantizers}. */
  weightQuantizers(): UniformQuantizer[] {
    return this.weightQuant ? [this.weightQuant] : [];
  }

  /** See {@link QuantizedLayer.inputQuantizers}. */
  inputQuantizers(): UniformQuantizer[] {
    return this.inputQuant ? [this.inputQuant] : [];
  }

  /** See {@link QuantizedLayer.beginAdaRound}. */
  beginAdaRound(): AdaRound[] {
    if (!this.weightQuant) return [];
    this.adaround?.dispose();
    this.adaround = new AdaRound(this.layer.weight, this.weightQuant);
    return [this.adaround];
  }

  /** See {@link QuantizedLayer.endAdaRound}. */
  endAdaRound(): void {
    if (!this.adaround) return;
    const hard = this.adaround.hardWeight();
    this.stash.replace(hard);
    hard.dispose();
    this.adaround.dispose();
    this.adaround = null;
  }

  /** See {@link QuantizedLayer.releaseFpWeight}. */
  releaseFpWeight(): void {
    this.stash.release();
  }

  /** See {@link QuantizedLayer.adoptQuantizedWeight}. */
  adoptQuantizedWeight(weight: tf.Tensor): void {
    this.stash.replace(weight);
  }

  /** The weight as used in `forward`. */
  effectiveWeight(): tf.Tensor {
    if (!this.quantizeWeights || !this.weightQuant || !this.weightQuant.enabled) return this.stash.fp();
    return this.adaround ? this.adaround.forward() : this.weightQuant.forward(this.layer.weight);
  }

  /** `layer(Q_a(x))` with the weight `Q_w(W)`. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const input = this.inputQuant ? this.inputQuant.forward(x) : x;
      return this.layer.forwardWith(input, this.effectiveWeight());
    });
  }
}

/**
 * Q-Diffusion's split shortcut quantization (ptq spec §3.3): the 1×1 shortcut conv of a decoder residual block sees
 * `concat(h_deep, h_skip)`, two inputs with very different ranges. Each half gets its own input quantizer and its own
 * weight quantizer over its input-channel half of the kernel (tfjs kernel axis 2), so the layer computes
 * `Q(X1)·Q(W1) + Q(X2)·Q(W2)` — evaluated as one conv over the concatenated quantized halves, which is the same sum.
 * Children: `layer`, `weightQuant1`, `weightQuant2`, `inputQuant1`, `inputQuant2`.
 */
export class SplitQuantConv2d extends Module implements QuantizedLayer {
  /** The wrapped conv (or a wrapper of one: a `WeightLayer` with a `[kh, kw, in, out]` kernel). */
  readonly layer: WeightLayer;
  /** Quantizer of the kernel rows of the first (deep) input half. */
  readonly weightQuant1: UniformQuantizer | null;
  /** Quantizer of the kernel rows of the second (skip) half. */
  readonly weightQuant2: UniformQuantizer | null;
  /** Input quantizer of the first half. */
  readonly inputQuant1: UniformQuantizer | null;
  /** Input quantizer of the second half. */
  readonly inputQuant2: UniformQuantizer | null;
  /** See {@link QuantizedLayer.quantizeWeights}. */
  quantizeWeights = true;
  private adaround: [AdaRound, AdaRound] | null = null;
  private readonly stash: FpWeightStash;

  /**
   * @param layer - The shortcut conv.
   * @param split - Input channels of the first half (the block's `concatSplit`).
   * @param options - Bits of weights and inputs.
   */
  constructor(
    layer: WeightLayer & AnyModule,
    readonly split: number,
    options: QuantLayerOptions,
  ) {
    super();
    if (layer.weight.rank !== 4) throw new Error(`SplitQuantConv2d: the layer needs a conv kernel [kh, kw, in, out], got a weight of rank ${layer.weight.rank}`);
    const inChannels = layer.weight.shape[2] as number;
    if (!(split > 0 && split < inChannels)) throw new Error(`SplitQuantConv2d: split ${split} must be inside 1…${inChannels - 1}`);
    this.layer = this.registerModule('layer', layer);
    this.stash = new FpWeightStash(layer.weight);
    const w1 = weightQuantizer(layer, options.weightBits);
    const w2 = weightQuantizer(layer, options.weightBits);
    this.weightQuant1 = w1 ? this.registerModule('weightQuant1', w1) : null;
    this.weightQuant2 = w2 ? this.registerModule('weightQuant2', w2) : null;
    const i1 = inputQuantizer(options);
    const i2 = inputQuantizer(options);
    this.inputQuant1 = i1 ? this.registerModule('inputQuant1', i1) : null;
    this.inputQuant2 = i2 ? this.registerModule('inputQuant2', i2) : null;
  }

  /** Input channels of the conv (kernel axis 2). */
  get inChannels(): number {
    return this.layer.weight.shape[2] as number;
  }

  /** The two kernel halves `[kh, kw, split, out]`, `[kh, kw, in − split, out]` (new tensors). */
  weightHalves(): [tf.Tensor, tf.Tensor] {
    const parts = tf.split(this.layer.weight, [this.split, this.inChannels - this.split], 2);
    return [parts[0], parts[1]];
  }

  /** See {@link QuantizedLayer.weightQuantizers}. */
  weightQuantizers(): UniformQuantizer[] {
    return [this.weightQuant1, this.weightQuant2].filter((q): q is UniformQuantizer => q != null);
  }

  /** See {@link QuantizedLayer.inputQuantizers}. */
  inputQuantizers(): UniformQuantizer[] {
    return [this.inputQuant1, this.inputQuant2].filter((q): q is UniformQuantizer => q != null);
  }

  /** See {@link QuantizedLayer.beginAdaRound}. */
  beginAdaRound(): AdaRound[] {
    if (!this.weightQuant1 || !this.weightQuant2) return [];
    this.dropAdaRound();
    const [w1, w2] = this.weightHalves();
    this.adaround = [new AdaRound(w1, this.weightQuant1), new AdaRound(w2, this.weightQuant2)];
    tf.dispose([w1, w2]);
    return [...this.adaround];
  }

  /** See {@link QuantizedLayer.endAdaRound}. */
  endAdaRound(): void {
    if (!this.adaround) return;
    const [a1, a2] = this.adaround;
    const hard = tf.tidy(() => tf.concat([a1.hardWeight(), a2.hardWeight()], 2));
    this.stash.replace(hard);
    hard.dispose();
    this.dropAdaRound();
  }

  /** See {@link QuantizedLayer.releaseFpWeight}. */
  releaseFpWeight(): void {
    this.stash.release();
  }

  /** See {@link QuantizedLayer.adoptQuantizedWeight}. */
  adoptQuantizedWeight(weight: tf.Tensor): void {
    this.stash.replace(weight);
  }

  private dropAdaRound(): void {
    this.adaround?.forEach((a) => a.dispose());
    this.adaround = null;
  }

  /** The kernel as used in `forward`: the two quantized halves, concatenated. */
  effectiveWeight(): tf.Tensor {
    if (!this.quantizeWeights || !this.weightQuant1 || !this.weightQuant2 || !this.weightQuant1.enabled) return this.stash.fp();
    return tf.tidy(() => {
      if (this.adaround) return tf.concat([this.adaround[0].forward(), this.adaround[1].forward()], 2);
      const [w1, w2] = this.weightHalves();
      return tf.concat([(this.weightQuant1 as UniformQuantizer).forward(w1), (this.weightQuant2 as UniformQuantizer).forward(w2)], 2);
    });
  }

  /** `Q(X1)·Q(W1) + Q(X2)·Q(W2) + b`. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let input = x;
      if (this.inputQuant1 && this.inputQuant2) {
        const [x1, x2] = tf.split(x, [this.split, this.inChannels - this.split], 3);
        input = tf.concat([this.inputQuant1.forward(x1), this.inputQuant2.forward(x2)], 3);
      }
      return this.layer.forwardWith(input, this.effectiveWeight());
    });
  }
}

/**
 * Attention with quantized activation–activation products (ptq spec §3.4): q, k and v per tensor, the softmax
 * output on an unsigned grid (z = 0) with its own bit-width — or left FP at 32 bits (`softmaxBits: 32`, as Q-Diffusion's
 * code leaves it at 16 bits: no quantizer at all). Replaces core's `ScaledDotProductAttention`; children `queryQuant`,
 * `keyQuant`, `valueQuant` and, below 32 bits, `softmaxQuant`.
 */
export class QuantScaledDotProductAttention extends Module<[tf.Tensor, tf.Tensor, tf.Tensor]> {
  /** Quantizer of q. */
  readonly queryQuant: UniformQuantizer;
  /** Quantizer of k. */
  readonly keyQuant: UniformQuantizer;
  /** Quantizer of v. */
  readonly valueQuant: UniformQuantizer;
  /** Quantizer of the attention probabilities, or null when they stay FP (`softmaxBits` 32). */
  readonly softmaxQuant: UniformQuantizer | null;

  /**
   * @param bits - Bits of q, k, v.
   * @param softmaxBits - Bits of the softmax output (32: not quantized).
   * @param steps - Per-step parameters (FSC), if any.
   */
  constructor(bits: number, softmaxBits: number, steps?: QuantLayerOptions['activationSteps']) {
    super();
    this.queryQuant = this.registerModule('queryQuant', new UniformQuantizer({ bits, perStep: steps }));
    this.keyQuant = this.registerModule('keyQuant', new UniformQuantizer({ bits, perStep: steps }));
    this.valueQuant = this.registerModule('valueQuant', new UniformQuantizer({ bits, perStep: steps }));
    this.softmaxQuant = softmaxBits < 32 ? this.registerModule('softmaxQuant', new UniformQuantizer({ bits: softmaxBits, mode: 'unsigned', perStep: steps })) : null;
  }

  /** Every quantizer, for calibration (the softmax one only when the probabilities are quantized). */
  quantizers(): UniformQuantizer[] {
    return [this.queryQuant, this.keyQuant, this.valueQuant, ...(this.softmaxQuant ? [this.softmaxQuant] : [])];
  }

  /** `Q(softmax(Q(q)·Q(k)ᵀ/√d))·Q(v)` (the softmax output unquantized without its quantizer). */
  forward(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const d = q.shape[q.rank - 1];
      const scores = tf.mul(tf.matMul(this.queryQuant.forward(q), this.keyQuant.forward(k), false, true), 1 / Math.sqrt(d));
      const probs = tf.softmax(scores, -1);
      return tf.matMul(this.softmaxQuant ? this.softmaxQuant.forward(probs) : probs, this.valueQuant.forward(v));
    });
  }
}

/** Whether a module is one of the quantized weight-layer wrappers. */
export function isQuantizedLayer(m: unknown): m is QuantLayer | SplitQuantConv2d {
  return m instanceof QuantLayer || m instanceof SplitQuantConv2d;
}
