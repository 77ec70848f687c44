import { UniformQuantizer, matchesAnyGlob } from '@diffpress/core';
import { UNet } from '@diffpress/diffusion';
import { QuantLayer, QuantScaledDotProductAttention, SplitQuantConv2d } from '../quant/layers';
import { QuantizedUNet } from '../quant/quantize-unet';

/**
 * One reconstruction unit of BRECQ (ptq spec §1): a residual block, an attention block, or a conv/linear outside
 * blocks (time MLP, stem, up/down-sampling, out conv). Its module at `path` is called with the inputs captured
 * there; its quantized parts are optimised together against the FP network's output at the same place.
 */
export interface ReconUnit {
  /** Module path of the unit (`time`, `stem`, `down.1.res.0`, `mid.attn`, `down.0.downsample`, `out.conv`). */
  path: string;
  /** Quantized weight layers inside it that this unit optimises. */
  layers: Array<[string, QuantLayer | SplitQuantConv2d]>;
  /** Quantized attention products inside it. */
  attentions: QuantScaledDotProductAttention[];
}

/** Activation quantizers of a unit (inputs of its layers, its attention products). */
export function unitActivationQuantizers(unit: ReconUnit): UniformQuantizer[] {
  return [...unit.layers.flatMap(([, l]) => l.inputQuantizers()), ...unit.attentions.flatMap((a) => a.quantizers())];
}

/** Whether a unit has weights to reconstruct. */
export function unitHasWeights(unit: ReconUnit): boolean {
  return unit.layers.some(([, l]) => l.weightQuantizers().length > 0);
}

function inside(path: string, unit: string): boolean {
  return path === unit || path.startsWith(`${unit}.`);
}

/**
 * The units of a quantized UNet in call order: the time MLP, the stem, every block of the encoder, middle and
 * decoder (deepest level first), and the out conv. Units without quantized layers or attention products are left
 * out; layers matching `frozen` (e.g. TFMQ-DM's `**.emb`, reconstructed beforehand by TIAR) belong to no unit.
 */
export function reconstructionUnits(unet: UNet, q: Pick<QuantizedUNet, 'layers' | 'attentions'>, frozen: readonly string[] = []): ReconUnit[] {
  const paths = ['time', 'stem', ...unet.blockNames(), 'out.conv'];
  const units: ReconUnit[] = [];
  for (const path of paths) {
    const layers = q.layers.filter(([p]) => inside(p, path) && !matchesAnyGlob(p, frozen));
    const attentions = q.attentions.filter(([p]) => inside(p, path)).map(([, a]) => a);
    if (layers.length > 0 || attentions.length > 0) units.push({ path, layers, attentions });
  }
  return units;
}
