import * as tf from '@tensorflow/tfjs';
import {
  ExportContext, UniformQuantizer, exportActivationQuantizer, exportAttentionProduct, exportLayerWeight, registerExportRule,
} from '@diffpress/core';
import { QuantLayer, QuantScaledDotProductAttention, SplitQuantConv2d } from './layers';

/** The quantizer a weight is exported with: as `effectiveWeight()` uses it, or null for the FP weight. */
function activeWeightQuantizer(m: { quantizeWeights: boolean }, q: UniformQuantizer | null): UniformQuantizer | null {
  return m.quantizeWeights && q && q.enabled ? q : null;
}

/**
 * Refuses a layer whose AdaRound is in progress: its weight is then a function of the rounding variables, not yet a
 * point on the grid (the reconstruction hardens it with `endAdaRound`).
 */
function assertHardened(m: QuantLayer | SplitQuantConv2d, ctx: ExportContext): void {
  // The rounding objects are private to the layer; a non-null one means AdaRound has begun and not ended.
  const rounding = m instanceof QuantLayer ? m['adaround'] : m['adaround'];
  if (rounding != null) {
    throw ctx.error(m, 'AdaRound is in progress (the rounding is not hardened yet): finish the reconstruction (endAdaRound) before exporting');
  }
}

/**
 * `QuantLayer`: `layer.forwardWith(Q_a(x), Q_w(W))`. The weight is written by core's `exportLayerWeight` (integer
 * levels + DequantizeLinear in QDQ mode), and the wrapped layer through its class's weight rule, so that a wrapper
 * of another method around the conv or linear applies its own change on top.
 */
function exportQuantLayer(m: QuantLayer, x: string, ctx: ExportContext): string {
  assertHardened(m, ctx);
  const input = m.inputQuant ? exportActivationQuantizer(ctx.at('inputQuant'), m.inputQuant, x) : x;
  const inner = m.layer;
  const innerCtx = ctx.at('layer');
  const q = activeWeightQuantizer(m, m.weightQuant);
  // After AdaRound the layer's own weight holds the hardened on-grid values, which Q_w maps to themselves; with
  // weights not quantized `effectiveWeight()` is the FP weight (kept aside when the layer's own was replaced).
  const weight = exportLayerWeight(innerCtx, inner, q ? inner.weight : m.effectiveWeight(), q, 'weight', input);
  return innerCtx.weightRule(inner).forwardWith(inner, input, weight, innerCtx);
}

/**
 * `SplitQuantConv2d`: the NCHW input split on the channel axis at `split`, each half through its own quantizer and
 * concatenated again; the kernel halves quantized by their own per-output-channel quantizers, each written by core's
 * `exportLayerWeight` and concatenated on the ONNX kernel's input-channel axis (OIHW axis 1), which equals the tfjs
 * kernel exactly. The conv's input is a concatenation, which no integer kernel takes, so the halves are stored as
 * fake-quantized floats (integer halves with DequantizeLinear ran no faster: tools/bench/onnx-qdq.ts).
 */
function exportSplitQuantConv2d(m: SplitQuantConv2d, x: string, ctx: ExportContext): string {
  assertHardened(m, ctx);
  const g = ctx.graph;
  let input = x;
  const [iq1, iq2] = [m.inputQuant1, m.inputQuant2];
  if (iq1 && iq2 && (iq1.enabled || iq2.enabled)) {
    const [x1, x2] = g.opN('Split', [x, g.int64([m.split, m.inChannels - m.split], ctx.hint('split_sizes'))], 2, { axis: { int: 1 } }, ctx.hint('split'));
    const halves = [exportActivationQuantizer(ctx.at('inputQuant1'), iq1, x1), exportActivationQuantizer(ctx.at('inputQuant2'), iq2, x2)];
    input = g.op('Concat', halves, { axis: { int: 1 } }, ctx.hint('concat'));
  }
  const inner = m.layer;
  const innerCtx = ctx.at('layer');
  const rule = innerCtx.weightRule(inner);
  let weight: string;
  // The same condition as `effectiveWeight()`: the FP kernel unless both quantizers exist and the first is on (a
  // disabled second one leaves its half FP, as its `forward` is then the identity).
  if (!m.quantizeWeights || !m.weightQuant1 || !m.weightQuant2 || !m.weightQuant1.enabled) {
    weight = exportLayerWeight(innerCtx, inner, m.effectiveWeight(), null);
  } else {
    const [w1, w2] = m.weightHalves();
    const axis = rule.onnxWeight(inner, w1).inputAxis;
    const halves = [exportLayerWeight(innerCtx, inner, w1, m.weightQuant1, 'weight1', input), exportLayerWeight(innerCtx, inner, w2, m.weightQuant2, 'weight2', input)];
    tf.dispose([w1, w2]);
    weight = g.op('Concat', halves, { axis: { int: axis } }, innerCtx.hint('weight'));
  }
  return rule.forwardWith(inner, input, weight, innerCtx);
}

/**
 * `QuantScaledDotProductAttention`: core's attention product with q, k, v and the softmax output through their
 * quantizers (the softmax one on its unsigned grid: a uint8 QDQ pair at 8 bits, float emulation above 8; none when
 * the probabilities stay FP).
 */
function exportQuantAttention(m: QuantScaledDotProductAttention, [q, k, v]: readonly string[], ctx: ExportContext): string {
  const wrap = (name: string, quantizer: UniformQuantizer) => (value: string) => exportActivationQuantizer(ctx.at(name), quantizer, value);
  return exportAttentionProduct(ctx, q, k, v, {
    q: wrap('queryQuant', m.queryQuant),
    k: wrap('keyQuant', m.keyQuant),
    v: wrap('valueQuant', m.valueQuant),
    probs: m.softmaxQuant ? wrap('softmaxQuant', m.softmaxQuant) : undefined,
  });
}

let registered = false;

/**
 * Registers the ONNX export rules of this package's quantized layers — {@link QuantLayer}, {@link SplitQuantConv2d}
 * and {@link QuantScaledDotProductAttention} — with core's exporter (done when the package is loaded; idempotent).
 * Quantizers become QuantizeLinear/DequantizeLinear pairs (or float emulation, see core's `ExportOptions`); a layer
 * in the middle of AdaRound is an `ExportError` naming it.
 */
export function registerPtqExportRules(): void {
  if (registered) return;
  registered = true;
  registerExportRule(QuantLayer, (m, [x], ctx) => exportQuantLayer(m, x, ctx));
  registerExportRule(SplitQuantConv2d, (m, [x], ctx) => exportSplitQuantConv2d(m, x, ctx));
  registerExportRule(QuantScaledDotProductAttention, exportQuantAttention);
}
