import { matchesGlob } from '@diffpress/core';
import { LayerInfo, UNetPart } from '@diffpress/diffusion';

/** Bit-widths of one layer's weights and input activations; 32/32 is full precision. */
export interface Precision {
  /** Weight bits (1 = binary, 32 = float). */
  weightBits: number;
  /** Input-activation bits. */
  activationBits: number;
}

/** Full precision. */
export const FP32: Precision = { weightBits: 32, activationBits: 32 };

/**
 * Per-layer bit-widths, filled in by compression methods: keys are layer paths of the UNet inventory
 * (`down.1.res.0.conv1`, `mid.attn.qk`) or glob patterns over them (`down.*.res.*.conv?`); the first matching key
 * in insertion order wins. Layers no key matches are full precision.
 */
export type BitWidthMap = ReadonlyMap<string, Precision>;

/**
 * A cost the inventory does not list but an implementation adds (counted only in the as-implemented accounting):
 * BiDM's full-precision shortcuts and Kmap convolutions, a method's extra scales.
 */
export interface ExtraCost {
  /** Name of the extra (e.g. `down.1.res.0.conv1.kmap`). */
  path: string;
  /** UNet part it belongs to. */
  part: UNetPart;
  /** Multiply–accumulates per sample. */
  macs: number;
  /** Stored values (weights, scales, thresholds). */
  params: number;
  /** Precision of the MACs and of the stored values' weights. */
  precision: Precision;
}

/**
 * How to count:
 * - `paper`: the papers' convention (BinaryDM, BiDM): conv + linear MACs only (attention matmuls excluded);
 *   BOPs = MACs·b_w·b_a for quantized layers; OPs = BOPs/64 + full-precision MACs; size = quantized weights at
 *   their bits, everything else at 32 bits.
 * - `as-implemented`: additionally the attention matmuls (QKᵀ, AV; at the bits of their entries in the map),
 *   per-output-channel weight scales and per-layer activation step sizes of quantized layers (at `scaleBits`), and
 *   the {@link ExtraCost}s a method reports.
 */
export type AccountingStyle = 'paper' | 'as-implemented';

/** Options of {@link accountEfficiency}. */
export interface AccountingOptions {
  /** Per-layer bit-widths (default: everything full precision). */
  bits?: BitWidthMap;
  /** Accounting convention (default `'paper'`). */
  style?: AccountingStyle;
  /** Extra costs of the implementation (as-implemented only). */
  extras?: readonly ExtraCost[];
  /** Bits of a stored quantizer scale in the as-implemented accounting (default 32). */
  scaleBits?: number;
}

/** Totals of one accounting. */
export interface CostTotals {
  /** Stored parameters (weights, biases, norm affines; as-implemented adds scales and extras). */
  params: number;
  /** Storage in bytes. */
  sizeBytes: number;
  /** Storage in MiB (2^20 bytes). */
  sizeMiB: number;
  /** All counted multiply–accumulates per sample, whatever their precision. */
  macs: number;
  /** Multiply–accumulates of full-precision layers (the papers' FLOPs). */
  fpMacs: number;
  /** Binary operations of quantized layers: Σ MACs·b_w·b_a. */
  bops: number;
  /** BOPs/64 + FP MACs. */
  ops: number;
}

/** One counted item of an {@link EfficiencyReport}. */
export interface LayerCost extends CostTotals {
  /** Layer path (or extra's path). */
  path: string;
  /** UNet part. */
  part: UNetPart;
  /** Precision used. */
  precision: Precision;
}

/** Result of {@link accountEfficiency}. */
export interface EfficiencyReport extends CostTotals {
  /** Convention used. */
  style: AccountingStyle;
  /** Totals per UNet part (time embedding, encoder, middle, decoder). */
  byPart: Record<UNetPart, CostTotals>;
  /** Per counted item. */
  layers: LayerCost[];
}

const MIB = 2 ** 20;

function zero(): CostTotals {
  return { params: 0, sizeBytes: 0, sizeMiB: 0, macs: 0, fpMacs: 0, bops: 0, ops: 0 };
}

function isFp(p: Precision): boolean {
  return p.weightBits >= 32 && p.activationBits >= 32;
}

function addTo(t: CostTotals, c: CostTotals): void {
  t.params += c.params;
  t.sizeBytes += c.sizeBytes;
  t.macs += c.macs;
  t.fpMacs += c.fpMacs;
  t.bops += c.bops;
  t.ops += c.ops;
  t.sizeMiB = t.sizeBytes / MIB;
}

/** The precision the map gives a layer path (first matching key), or {@link FP32}. */
export function precisionOf(bits: BitWidthMap | undefined, path: string): Precision {
  if (!bits) return FP32;
  const exact = bits.get(path);
  if (exact) return exact;
  for (const [pattern, p] of bits) if (matchesGlob(path, pattern)) return p;
  return FP32;
}

function compute(macs: number, p: Precision): Pick<CostTotals, 'macs' | 'fpMacs' | 'bops' | 'ops'> {
  // Weight-only quantization (full-precision activations, e.g. W4A32) still multiplies in floating point: the
  // weights are dequantized first, so its MACs are FP MACs, not 4×32-bit BOPs (which would cost more than FP).
  if (isFp(p) || p.activationBits >= 32) return { macs, fpMacs: macs, bops: 0, ops: macs };
  const bops = macs * p.weightBits * p.activationBits;
  return { macs, fpMacs: 0, bops, ops: bops / 64 };
}

/**
 * Analytic efficiency of a UNet from its shape-only layer inventory (`unetLayerInventory`) and per-layer
 * bit-widths — no weights are allocated, so it works for LDM-scale models. See {@link AccountingStyle} for the two
 * conventions; binarization spec §3 and `docs/baselines.md` show the paper checks it reproduces (LDM-4: 274.06 M
 * parameters, 1045.4 MiB, 96.02 G MACs).
 *
 * @example
 * ```ts
 * const layers = unetLayerInventory(unetPresets['ldm4-bedrooms']);
 * const w4a4 = accountEfficiency(layers, { bits: uniformBits(layers, { weightBits: 4, activationBits: 4 }) });
 * w4a4.sizeMiB; // 134.68
 * ```
 */
export function accountEfficiency(layers: readonly LayerInfo[], options: AccountingOptions = {}): EfficiencyReport {
  const style = options.style ?? 'paper';
  const scaleBits = options.scaleBits ?? 32;
  const total = zero();
  const byPart: Record<UNetPart, CostTotals> = { time: zero(), encoder: zero(), middle: zero(), decoder: zero() };
  const rows: LayerCost[] = [];
  const push = (path: string, part: UNetPart, precision: Precision, c: CostTotals): void => {
    c.sizeMiB = c.sizeBytes / MIB;
    rows.push({ path, part, precision, ...c });
    addTo(total, c);
    addTo(byPart[part], c);
  };
  for (const l of layers) {
    const p = l.kind === 'norm' ? FP32 : precisionOf(options.bits, l.path);
    if (l.kind === 'matmul' && style === 'paper') continue;
    const quantW = p.weightBits < 32 && l.weights > 0;
    let params = l.weights + l.biases;
    let sizeBits = l.weights * Math.min(32, p.weightBits) + l.biases * 32;
    if (style === 'as-implemented' && !isFp(p)) {
      // Per-output-channel weight scales and one activation step size per quantized layer input.
      const scales = (quantW ? l.outChannels : 0) + (p.activationBits < 32 ? (l.kind === 'matmul' ? 2 : 1) : 0);
      params += scales;
      sizeBits += scales * scaleBits;
    }
    push(l.path, l.part, p, { params, sizeBytes: sizeBits / 8, sizeMiB: 0, ...compute(l.kind === 'norm' ? 0 : l.macs, p) });
  }
  if (style === 'as-implemented') {
    for (const e of options.extras ?? []) {
      const sizeBits = e.params * Math.min(32, e.precision.weightBits);
      push(e.path, e.part, e.precision, { params: e.params, sizeBytes: sizeBits / 8, sizeMiB: 0, ...compute(e.macs, e.precision) });
    }
  }
  return { style, ...total, byPart, layers: rows };
}

/**
 * The layers both binarization papers and the PTQ baselines keep in full precision by default: the time-embedding
 * MLP, the stem convolution and the output convolution (norms are never quantized).
 */
export function isDefaultFpLayer(l: LayerInfo): boolean {
  return l.part === 'time' || l.block === 'stem' || l.block === 'out';
}

/** Options of {@link uniformBits}. */
export interface UniformBitsOptions {
  /** Layers to keep full precision (default {@link isDefaultFpLayer}). */
  keepFp?: (l: LayerInfo) => boolean;
  /** Also give the attention matmuls this precision (default false: they stay FP). */
  matmuls?: boolean;
}

/**
 * A bit-width map putting every conv and linear layer (and optionally the attention matmuls) at one precision,
 * except those `keepFp` selects — the "W4A4" / "W1A1" setting of the papers' tables.
 *
 * @example
 * ```ts
 * const w1a1 = uniformBits(layers, { weightBits: 1, activationBits: 1 }, { keepFp: (l) => isDefaultFpLayer(l) || l.role === 'shortcut' });
 * ```
 */
export function uniformBits(layers: readonly LayerInfo[], precision: Precision, options: UniformBitsOptions = {}): Map<string, Precision> {
  const keep = options.keepFp ?? isDefaultFpLayer;
  const map = new Map<string, Precision>();
  for (const l of layers) {
    const counted = l.kind === 'conv' || l.kind === 'linear' || (options.matmuls === true && l.kind === 'matmul');
    if (counted && !keep(l)) map.set(l.path, precision);
  }
  return map;
}

/** Compression ratios of a report against its full-precision baseline (same style). */
export interface Ratios {
  /** Baseline size / size. */
  size: number;
  /** Baseline OPs / OPs. */
  ops: number;
}

/** `baseline.sizeBytes / report.sizeBytes` and `baseline.ops / report.ops`. */
export function compressionRatios(baseline: CostTotals, report: CostTotals): Ratios {
  return { size: baseline.sizeBytes / report.sizeBytes, ops: baseline.ops / report.ops };
}
