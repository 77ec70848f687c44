import * as tf from '@tensorflow/tfjs';
import {
  Conv2d, ExportContext, UniformQuantizer, exportActivationQuantizer, exportAttentionProduct, exportLayerWeight, quantLevels, registerExportRule,
} from '@diffpress/core';
import { BinaryLayer, biasOf } from './layers/binary-layer';
import { LsqAttention } from './layers/lsq-attention';
import { ActivationScaleMap, RPReLU, StaticScale } from './layers/output-scales';
import { ActivationQuantizer, LsqActivationQuantizer, SignActivation } from './quantizers/activation-quantizers';

/**
 * An LSQ quantizer on graph value `x`. A static step is core's symmetric uniform quantizer with Δ = s and z = 0
 * (Clip + QuantizeLinear/DequantizeLinear, the same values: LSQ clamps then rounds, the uniform grid rounds then
 * clamps, which agree for integer ends); a dynamic one recomputes `s = 2·mean|x|/√Qp` from the batch in the graph,
 * as its tfjs forward does, in float ops.
 */
function exportLsq(ctx: ExportContext, q: LsqActivationQuantizer, x: string): string {
  const g = ctx.graph;
  const { lo, hi } = quantLevels(q.bits, 'symmetric');
  if (q.dynamic) {
    const mean = g.op('ReduceMean', [g.op('Abs', [x], {}, ctx.hint('abs'))], { keepdims: { int: 0 } }, ctx.hint('mean_abs'));
    const s = g.op('Mul', [mean, g.scalar(2 / Math.sqrt(hi), ctx.hint('init_factor'))], {}, ctx.hint('step'));
    const scaled = g.op('Clip', [g.op('Div', [x, s], {}, ctx.hint('scaled')), g.scalar(lo, ctx.hint('lo')), g.scalar(hi, ctx.hint('hi'))], {}, ctx.hint('clamped'));
    return g.op('Mul', [g.op('Round', [scaled], {}, ctx.hint('rounded')), s], {}, ctx.hint('fq'));
  }
  const uq = new UniformQuantizer({ bits: q.bits, mode: 'symmetric' });
  try {
    uq.setParams({ delta: Float32Array.of(q.step.dataSync()[0]), zero: Float32Array.of(0) });
    return exportActivationQuantizer(ctx, uq, x);
  } finally {
    uq.dispose();
  }
}

/** A per-channel vector shaped to broadcast against the layer's graph layout: `[1, C, 1, 1]` for NCHW maps, `[C]` otherwise. */
function channelVector(ctx: ExportContext, v: tf.Tensor, nchw: boolean, hint: string): string {
  return ctx.graph.tensor(v, ctx.hint(hint), nchw ? [1, v.size, 1, 1] : [v.size]);
}

/** An input quantizer of a binary layer on graph value `x` (NCHW when `nchw`). */
function exportInputQuantizer(ctx: ExportContext, q: ActivationQuantizer, x: string, nchw: boolean): string {
  if (q instanceof LsqActivationQuantizer) return exportLsq(ctx, q, x);
  if (q instanceof SignActivation) {
    const shifted = q.threshold ? ctx.graph.op('Add', [x, channelVector(ctx, q.threshold, nchw, 'threshold')], {}, ctx.hint('shifted')) : x;
    // ONNX Sign maps 0 to 0, as tfjs does.
    return ctx.graph.op('Sign', [shifted], {}, ctx.hint('sign'));
  }
  throw ctx.error(q, 'no ONNX export for this activation quantizer');
}

/** XNOR-Net's K map of graph input `x`: mean |x| over channels, through the conv's box filter (a 1→1 conv of the same geometry). */
function exportScaleMap(ctx: ExportContext, m: ActivationScaleMap, conv: Conv2d | null, x: string): string {
  const g = ctx.graph;
  const a = g.op('ReduceMean', [g.op('Abs', [x], {}, ctx.hint('abs'))], { axes: { ints: [conv ? 1 : -1] }, keepdims: { int: 1 } }, ctx.hint('mean_abs'));
  if (!conv) return a;
  // A temporary 1→1 conv with this geometry, written by core's Conv2d rule: the same padding conventions as the layer.
  const k = new Conv2d(1, 1, conv.kernelSize, { stride: conv.stride, padding: conv.padding, dilation: conv.dilation, bias: m.kbias != null });
  try {
    tf.tidy(() => {
      const [kh, kw] = conv.kernelSize;
      k.weight.assign(m.kernel ? m.kernel : tf.fill([kh, kw, 1, 1], 1 / (kh * kw)));
      if (m.kbias && k.bias) k.bias.assign(m.kbias);
    });
    return ctx.child('kmap', k.eval(), [a]);
  } finally {
    k.dispose();
  }
}

/**
 * `BinaryLayer`: the input quantizer, the wrapped layer with its effective weight (computed by the layer's own
 * quantizer in tfjs and stored as float constants, the exact values the tfjs forward uses), the output scale around
 * the bias, and RPReLU. A layer with `binarized` false is its FP layer.
 */
function exportBinaryLayer(m: BinaryLayer, x: string, ctx: ExportContext): string {
  const g = ctx.graph;
  const inner = m.inner;
  const innerCtx = ctx.at('inner');
  if (!m.binarized) return ctx.child('inner', inner, [x]);
  const nchw = inner.weight.rank === 4;
  const input = m.inputQuant ? exportInputQuantizer(ctx.at('inputQuant'), m.inputQuant, x, nchw) : x;
  const wq = tf.tidy(() => (m.weightQuant ? m.weightQuant.forward(inner.weight) : inner.weight.clone()));
  let y: string;
  try {
    y = innerCtx.weightRule(inner).forwardWith(inner, input, exportLayerWeight(innerCtx, inner, wq, null), innerCtx);
  } finally {
    wq.dispose();
  }
  if (m.scale) {
    const sctx = ctx.at('scale');
    let factor: string;
    if (m.scale instanceof ActivationScaleMap) factor = exportScaleMap(sctx, m.scale, inner instanceof Conv2d ? inner : null, x);
    else if (m.scale instanceof StaticScale) {
      const s = m.scale;
      const gamma = tf.tidy(() => {
        if (!s.beta || !s.gamma) return s.alpha.clone();
        // Γ as [1, C, H, W]: α_c·β_h·γ_w.
        return tf.mul(tf.mul(s.alpha.reshape([1, -1, 1, 1]), s.beta.reshape([1, 1, -1, 1])), s.gamma.reshape([1, 1, 1, -1]));
      });
      factor = g.tensor(gamma, sctx.hint('gamma'));
      gamma.dispose();
    } else throw sctx.error(m.scale, 'no ONNX export for this output scale');
    const bias = biasOf(inner);
    const b = bias ? channelVector(sctx, bias, nchw, 'bias') : null;
    const bare = b ? g.op('Sub', [y, b], {}, sctx.hint('unbiased')) : y;
    const scaled = g.op('Mul', [bare, factor], {}, sctx.hint('scaled'));
    y = b ? g.op('Add', [scaled, b], {}, sctx.hint('rebiased')) : scaled;
  }
  if (m.post) y = exportRPReLU(ctx.at('post'), m.post, y, nchw);
  return y;
}

/** RPReLU: `PRelu(y − γ, β) + ζ` per channel. */
function exportRPReLU(ctx: ExportContext, m: RPReLU, y: string, nchw: boolean): string {
  const g = ctx.graph;
  const u = g.op('Sub', [y, channelVector(ctx, m.shiftIn, nchw, 'shift_in')], {}, ctx.hint('u'));
  const p = g.op('PRelu', [u, channelVector(ctx, m.slope, nchw, 'slope')], {}, ctx.hint('prelu'));
  return g.op('Add', [p, channelVector(ctx, m.shiftOut, nchw, 'shift_out')], {}, ctx.hint('out'));
}

/** `LsqAttention`: core's attention product with each operand through its LSQ quantizer. */
function exportLsqAttention(m: LsqAttention, [q, k, v]: readonly string[], ctx: ExportContext): string {
  if (!m.quantized) return exportAttentionProduct(ctx, q, k, v);
  const wrap = (name: string, quantizer: LsqActivationQuantizer) => (value: string) => exportLsq(ctx.at(name), quantizer, value);
  return exportAttentionProduct(ctx, q, k, v, {
    q: wrap('queryQuant', m.queryQuant),
    k: wrap('keyQuant', m.keyQuant),
    v: wrap('valueQuant', m.valueQuant),
    probs: wrap('probsQuant', m.probsQuant),
  });
}

let registered = false;

/**
 * Registers the ONNX export rules of this package's layers — {@link BinaryLayer} and {@link LsqAttention} — with
 * core's exporter (done when the package is loaded; idempotent), so binarized students sample on onnxruntime too.
 * Binary weights are written as the float values the tfjs forward computes (no integer kernel runs 1-bit weights;
 * a packed binary kernel is a separate deliverable); LSQ activations as QuantizeLinear/DequantizeLinear pairs.
 */
export function registerBinarizationExportRules(): void {
  if (registered) return;
  registered = true;
  registerExportRule(BinaryLayer, (m, [x], ctx) => exportBinaryLayer(m, x, ctx));
  registerExportRule(LsqAttention, exportLsqAttention);
}
