import * as tf from '@tensorflow/tfjs';
import { Identity, SiLU } from '../nn/layers/activations';
import { ScaledDotProductAttention, SelfAttention } from '../nn/layers/attention';
import { Conv2d } from '../nn/layers/conv2d';
import { Dropout } from '../nn/layers/dropout';
import { GroupNorm } from '../nn/layers/group-norm';
import { Linear } from '../nn/layers/linear';
import { Downsample, Upsample } from '../nn/layers/resample';
import { Sequential } from '../nn/layers/sequential';
import { ExportContext, registerExportRule, registerWeightExportRule } from './export-rules';

/** `x·sigmoid(x)` in the graph. */
export function exportSilu(ctx: ExportContext, x: string): string {
  return ctx.graph.op('Mul', [x, ctx.graph.op('Sigmoid', [x], {}, ctx.hint('sigmoid'))], {}, ctx.hint('silu'));
}

/**
 * `softmax(q·kᵀ/√d)·v` on `[n, heads, L, d]` values, with optional wrappers of the four operands (a quantized
 * attention passes its quantizers): the same order of operations as core's `ScaledDotProductAttention`.
 */
export function exportAttentionProduct(
  ctx: ExportContext,
  q: string,
  k: string,
  v: string,
  wrap: { q?: (x: string) => string; k?: (x: string) => string; v?: (x: string) => string; probs?: (x: string) => string } = {},
): string {
  const g = ctx.graph;
  const id = (x: string): string => x;
  const kt = g.op('Transpose', [(wrap.k ?? id)(k)], { perm: { ints: [0, 1, 3, 2] } }, ctx.hint('kT'));
  const scores = g.op('MatMul', [(wrap.q ?? id)(q), kt], {}, ctx.hint('scores'));
  // 1/√d from q's last dim: the rule does not know d, and the graph stays valid for any head size.
  const d = g.op('Cast', [g.op('Shape', [q], { start: { int: -1 } }, ctx.hint('d'))], { to: { int: 1 } }, ctx.hint('d_float'));
  const scale = g.op('Reciprocal', [g.op('Sqrt', [d], {}, ctx.hint('sqrt_d'))], {}, ctx.hint('scale'));
  const probs = g.op('Softmax', [g.op('Mul', [scores, scale], {}, ctx.hint('scaled'))], { axis: { int: -1 } }, ctx.hint('probs'));
  return g.op('MatMul', [(wrap.probs ?? id)(probs), (wrap.v ?? id)(v)], {}, ctx.hint('attn_out'));
}

/** Conv2d in ONNX: NCHW input, OIHW kernel; tfjs `'same'` padding is ONNX `SAME_UPPER` (extra padding at the end). */
function convNode(m: Conv2d, x: string, weight: string, ctx: ExportContext): string {
  const g = ctx.graph;
  const inputs = [x, weight];
  if (m.bias) inputs.push(g.tensor(m.bias, ctx.hint('bias')));
  const attrs: Record<string, { ints: number[] } | { string: string }> = {
    kernel_shape: { ints: [...m.kernelSize] },
    strides: { ints: [...m.stride] },
    dilations: { ints: [...m.dilation] },
  };
  if (m.padding === 'same') attrs.auto_pad = { string: 'SAME_UPPER' };
  else if (m.padding === 'valid') attrs.auto_pad = { string: 'VALID' };
  else attrs.pads = { ints: [m.padding, m.padding, m.padding, m.padding] };
  return g.op('Conv', inputs, attrs, ctx.path || 'conv');
}

/** HWIO (tfjs) → OIHW (ONNX). */
function kernelToOihw(w: tf.Tensor): { data: Float32Array; dims: number[] } {
  const t = tf.tidy(() => tf.transpose(w, [3, 2, 0, 1]));
  const data = t.dataSync() as Float32Array;
  const dims = t.shape;
  t.dispose();
  return { data, dims };
}

function linearNode(m: Linear, x: string, weight: string, ctx: ExportContext): string {
  const g = ctx.graph;
  const y = g.op('MatMul', [x, weight], {}, ctx.hint('matmul'));
  return m.bias ? g.op('Add', [y, g.tensor(m.bias, ctx.hint('bias'))], {}, ctx.path || 'linear') : y;
}

let registered = false;

/** Registers the export rules of core's layers (done when core is loaded; idempotent). */
export function registerCoreExportRules(): void {
  if (registered) return;
  registered = true;
  registerWeightExportRule(Conv2d, {
    onnxWeight: (_m, w) => ({ ...kernelToOihw(w), channelAxis: 0, inputAxis: 1 }),
    forwardWith: convNode,
    // onnxruntime 1.30 fuses DequantizeLinear → Conv into QLinearConv only when a QuantizeLinear follows the conv,
    // and diffusion PTQ quantizes layer inputs, not conv outputs; an unfused integer kernel also loses the blocked
    // NCHWc float conv (measured: convs 84 ms against 46 ms per unet-mnist-s call at batch 16, tools:bench-runtime).
    integerKernel: false,
  });
  registerExportRule(Conv2d, (m, [x], ctx) => {
    const { data, dims } = kernelToOihw(m.weight);
    return convNode(m, x, ctx.graph.constant(data, dims, ctx.hint('weight')), ctx);
  });
  registerWeightExportRule(Linear, {
    onnxWeight: (_m, w) => ({ data: w.dataSync() as Float32Array, dims: [...w.shape], channelAxis: 1, inputAxis: 0 }),
    forwardWith: linearNode,
    // DequantizeLinear → MatMul (both operands) becomes MatMulIntegerToFloat, an int8 kernel with a float output.
    integerKernel: true,
  });
  registerExportRule(Linear, (m, [x], ctx) => linearNode(m, x, ctx.graph.tensor(m.weight, ctx.hint('weight')), ctx));
  registerExportRule(GroupNorm, (m, [x], ctx) => {
    // GroupNormalization-18 is not in every runtime: group statistics through InstanceNormalization on [n, G, rest].
    const g = ctx.graph;
    const G = m.numGroups;
    const grouped = g.op('Reshape', [x, g.int64([0, G, -1])], {}, ctx.hint('grouped'));
    const normed = g.op('InstanceNormalization', [grouped, g.constant(new Float32Array(G).fill(1), [G], ctx.hint('ones')), g.constant(new Float32Array(G), [G], ctx.hint('zeros'))], { epsilon: { float: m.eps } }, ctx.hint('inorm'));
    let y = g.op('Reshape', [normed, g.op('Shape', [x], {}, ctx.hint('shape'))], {}, ctx.hint('normed'));
    if (m.gamma && m.beta) {
      const c = m.numChannels;
      y = g.op('Mul', [y, g.tensor(m.gamma, ctx.hint('gamma'), [c, 1, 1])], {}, ctx.hint('scaled'));
      y = g.op('Add', [y, g.tensor(m.beta, ctx.hint('beta'), [c, 1, 1])], {}, ctx.path || 'group_norm');
    }
    return y;
  });
  registerExportRule(SiLU, (_m, [x], ctx) => exportSilu(ctx, x));
  registerExportRule(Identity, (_m, [x]) => x);
  // Export is of eval mode (checked by exportModule), where dropout is the identity.
  registerExportRule(Dropout, (_m, [x]) => x);
  registerExportRule(Sequential, (m, [x], ctx) => m.namedChildren().reduce((h, [name, child]) => ctx.child(name, child, [h]), x));
  registerExportRule(ScaledDotProductAttention, (_m, [q, k, v], ctx) => exportAttentionProduct(ctx, q, k, v));
  registerExportRule(SelfAttention, (m, [x], ctx) => {
    const g = ctx.graph;
    const c = m.channels;
    const d = c / m.heads;
    const hn = ctx.child('norm', m.norm, [x]);
    // [n, C, H, W] → tokens [n, HW, C], the layout of the tfjs module's linear layers.
    const tokens = g.op('Transpose', [g.op('Reshape', [hn, g.int64([0, 0, -1])], {}, ctx.hint('flat'))], { perm: { ints: [0, 2, 1] } }, ctx.hint('tokens'));
    const heads = (name: 'q' | 'k' | 'v'): string =>
      g.op('Transpose', [g.op('Reshape', [ctx.child(name, m[name], [tokens]), g.int64([0, 0, m.heads, d])], {}, ctx.hint(`${name}_split`))], { perm: { ints: [0, 2, 1, 3] } }, ctx.hint(`${name}_heads`));
    const o = ctx.child('attn', m.attn, [heads('q'), heads('k'), heads('v')]);
    const merged = g.op('Reshape', [g.op('Transpose', [o], { perm: { ints: [0, 2, 1, 3] } }, ctx.hint('o_tokens')), g.int64([0, 0, c])], {}, ctx.hint('merged'));
    const proj = ctx.child('proj', m.proj, [merged]);
    const back = g.op('Reshape', [g.op('Transpose', [proj], { perm: { ints: [0, 2, 1] } }, ctx.hint('proj_nchw')), g.op('Shape', [x], {}, ctx.hint('x_shape'))], {}, ctx.hint('proj_map'));
    return g.op('Add', [x, back], {}, ctx.path || 'attention');
  });
  registerExportRule(Upsample, (m, [x], ctx) => {
    const up = exportUpsample2x(ctx, x);
    return m.conv ? ctx.child('conv', m.conv, [up]) : up;
  });
  registerExportRule(Downsample, (m, [x], ctx) => (m.conv ? ctx.child('conv', m.conv, [x]) : exportAvgPool2x(ctx, x)));
}

/** Nearest-neighbour 2× up-sampling as tfjs's `resizeNearestNeighbor` (no corner alignment, no half-pixel centres). */
export function exportUpsample2x(ctx: ExportContext, x: string): string {
  const g = ctx.graph;
  return g.op('Resize', [x, '', g.constant([1, 1, 2, 2], [4], ctx.hint('scales'))], { mode: { string: 'nearest' }, coordinate_transformation_mode: { string: 'asymmetric' }, nearest_mode: { string: 'floor' } }, ctx.hint('upsample'));
}

/** 2×2 average pooling with stride 2 (tfjs `avgPool(x, 2, 2, 'valid')`). */
export function exportAvgPool2x(ctx: ExportContext, x: string): string {
  return ctx.graph.op('AveragePool', [x], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }, ctx.hint('avgpool'));
}
