import {
  AnyModule, BitWidths, QuantizerSteps, ScaledDotProductAttention, UniformQuantizer, WeightLayer, isWeightLayer, matchesAnyGlob,
} from '@diffpress/core';
import { ResBlock, UNet, copyUNet, unetLayerInventory } from '@diffpress/diffusion';
import { QuantLayer, QuantLayerOptions, QuantScaledDotProductAttention, SplitQuantConv2d } from './layers';

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
  steps: QuantizerSteps;
  /** Which activation quantizers are per step. */
  scope: FscScope;
}

/** What {@link quantizeUNet} builds. */
export interface QuantizeUNetSpec {
  /** Weight bits (2…8; 32 = FP weights). */
  weightBits: number;
  /** Activation bits (4…16; 32 = FP activations). */
  activationBits: number;
  /** Bits of the attention softmax output (unsigned grid; 32: not quantized). */
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
  /** The network (a plain UNet: per-step quantizers read each row's step from the call context). */
  unet: UNet;
  /** Quantized conv/linear wrappers by module path, in module order. */
  layers: Array<[string, QuantLayer | SplitQuantConv2d]>;
  /** Quantized attention products by the attention block's path (e.g. `mid.attn`). */
  attentions: Array<[string, QuantScaledDotProductAttention]>;
  /** Per-layer bit-widths for the efficiency accounting (attention products as `<block>.qk` / `<block>.av`). */
  bitWidths: BitWidths;
}

/**
 * A copy of `parent` with its weights (diffusion's `copyUNet`: the parent is not touched), and the paths of the
 * architecture's own conv and linear layers (from its inventory: the copy may hold earlier methods' wrappers there).
 */
function copyWithLayerPaths(parent: UNet): { unet: UNet; layerPaths: Set<string> } {
  const layerPaths = new Set(unetLayerInventory(parent.plan).filter((l) => l.kind === 'conv' || l.kind === 'linear').map((l) => l.path));
  return { unet: copyUNet(parent), layerPaths };
}

/**
 * The layers to wrap: the outermost weight layers (see core's `WeightLayer`), each with the path of the
 * architecture's layer it is or sits in — what bit-widths and FP globs name. A wrapper that exposes its inner
 * layer's weight is quantized as a whole (its path is the layer's); a layer inside a wrapper that does not is
 * quantized in place, under the wrapper's path.
 */
function quantTargets(unet: UNet, layerPaths: ReadonlySet<string>): QuantTarget[] {
  const out: QuantTarget[] = [];
  for (const [path, module] of unet.select('**', { where: (m) => isWeightLayer(m) })) {
    if (out.some((t) => path.startsWith(`${t.path}.`))) continue;
    const parts = path.split('.');
    const layerPath = parts.map((_, i) => parts.slice(0, parts.length - i).join('.')).find((p) => layerPaths.has(p)) ?? path;
    out.push({ path, layer: module as WeightLayer & AnyModule, layerPath });
  }
  return out;
}

/** A layer {@link quantizeUNet} wraps. */
interface QuantTarget {
  /** Its module path. */
  path: string;
  /** The layer. */
  layer: WeightLayer & AnyModule;
  /** The path of the architecture's layer it is or sits in (the bit-width key). */
  layerPath: string;
}

/**
 * A quantized copy of `parent` (ptq spec §1–§4): every conv and linear outside `keepFp.layers` wrapped in a
 * {@link QuantLayer} (decoder shortcuts in a {@link SplitQuantConv2d} with `split`), their inputs quantized unless
 * activations are off or kept FP, and the attention products quantized when activations are. Quantizer ranges are
 * unset (Δ = 1, z = 0): the calibration fills them. Building is cheap and deterministic, which is what `restore`
 * relies on.
 *
 * Layer replacement composes: layers an earlier method replaced are copied with the parent (they must be
 * copyable, see core's `CopyableModule`), and a wrapper that exposes its conv's or linear's weight (core's
 * `WeightLayer`) is quantized as that layer, its own change applied on the quantized weight and input.
 *
 * @throws Error when a layer an earlier method replaced cannot be copied (naming it).
 */
export function quantizeUNet(parent: UNet, spec: QuantizeUNetSpec): QuantizedUNet {
  const { unet, layerPaths } = copyWithLayerPaths(parent);
  const perStep = spec.perStep;
  const stepOptions = (path: string): QuantLayerOptions['activationSteps'] =>
    perStep && (perStep.scope === 'all' || matchesAnyGlob(path, TEMPORAL_LAYERS)) ? perStep.steps : undefined;
  const actsOn = spec.activationBits < 32;
  const layers: QuantizedUNet['layers'] = [];
  const attentions: QuantizedUNet['attentions'] = [];
  const bitWidths: BitWidths = {};
  for (const { path, layer, layerPath } of quantTargets(unet, layerPaths)) {
    if (matchesAnyGlob(layerPath, spec.keepFp.layers)) continue;
    const activationBits = actsOn && !matchesAnyGlob(layerPath, spec.keepFp.activations) ? spec.activationBits : 32;
    const options: QuantLayerOptions = { weightBits: spec.weightBits, activationBits, activationSteps: stepOptions(layerPath) };
    const owner = layerPath.endsWith('.shortcut') ? unet.getModule(layerPath.slice(0, -'.shortcut'.length)) : null;
    const split = spec.split && owner instanceof ResBlock && owner.concatSplit != null ? owner.concatSplit : null;
    const wrapper = split != null ? new SplitQuantConv2d(layer, split, options) : new QuantLayer(layer, options);
    unet.replace(path, wrapper as AnyModule);
    layers.push([path, wrapper]);
    if (spec.weightBits < 32 || activationBits < 32) bitWidths[layerPath] = { weightBits: Math.min(32, spec.weightBits), activationBits };
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
