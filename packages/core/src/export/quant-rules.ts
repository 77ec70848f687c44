import * as tf from '@tensorflow/tfjs';
import { fakeQuantize } from '../quant/fake-quant';
import { UniformQuantizer } from '../quant/uniform-quantizer';
import { ExportContext, registerExportRule } from './export-rules';
import { integerWeightType } from './integer-weights';
import { OnnxElementType } from './onnx-graph';

/** The element type a grid is stored in as QDQ, or null when it does not fit 8 bits with an integer zero point. */
function qdqType(q: UniformQuantizer, zero: ArrayLike<number>): Extract<OnnxElementType, 'int8' | 'uint8'> | null {
  if (q.bits > 8) return null;
  for (let i = 0; i < zero.length; i++) if (!Number.isInteger(zero[i])) return null;
  return q.mode === 'symmetric' ? 'int8' : 'uint8';
}

/** The parameter slot a quantizer is written with: the export's step for a per-step quantizer, else 0. */
function exportSlot(ctx: ExportContext, q: UniformQuantizer): number {
  if (q.steps == null) return 0;
  const step = ctx.options.step;
  if (step == null) throw ctx.error(q, `a per-step quantizer (${q.steps} steps) is written for one sampler step at a time: give the export a step`);
  if (!Number.isInteger(step) || step < 0 || step >= q.steps) throw ctx.error(q, `step ${step} is outside the quantizer's ${q.steps} steps`);
  ctx.markStepDependent();
  return step;
}

/**
 * A per-tensor (or per-step) activation quantizer on graph value `x`: `(clamp(round(x/Δ) + z, lo, hi) − z)·Δ`.
 * With QDQ export (the default) and ≤ 8 bits it is a QuantizeLinear/DequantizeLinear pair, preceded by a Clip to
 * the grid's ends when the grid is narrower than the 8-bit type (QuantizeLinear saturates at the type's range
 * only); otherwise the same arithmetic in float ops. Both round half to even, as tfjs does.
 */
export function exportActivationQuantizer(ctx: ExportContext, q: UniformQuantizer, x: string): string {
  if (!q.enabled) return x;
  if (q.channels != null) throw ctx.error(q, 'per-channel activation quantizers have no export (their channel axis is the tfjs last axis, not the graph layout)');
  const slot = exportSlot(ctx, q);
  const delta = q.delta.dataSync()[slot];
  const zero = q.zero.dataSync()[slot];
  const { lo, hi } = q.levels;
  const g = ctx.graph;
  const type = (ctx.options.quantization ?? 'qdq') === 'qdq' ? qdqType(q, [zero]) : null;
  if (type) {
    const full = type === 'int8' ? { lo: -128, hi: 127 } : { lo: 0, hi: 255 };
    let input = x;
    if (lo > full.lo || hi < full.hi) {
      input = g.op('Clip', [x, g.scalar((lo - zero) * delta, ctx.hint('qmin')), g.scalar((hi - zero) * delta, ctx.hint('qmax'))], {}, ctx.hint('clip'));
    }
    const scale = g.scalar(delta, ctx.hint('scale'));
    const zp = g.constant([zero], [], ctx.hint('zero_point'), type);
    const qx = g.op('QuantizeLinear', [input, scale, zp], {}, ctx.hint('q'));
    return g.op('DequantizeLinear', [qx, scale, zp], {}, ctx.hint('dq'));
  }
  const d = g.scalar(delta, ctx.hint('delta'));
  const z = g.scalar(zero, ctx.hint('zero'));
  const levels = g.op('Add', [g.op('Round', [g.op('Div', [x, d], {}, ctx.hint('scaled'))], {}, ctx.hint('rounded')), z], {}, ctx.hint('shifted'));
  const clamped = g.op('Clip', [levels, g.scalar(lo, ctx.hint('lo')), g.scalar(hi, ctx.hint('hi'))], {}, ctx.hint('clamped'));
  return g.op('Mul', [g.op('Sub', [clamped, z], {}, ctx.hint('centred')), d], {}, ctx.hint('fq'));
}

/**
 * Signed 8-bit storage of a weight's integer levels (from an 8-bit-or-narrower grid) and of its zero points, with
 * the same differences `level − z` (so the DequantizeLinear gives the same values): `level − z` itself with zero
 * points 0 when every difference fits int8 (always below 8 bits, and on grids already symmetric), else `level − 128`
 * with zero points `z − 128` (exact for the full 8-bit unsigned grid). onnxruntime's CPU integer convolutions and
 * matrix products run about twice as fast with int8 weights as with uint8 ones on a VNNI CPU (tools/bench/onnx-qdq.ts);
 * where int8 is not exact, {@link integerWeightType} shifts these levels to uint8. Null when a zero point lies off
 * the unsigned 8-bit range.
 */
function int8Levels(levels: Float32Array, zero: Float32Array, channelOf: (i: number) => number): { levels: Int8Array; zero: Int8Array } | null {
  let centredFits = true;
  for (let i = 0; i < levels.length && centredFits; i++) {
    const d = levels[i] - zero[channelOf(i)];
    centredFits = d >= -128 && d <= 127;
  }
  if (centredFits) return { levels: Int8Array.from(levels, (v, i) => v - zero[channelOf(i)]), zero: new Int8Array(zero.length) };
  if (zero.some((z) => z < 0 || z > 255)) return null;
  return { levels: Int8Array.from(levels, (v) => v - 128), zero: Int8Array.from(zero, (z) => z - 128) };
}

/**
 * The weight of a weight layer as a graph value in ONNX layout, quantized by `q` (per output channel or per
 * tensor, on the tfjs weight's last axis) or FP when `q` is null or disabled. With QDQ export, ≤ 8 bits, a layer
 * type that runs on an integer kernel ({@link WeightExportRule.integerKernel}) and a dequantized input, the
 * integer levels are stored as int8 with a DequantizeLinear (per-channel on the ONNX output-channel axis): levels
 * of an unsigned grid are re-encoded exactly as signed ones (`level − z` with zero point 0 when that fits, else
 * `level − 128` with zero point `z − 128`), which onnxruntime's integer kernels run faster. Where those kernels
 * could saturate on such levels (x86 without VNNI, levels beyond ±64) they are stored as uint8 instead, levels and
 * zero points shifted by 128 ({@link ExportOptions.integerWeights}). The DequantizeLinear equals the tfjs
 * fake-quantized weight exactly; without QDQ the fake-quantized values are stored as floats.
 *
 * @param layer - The layer (its class's weight export rule gives the ONNX layout).
 * @param weight - The FP (or already on-grid) weight in the layer's tfjs layout.
 * @param hint - Value-name hint.
 * @param input - The graph value the layer applies the weight to: unless it is dequantized from integers (a QDQ
 *   activation quantizer), the weight is stored as fake-quantized floats instead of integers.
 */
export function exportLayerWeight(ctx: ExportContext, layer: object, weight: tf.Tensor, q: UniformQuantizer | null, hint = 'weight', input?: string): string {
  const rule = ctx.weightRule(layer);
  const g = ctx.graph;
  if (!q || !q.enabled) {
    const w = rule.onnxWeight(layer, weight);
    return g.constant(w.data, w.dims, ctx.hint(hint));
  }
  if (q.steps != null) throw ctx.error(q, 'per-step weight quantizers have no export');
  const delta = q.delta.dataSync() as Float32Array;
  const zero = q.zero.dataSync() as Float32Array;
  const type = (ctx.options.quantization ?? 'qdq') === 'qdq' ? qdqType(q, zero) : null;
  const fakeQuantized = (): string => {
    const fq = tf.tidy(() => fakeQuantize(weight, q.delta, q.zero, q.levels));
    const w = rule.onnxWeight(layer, fq);
    fq.dispose();
    return g.constant(w.data, w.dims, ctx.hint(hint));
  };
  // Integer weights pay only where onnxruntime fuses them with an integer input; next to a float input its optimizer
  // may instead quantize that input on the fly (measured: a W8A32 export then differed from tfjs by 1e-2 per call),
  // so such a layer keeps its fake-quantized weight in float, which is exact.
  const integerInput = input === undefined || ctx.graph.producer(input) === 'DequantizeLinear';
  if (!type || !integerInput || !rule.integerKernel) return fakeQuantized();
  // The integer levels, computed by tfjs exactly as its fake-quant does (same division and rounding).
  const levels = tf.tidy(() => tf.clipByValue(tf.add(tf.round(tf.div(weight, q.delta)), q.zero), q.levels.lo, q.levels.hi));
  const w = rule.onnxWeight(layer, levels);
  levels.dispose();
  const perChannel = delta.length > 1;
  // The channel of the i-th value in ONNX layout (row-major): its index along the output-channel axis.
  const stride = w.dims.slice(w.channelAxis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number): number => (perChannel ? Math.floor(i / stride) % delta.length : 0);
  const signed = type === 'int8' ? { levels: Int8Array.from(w.data), zero: Int8Array.from(zero) } : int8Levels(w.data, zero, channelOf);
  if (!signed) return fakeQuantized();
  const storage = integerWeightType(signed.levels, ctx.options.integerWeights);
  // uint8 = int8 + 128 for levels and zero points alike: the differences, hence the dequantized values, are the same.
  const encode = (v: Int8Array): Int8Array | Uint8Array => (storage === 'int8' ? v : Uint8Array.from(v, (x) => x + 128));
  const stored = g.constant(encode(signed.levels), w.dims, ctx.hint(`${hint}_q`), storage);
  const dims = perChannel ? [delta.length] : [];
  const scale = g.constant(delta, dims, ctx.hint(`${hint}_scale`));
  const zp = g.constant(encode(signed.zero), dims, ctx.hint(`${hint}_zero_point`), storage);
  return g.op('DequantizeLinear', [stored, scale, zp], perChannel ? { axis: { int: w.channelAxis } } : {}, ctx.hint(`${hint}_dq`));
}

let registered = false;

/** Registers the export rule of core's {@link UniformQuantizer} (as an activation quantizer); idempotent. */
export function registerQuantExportRules(): void {
  if (registered) return;
  registered = true;
  registerExportRule(UniformQuantizer, (q, [x], ctx) => exportActivationQuantizer(ctx, q, x));
}
