import { AnyModule, BitWidths, Conv2d, Linear, Rng, ScaledDotProductAttention, matchesAnyGlob } from '@diffpress/core';
import { ResBlock, UNet } from '@diffpress/diffusion';
import { QuantLayer, QuantLayerOptions, QuantScaledDotProductAttention, SplitQuantConv2d } from './layers';
import { UniformQuantizer } from './quantizer';
import { CalibratedSteps, StepAwareUNet } from './step-aware';

/** Layers left in floating point, by module-path glob. */
export interface KeepFpSets {
  /** Weights and input activations stay FP. */
  layers: string[];
  /** Only the input activations stay FP (weights are quantized). */
  activations: string[];
}

/** Names of the {@link KEEP_FP_PRESETS}. */
export type KeepFpPreset = 'none' | 'tfmq' | 'tfmq-reference';

/**
 * FP-layer presets (ptq spec §3.5, §4.4):
 * - `none`: everything quantized, as Q-Diffusion's reference code (stem, out conv and time MLP included);
 * - `tfmq`: TFMQ-DM's FP set — stem conv, out conv and the first time-MLP linear (weights and input), and the input
 *   activations of the second time-MLP linear and of the first residual block's first conv;
 * - `tfmq-reference`: `tfmq` plus the shortcut and down-sampling convs, which TFMQ-DM's code also leaves FP.
 */
export const KEEP_FP_PRESETS: Readonly<Record<KeepFpPreset, KeepFpSets>> = {
  none: { layers: [], activations: [] },
  tfmq: { layers: ['stem', 'out.conv', 'time.linear1'], activations: ['time.linear2', 'down.0.res.0.conv1'] },
  'tfmq-reference': { layers: ['stem', 'out.conv', 'time.linear1', '**.shortcut', '**.downsample.conv'], activations: ['time.linear2', 'down.0.res.0.conv1'] },
};

/** Where per-step (FSC) activation parameters are used (ptq spec §4.3). */
export type FscScope = 'temporal' | 'all';

/** Layers whose inputs depend on t only: the time MLP and every residual block's embedding projection (TFMQ's TIB). */
export const TEMPORAL_LAYERS: readonly string[] = ['time.linear1', 'time.linear2', '**.emb'];

/** Per-step activation parameters (TFMQ-DM FSC): for which sampler steps, and which quantizers get them. */
export interface PerStepSpec {
  /** The calibrated sampler steps. */
  steps: CalibratedSteps;
  /** Which activation quantizers are per step. */
  scope: FscScope;
}

/** What {@link quantizeUNet} builds. */
export interface QuantizeUNetSpec {
  /** Weight bits (2…8; 32 = FP weights). */
  weightBits: number;
  /** Activation bits (4…16; 32 = FP activations). */
  activationBits: number;
  /** Bits of the attention softmax output (unsigned grid). */
  softmaxBits: number;
  /** Split shortcut quantization of decoder residual blocks (Q-Diffusion). */
  split: boolean;
  /** Layers kept FP. */
  keepFp: KeepFpSets;
  /** Per-step activation parameters (TFMQ-DM FSC) for these sampler steps and this scope. */
  perStep?: PerStepSpec;
}

/** A quantized copy of a UNet and handles on its quantized parts. */
export interface QuantizedUNet {
  /** The network (a {@link StepAwareUNet} when per-step parameters are used). */
  unet: UNet;
  /** Quantized conv/linear wrappers by module path, in module order. */
  layers: Array<[string, QuantLayer | SplitQuantConv2d]>;
  /** Quantized attention products by the attention block's path (e.g. `mid.attn`). */
  attentions: Array<[string, QuantScaledDotProductAttention]>;
  /** Per-layer bit-widths for the efficiency accounting (attention products as `<block>.qk` / `<block>.av`). */
  bitWidths: BitWidths;
}

/** A copy of `parent` with its weights (a fresh network; the parent is not touched). */
function copyUNet(parent: UNet, spec: QuantizeUNetSpec): UNet {
  // A private generator for the throw-away initial weights, so that copying leaves the shared one untouched.
  const rng = new Rng(0, 'ptq-copy');
  const unet = spec.perStep ? new StepAwareUNet(parent.plan.config, spec.perStep.steps, { rng }) : new UNet(parent.plan.config, { rng });
  const own = unet.stateDict();
  const extra = [...parent.stateDict().keys()].filter((k) => !own.has(k));
  if (extra.length > 0) {
    unet.dispose();
    throw new Error(`quantization needs a plain UNet, but the model has ${extra.length} entries a UNet does not (e.g. '${extra[0]}'): was it already compressed by a method that replaces layers?`);
  }
  unet.loadStateDict(parent.stateDict(), { strict: true, source: 'the parent model' });
  unet.eval();
  return unet;
}

/**
 * A quantized copy of `parent` (ptq spec §1–§4): every conv and linear outside `keepFp.layers` wrapped in a
 * {@link QuantLayer} (decoder shortcuts in a {@link SplitQuantConv2d} with `split`), their inputs quantized unless
 * activations are off or kept FP, and the attention products quantized when activations are. Quantizer ranges are
 * unset (Δ = 1, z = 0): the calibration fills them. Building is cheap and deterministic, which is what `restore`
 * relies on.
 *
 * @throws Error when `parent` is not a plain UNet (e.g. already quantized).
 */
export function quantizeUNet(parent: UNet, spec: QuantizeUNetSpec): QuantizedUNet {
  const unet = copyUNet(parent, spec);
  const perStep = spec.perStep;
  const stepOptions = (path: string): QuantLayerOptions['activationSteps'] =>
    perStep && (perStep.scope === 'all' || matchesAnyGlob(path, TEMPORAL_LAYERS)) ? { steps: perStep.steps.modelTimes.length, stepState: (unet as StepAwareUNet).stepState } : undefined;
  const actsOn = spec.activationBits < 32;
  const layers: QuantizedUNet['layers'] = [];
  const attentions: QuantizedUNet['attentions'] = [];
  const bitWidths: BitWidths = {};
  const targets = unet.select('**', { exclude: spec.keepFp.layers, where: (m) => m instanceof Conv2d || m instanceof Linear });
  for (const [path, module] of targets) {
    const activationBits = actsOn && !matchesAnyGlob(path, spec.keepFp.activations) ? spec.activationBits : 32;
    const options: QuantLayerOptions = { weightBits: spec.weightBits, activationBits, activationSteps: stepOptions(path) };
    const owner = path.endsWith('.shortcut') ? unet.getModule(path.slice(0, -'.shortcut'.length)) : null;
    const split = spec.split && owner instanceof ResBlock && owner.concatSplit != null ? owner.concatSplit : null;
    const wrapper = split != null ? new SplitQuantConv2d(module as Conv2d, split, options) : new QuantLayer(module as Conv2d | Linear, options);
    unet.replace(path, wrapper as AnyModule);
    layers.push([path, wrapper]);
    if (spec.weightBits < 32 || activationBits < 32) bitWidths[path] = { weightBits: Math.min(32, spec.weightBits), activationBits };
  }
  if (actsOn) {
    for (const [path] of unet.select('**', { where: (m) => m instanceof ScaledDotProductAttention })) {
      const block = path.slice(0, path.lastIndexOf('.'));
      if (matchesAnyGlob(path, spec.keepFp.layers) || matchesAnyGlob(path, spec.keepFp.activations)) continue;
      const q = new QuantScaledDotProductAttention(spec.activationBits, spec.softmaxBits, perStep?.scope === 'all' ? stepOptions(path) : undefined);
      unet.replace(path, q as AnyModule);
      attentions.push([block, q]);
      bitWidths[`${block}.qk`] = { weightBits: spec.activationBits, activationBits: spec.activationBits };
      bitWidths[`${block}.av`] = { weightBits: spec.softmaxBits, activationBits: spec.activationBits };
    }
  }
  return { unet, layers, attentions, bitWidths };
}

/** Every activation quantizer of a quantized network (layer inputs and attention products). */
export function activationQuantizers(q: Pick<QuantizedUNet, 'layers' | 'attentions'>): UniformQuantizer[] {
  return [...q.layers.flatMap(([, l]) => l.inputQuantizers()), ...q.attentions.flatMap(([, a]) => a.quantizers())];
}

/** Which parts of a quantized network run quantized. */
export interface QuantState {
  /** Quantize weights. */
  weights: boolean;
  /** Quantize activations. */
  activations: boolean;
}

/**
 * Switches weight and activation quantization of the whole network (BRECQ's `set_quant_state`): the FP reference
 * passes of the reconstruction run the same modules with both off.
 */
export function setQuantState(q: Pick<QuantizedUNet, 'layers' | 'attentions'>, state: QuantState): void {
  for (const [, l] of q.layers) l.quantizeWeights = state.weights;
  for (const a of activationQuantizers(q)) a.enabled = state.activations;
}

/** Frees the FP weights the reconstruction kept aside (see `QuantizedLayer.releaseFpWeight`): call once calibrated. */
export function releaseFpWeights(q: Pick<QuantizedUNet, 'layers'>): void {
  for (const [, l] of q.layers) l.releaseFpWeight();
}
