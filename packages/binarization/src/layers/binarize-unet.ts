import { AnyModule, BitWidths, Conv2d, Linear, ScaledDotProductAttention, WeightLayer, isWeightLayer, matchesAnyGlob } from '@diffpress/core';
import { LayerInfo, UNet, unetLayerInventory } from '@diffpress/diffusion';
import { BinaryLayer, BinaryLayerParts } from './binary-layer';
import { LsqAttention } from './lsq-attention';

/**
 * The layers both binarization papers keep in floating point (binarization spec §0): the time-embedding MLP, the stem
 * conv and the output head. Norms, activation functions, residual adds and resamplers' non-conv parts have no
 * weights to binarize; every other conv and linear layer is binarized.
 */
export const DEFAULT_KEEP_FP: readonly string[] = ['time.**', 'stem', 'out.**'];

/** Where a layer sits, for progressive initialisation and the multi-basis scope: its level, or `mid`. */
export type ResolutionGroup = number | 'mid';

/** The resolution group of a module path (`down.1.res.0.conv1` → 1, `up.0.upsample.conv` → 0, `mid.attn.q` → `mid`). */
export function resolutionGroup(path: string): ResolutionGroup {
  const [part, level] = path.split('.');
  if (part === 'mid') return 'mid';
  if ((part === 'down' || part === 'up') && /^\d+$/.test(level)) return Number(level);
  throw new Error(`'${path}' is not inside a UNet level or the middle block (keep it FP: layers.keepFp)`);
}

/** What {@link binarizeUNet} needs to know about a layer it replaces. */
export interface LayerSite {
  /** Module path. */
  path: string;
  /** The layer (a conv or linear, or another method's wrapper of one). */
  layer: WeightLayer & AnyModule;
  /** Its shape-only inventory entry (output size of convs, part, role). */
  info: LayerInfo;
  /** Its resolution group. */
  group: ResolutionGroup;
}

/** Options of {@link binarizeUNet}. */
export interface BinarizeOptions {
  /** Glob patterns of layers kept FP (default {@link DEFAULT_KEEP_FP}). */
  keepFp?: readonly string[];
  /** The quantizers and output transforms of one layer. */
  parts: (site: LayerSite) => BinaryLayerParts;
  /** Bits of the attention operands (q, k, softmax, v), or undefined to keep the attention product FP. */
  attentionBits?: number;
  /** Re-initialise the attention quantizers' steps at every forward (see `LsqActivationQuantizer`). */
  dynamicAttention?: boolean;
}

/** Result of {@link binarizeUNet}. */
export interface BinarizedUNet {
  /** The binary layers by path, in call order. */
  layers: Map<string, BinaryLayer>;
  /** The quantized attention products by path. */
  attention: Map<string, LsqAttention>;
}

/** The conv and linear layers of `unet` outside `keepFp`, in module order (nested layers of a wrapper excluded). */
export function binarizableLayers(unet: UNet, keepFp: readonly string[] = DEFAULT_KEEP_FP): LayerSite[] {
  const inventory = new Map(unetLayerInventory(unet.plan).map((l) => [l.path, l]));
  const sites: LayerSite[] = [];
  for (const [path, m] of unet.namedModules()) {
    if (path === '' || !(m instanceof Conv2d || m instanceof Linear || isWeightLayer(m))) continue;
    if (sites.some((s) => path.startsWith(`${s.path}.`)) || matchesAnyGlob(path, keepFp)) continue;
    const info = inventory.get(path);
    if (!info) throw new Error(`binarize: '${path}' is not a layer of the UNet inventory`);
    sites.push({ path, layer: m as WeightLayer & AnyModule, info, group: resolutionGroup(path) });
  }
  return sites;
}

/**
 * Replaces, in place, every conv and linear layer of `unet` outside `keepFp` by a {@link BinaryLayer} built from
 * `options.parts`, and (with `attentionBits`) every attention product by an {@link LsqAttention}. The FP weights stay
 * the latent weights of the binary layers, so the result starts as a binarized copy of the FP model.
 *
 * @example
 * ```ts
 * binarizeUNet(student, { parts: ({ layer }) => ({ weight: new SignWeightQuantizer(layer.weight.shape.at(-1)!, 'learned') }) });
 * ```
 */
export function binarizeUNet(unet: UNet, options: BinarizeOptions): BinarizedUNet {
  const layers = new Map<string, BinaryLayer>();
  for (const site of binarizableLayers(unet, options.keepFp)) {
    const layer = new BinaryLayer(site.layer, (inner) => options.parts({ ...site, layer: inner }));
    unet.replace(site.path, layer);
    layers.set(site.path, layer);
  }
  const attention = new Map<string, LsqAttention>();
  if (options.attentionBits != null && options.attentionBits < 32) {
    for (const [path, m] of unet.namedModules()) {
      if (!(m instanceof ScaledDotProductAttention) || m instanceof LsqAttention) continue;
      const q = new LsqAttention(options.attentionBits, options.dynamicAttention ?? false);
      unet.replace(path, q as unknown as AnyModule).dispose();
      attention.set(path, q);
    }
  }
  return { layers, attention };
}

/**
 * Per-layer bit-widths of a binarized UNet for efficiency accounting: each binary layer at its current precision,
 * and each quantized attention product's `qk` and `av` matmuls (inventory paths of the attention block) at its bits.
 */
export function binarizedBitWidths(b: BinarizedUNet): BitWidths {
  const out: BitWidths = {};
  for (const [path, layer] of b.layers) out[path] = layer.precision;
  for (const [path, a] of b.attention) {
    const block = path.slice(0, path.lastIndexOf('.'));
    out[`${block}.qk`] = { weightBits: a.bits, activationBits: a.bits };
    out[`${block}.av`] = { weightBits: a.bits, activationBits: a.bits };
  }
  return out;
}
