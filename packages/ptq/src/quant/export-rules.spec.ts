import * as tf from '@tensorflow/tfjs';
import {
  AnyModule, Conv2d, ExportContext, ExportError, ExportOptions, IntegerWeightMode, Linear, OnnxGraph, OrtSession, UniformQuantizer, WeightLayer, WeightLayerWrapper, channelRange, exportModule,
  Rng, cpuFeatures, exportLayerWeight, initEngine, manualSeed, minmaxParams, registerWeightExportRule, u8s8MaySaturate, withCallContext,
} from '@diffpress/core';
import { UNet, UNetConfig, exportUNetGraph } from '@diffpress/diffusion';
import { onnx } from 'onnx-proto';
import { initWeightQuantizers } from '../common/calibrate';
import { QuantLayer, QuantLayerOptions, QuantScaledDotProductAttention, SplitQuantConv2d } from './layers';
import { registerPtqExportRules } from './export-rules';
import { KEEP_FP_PRESETS, activationQuantizers, quantizeUNet } from './quantize-unet';

beforeAll(async () => {
  await initEngine({ backend: 'wasm', quiet: true });
  registerPtqExportRules();
});

/** Per-output-channel min/max weight ranges (what the ptq calibration starts from). */
function calibrateWeights(q: UniformQuantizer, w: tf.Tensor): void {
  const r = channelRange(w, true);
  q.setParams(minmaxParams(r.min, r.max, q.bits, q.mode));
}

/** Min/max activation ranges from one pass of `run` (each quantizer observes what reaches it). */
function calibrateActivations(quantizers: UniformQuantizer[], run: () => tf.Tensor): void {
  quantizers.forEach((q) => q.beginCalibration());
  run().dispose();
  quantizers.forEach((q) => q.endCalibration());
}

/** A layer's graph input/output layout: feature maps NHWC in tfjs and NCHW in the graph; tokens as they are. */
type Layout = 'map' | 'tokens';

const toGraph = (x: tf.Tensor, layout: Layout): tf.Tensor => (layout === 'map' ? tf.transpose(x, [0, 3, 1, 2]) : x.clone());
const fromGraph = (y: tf.Tensor, layout: Layout): tf.Tensor => (layout === 'map' ? tf.transpose(y, [0, 2, 3, 1]) : y.clone());

/** Exports `m` on inputs shaped like `xs`, runs the graph on onnxruntime and returns its output in tfjs layout. */
function exportAndRun(m: object, xs: tf.Tensor[], layout: Layout, options: ExportOptions = {}): { y: tf.Tensor; graph: OnnxGraph; ctx: ExportContext } {
  const graph = new OnnxGraph('ptq-test');
  const inputs = xs.map((x, i) => {
    const s = toGraph(x, layout);
    const name = graph.input(`x${i}`, s.shape);
    s.dispose();
    return name;
  });
  const ctx = new ExportContext(graph, 'layer', options);
  graph.output(exportModule(m, inputs, ctx), 'y', ['n', 'a', 'b', 'c'].slice(0, xs[0].rank));
  const session = OrtSession.create(graph.encode());
  const feeds = Object.fromEntries(xs.map((x, i) => [`x${i}`, toGraph(x, layout)]));
  const { y: out } = session.run(feeds);
  session.dispose();
  tf.dispose(Object.values(feeds));
  const y = fromGraph(out, layout);
  out.dispose();
  return { y, graph, ctx };
}

/** How an exported output differs from tfjs: the max abs difference and the share of elements off by more than `tol`. */
interface Diff {
  maxAbs: number;
  differing: number;
}

function diff(ref: tf.Tensor, got: tf.Tensor, tol = 1e-5): Diff {
  expect(got.shape).toEqual(ref.shape);
  return tf.tidy(() => {
    const d = tf.abs(tf.sub(ref, got));
    return { maxAbs: tf.max(d).dataSync()[0], differing: tf.mean(tf.cast(tf.greater(d, tol), 'float32')).dataSync()[0] };
  });
}

const fmt = (d: Diff): string => `max |Δ| ${d.maxAbs.toExponential(2)}, ${(100 * d.differing).toFixed(3)} % of elements > 1e-5`;

/** Exact up to float rounding: no element off by more than 1e-5. */
const EXACT = { maxAbs: 1e-5, differing: 0 };

/**
 * Checks both export modes against the tfjs forward `ref` within `bound` (max abs difference, share of elements off
 * by more than 1e-5), logs the measured differences and returns the QDQ graph.
 */
function checkModes(name: string, m: object, xs: tf.Tensor[], layout: Layout, ref: tf.Tensor, bound = EXACT, options: ExportOptions = {}): OnnxGraph {
  const float = exportAndRun(m, xs, layout, { ...options, quantization: 'float' });
  const qdq = exportAndRun(m, xs, layout, { ...options, quantization: 'qdq' });
  const df = diff(ref, float.y);
  const dq = diff(ref, qdq.y);
  console.log(`${name}: float ${fmt(df)}; qdq ${fmt(dq)}`);
  const within = (d: Diff): boolean => d.maxAbs <= bound.maxAbs && d.differing <= bound.differing;
  expect({ name, float: within(df), qdq: within(dq) }).toEqual({ name, float: true, qdq: true });
  expect(float.graph.opCounts().QuantizeLinear ?? 0).toBe(0);
  expect(float.graph.opCounts().DequantizeLinear ?? 0).toBe(0);
  tf.dispose([float.y, qdq.y]);
  return qdq.graph;
}

function quantConv(options: QuantLayerOptions, seed: number): { layer: QuantLayer; conv: Conv2d; x: tf.Tensor } {
  manualSeed(seed);
  const conv = new Conv2d(6, 8, 3);
  const layer = new QuantLayer(conv, options);
  layer.eval();
  if (layer.weightQuant) calibrateWeights(layer.weightQuant, conv.weight);
  const x = tf.randomNormal([2, 7, 7, 6], 0.3, 1, 'float32', seed);
  calibrateActivations(layer.inputQuantizers(), () => layer.forward(x));
  return { layer, conv, x };
}

describe('ONNX export of QuantLayer', () => {
  it('W8A8 and W4A8 (asymmetric) convs equal tfjs in both modes (QDQ rounds half to even, as tfjs)', () => {
    for (const [weightBits, activationBits] of [[8, 8], [4, 8]]) {
      const { layer, x: calibration } = quantConv({ weightBits, activationBits }, weightBits);
      // A wider batch than the calibration one, so that inputs are also clamped at both ends of the grid.
      const x = tf.mul(calibration, 1.5);
      const ref = layer.forward(x);
      const g = checkModes(`conv W${weightBits}A${activationBits}`, layer, [x], 'map', ref);
      // One QDQ pair for the input; the kernel is stored as fake-quantized floats (no integer conv without an
      // output quantizer in onnxruntime, see core's Conv2d weight rule).
      expect(g.opCounts()).toMatchObject({ QuantizeLinear: 1, DequantizeLinear: 1, Conv: 1 });
      tf.dispose([calibration, x, ref]);
      layer.dispose();
    }
  });

  it('a W8A8 linear layer on tokens equals tfjs', () => {
    manualSeed(11);
    const lin = new Linear(12, 5);
    const layer = new QuantLayer(lin, { weightBits: 8, activationBits: 8 });
    layer.eval();
    calibrateWeights(layer.weightQuant as UniformQuantizer, lin.weight);
    const x = tf.randomNormal([2, 9, 12], 0, 1, 'float32', 12);
    calibrateActivations(layer.inputQuantizers(), () => layer.forward(x));
    const ref = layer.forward(x);
    const g = checkModes('linear W8A8', layer, [x], 'tokens', ref);
    expect(g.opCounts()).toMatchObject({ QuantizeLinear: 1, DequantizeLinear: 2, MatMul: 1 });
    tf.dispose([x, ref]);
    layer.dispose();
  });

  it('an all-FP QuantLayer (32 bits) exports as the plain layer', () => {
    const { layer, conv, x } = quantConv({ weightBits: 32, activationBits: 32 }, 13);
    const plain = exportAndRun(conv, [x], 'map');
    const wrapped = exportAndRun(layer, [x], 'map');
    expect(wrapped.graph.opCounts()).toEqual(plain.graph.opCounts());
    expect(diff(plain.y, wrapped.y).maxAbs).toBe(0);
    tf.dispose([x, plain.y, wrapped.y]);
    layer.dispose();
  });

  it('writes the FP weight when weight quantization is off or the quantizer disabled', () => {
    const { layer, x } = quantConv({ weightBits: 4, activationBits: 8 }, 14);
    for (const off of ['quantizeWeights', 'disabled'] as const) {
      if (off === 'quantizeWeights') layer.quantizeWeights = false;
      else (layer.weightQuant as UniformQuantizer).enabled = false;
      const ref = layer.forward(x);
      const g = checkModes(`conv A8, FP weight (${off})`, layer, [x], 'map', ref);
      expect(g.opCounts()).toMatchObject({ QuantizeLinear: 1, DequantizeLinear: 1 });
      layer.quantizeWeights = true;
      (layer.weightQuant as UniformQuantizer).enabled = true;
      ref.dispose();
    }
    tf.dispose(x);
    layer.dispose();
  });

  it('refuses a layer in the middle of AdaRound, and exports the hardened weight (or the kept FP one) after it', () => {
    const { layer, x } = quantConv({ weightBits: 4, activationBits: 8 }, 15);
    layer.beginAdaRound();
    const g = new OnnxGraph('adaround');
    expect(() => exportModule(layer, [g.input('x', [2, 6, 7, 7])], new ExportContext(g, 'down.0.res.0.conv1'))).toThrow(ExportError);
    expect(() => exportModule(layer, [g.input('x2', [2, 6, 7, 7])], new ExportContext(g, 'down.0.res.0.conv1'))).toThrow(/'down\.0\.res\.0\.conv1' \(QuantLayer\): AdaRound is in progress/);
    layer.endAdaRound();
    const hard = layer.forward(x);
    checkModes('conv W4A8 after AdaRound', layer, [x], 'map', hard);
    layer.quantizeWeights = false;
    const fp = layer.forward(x);
    const { y } = exportAndRun(layer, [x], 'map', { quantization: 'float' });
    expect(diff(fp, y).maxAbs).toBeLessThanOrEqual(1e-5);
    expect(diff(hard, fp).maxAbs).toBeGreaterThan(1e-3);
    tf.dispose([x, hard, fp, y]);
    layer.dispose();
  });

  it('writes a per-step (TFMQ-DM) input quantizer with the step of the export', () => {
    manualSeed(16);
    const steps = { modelTimes: [900, 500, 100], label: 'ddim-3' };
    const conv = new Conv2d(4, 4, 3);
    const layer = new QuantLayer(conv, { weightBits: 8, activationBits: 8, activationSteps: steps });
    layer.eval();
    calibrateWeights(layer.weightQuant as UniformQuantizer, conv.weight);
    // Each step sees inputs of its own scale, so the three parameter sets differ.
    const xs = [0, 1, 2].map((s) => tf.randomNormal([2, 5, 5, 4], 0, 0.5 + s, 'float32', 20 + s));
    xs.forEach((x, s) => calibrateActivations(layer.inputQuantizers(), () => withCallContext({ stepIndices: [s, s] }, () => layer.forward(x))));
    const deltas = (layer.inputQuant as UniformQuantizer).delta.dataSync();
    expect(new Set(deltas).size).toBe(3);
    for (const step of [0, 2]) {
      const ref = withCallContext({ stepIndices: [step, step] }, () => layer.forward(xs[step]));
      checkModes(`conv W8A8 per-step, step ${step}`, layer, [xs[step]], 'map', ref, EXACT, { step });
      const { ctx, y } = exportAndRun(layer, [xs[step]], 'map', { step });
      expect(ctx.stepDependent).toBe(true);
      tf.dispose([ref, y]);
    }
    const g = new OnnxGraph('no-step');
    expect(() => exportModule(layer, [g.input('x', [2, 4, 5, 5])], new ExportContext(g, 'time.linear2'))).toThrow(/give the export a step/);
    tf.dispose(xs);
    layer.dispose();
  });

  it('exports a wrapped layer of another method through the wrapper’s own weight rule', () => {
    /** A method's wrapper that doubles its conv's output. */
    class Doubled extends WeightLayerWrapper {
      forwardWith(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
        return tf.tidy(() => tf.mul(this.inner.forwardWith(x, w), 2));
      }

      protected rewrap(inner: WeightLayer & AnyModule): Doubled {
        return new Doubled(inner);
      }
    }
    registerWeightExportRule(Doubled, {
      onnxWeight: (m, w) => new ExportContext(new OnnxGraph('probe')).weightRule(m.inner).onnxWeight(m.inner, w),
      forwardWith: (m, x, w, ctx) => {
        const inner = ctx.at('inner');
        const y = inner.weightRule(m.inner).forwardWith(m.inner, x, w, inner);
        return ctx.graph.op('Mul', [y, ctx.graph.scalar(2, ctx.hint('two'))], {}, ctx.hint('doubled'));
      },
    });
    manualSeed(17);
    const wrapper = new Doubled(new Conv2d(5, 3, 3));
    const layer = new QuantLayer(wrapper, { weightBits: 8, activationBits: 8 });
    layer.eval();
    calibrateWeights(layer.weightQuant as UniformQuantizer, wrapper.weight);
    const x = tf.randomNormal([2, 6, 6, 5], 0, 1, 'float32', 17);
    calibrateActivations(layer.inputQuantizers(), () => layer.forward(x));
    const ref = layer.forward(x);
    const g = checkModes('wrapped conv W8A8', layer, [x], 'map', ref);
    expect(g.opCounts()).toMatchObject({ QuantizeLinear: 1, DequantizeLinear: 1, Conv: 1, Mul: 1 });
    tf.dispose([x, ref]);
    layer.dispose();
  });
});

describe('ONNX export of SplitQuantConv2d', () => {
  it('splits the NCHW input on the channel axis, quantizes each half and its kernel half, and equals tfjs', () => {
    for (const [weightBits, activationBits] of [[8, 8], [4, 8]]) {
      manualSeed(30 + weightBits);
      const conv = new Conv2d(10, 6, 1);
      const split = new SplitQuantConv2d(conv, 4, { weightBits, activationBits });
      split.eval();
      const [w1, w2] = split.weightHalves();
      calibrateWeights(split.weightQuant1 as UniformQuantizer, w1);
      calibrateWeights(split.weightQuant2 as UniformQuantizer, w2);
      // The deep half and the skip half have very different ranges, as in a decoder block.
      const x = tf.tidy(() => tf.concat([tf.randomNormal([2, 6, 6, 4], 0, 4, 'float32', 31), tf.randomNormal([2, 6, 6, 6], 0.2, 0.3, 'float32', 32)], 3));
      calibrateActivations(split.inputQuantizers(), () => split.forward(x));
      const ref = split.forward(x);
      const g = checkModes(`split shortcut W${weightBits}A${activationBits}`, split, [x], 'map', ref);
      // Two input QDQ pairs; the conv's input is their concatenation, not a dequantized value, so the kernel halves
      // are fake-quantized floats (concatenated), not integers.
      expect(g.opCounts()).toMatchObject({ Split: 1, Concat: 2, QuantizeLinear: 2, DequantizeLinear: 2, Conv: 1 });
      tf.dispose([w1, w2, x, ref]);
      split.dispose();
    }
  });

  it('refuses a split shortcut in the middle of AdaRound', () => {
    manualSeed(35);
    const split = new SplitQuantConv2d(new Conv2d(4, 2, 1), 2, { weightBits: 4, activationBits: 8 });
    split.eval();
    split.weightQuantizers().forEach((q) => q.setParams({ delta: new Float32Array(2).fill(0.05), zero: new Float32Array(2).fill(8) }));
    split.beginAdaRound();
    const g = new OnnxGraph('adaround');
    expect(() => exportModule(split, [g.input('x', [1, 4, 3, 3])], new ExportContext(g, 'up.0.res.0.shortcut'))).toThrow(/'up\.0\.res\.0\.shortcut' \(SplitQuantConv2d\): AdaRound is in progress/);
    split.endAdaRound();
    split.dispose();
  });
});

describe('ONNX export of QuantScaledDotProductAttention', () => {
  it('quantizes q, k, v and the softmax output (8-bit QDQ; a 16-bit softmax as float emulation; 32 bits: FP softmax), up to softmax rounding ties', () => {
    for (const softmaxBits of [8, 16, 32]) {
      const attn = new QuantScaledDotProductAttention(8, softmaxBits);
      attn.eval();
      const [q, k, v] = [1, 2, 3].map((s) => tf.randomNormal([2, 2, 16, 8], 0, 1, 'float32', 40 + s));
      calibrateActivations(attn.quantizers(), () => attn.forward(q, k, v));
      const ref = attn.forward(q, k, v);
      // onnxruntime's softmax differs from tfjs's by up to a few 1e-7 (relative) in most elements, so a probability
      // next to a rounding tie of the softmax grid may land one level Δ_p apart, which moves an output by at most
      // Δ_p·max|v̂| (about 1.5e-5·max|v̂| on a 16-bit grid); everything else agrees to float rounding.
      const deltaP = attn.softmaxQuant ? attn.softmaxQuant.delta.dataSync()[0] : 0;
      expect(attn.quantizers()).toHaveLength(softmaxBits === 32 ? 3 : 4);
      const maxV = tf.tidy(() => tf.max(tf.abs(attn.valueQuant.forward(v))).dataSync()[0]);
      const g = checkModes(`attention A8, softmax ${softmaxBits} bits`, attn, [q, k, v], 'tokens', ref, { maxAbs: 1e-5 + 2 * deltaP * maxV, differing: 0.01 });
      expect(g.opCounts()).toMatchObject({ QuantizeLinear: softmaxBits === 8 ? 4 : 3, DequantizeLinear: softmaxBits === 8 ? 4 : 3, Softmax: 1, MatMul: 2 });
      expect(g.opCounts().Round ?? 0).toBe(softmaxBits === 16 ? 1 : 0);
      tf.dispose([q, k, v, ref]);
    }
  });
});

describe('weights of asymmetric grids (core exportLayerWeight)', () => {
  /**
   * Exports `q(linear.weight)` (int8 storage unless told otherwise); returns the stored levels' and zero points'
   * element types, the zero points, and the value's max |Δ| from the tfjs fake-quantized weight.
   */
  function exportWeight(linear: Linear, q: UniformQuantizer, integerWeights: IntegerWeightMode = 'int8'): { types: string[]; zeroPoints: number[]; maxAbs: number } {
    const g = new OnnxGraph('weight');
    const w = exportLayerWeight(new ExportContext(g, 'linear', { integerWeights }), linear, linear.weight, q);
    g.output(w, 'w', [...linear.weight.shape]);
    const bytes = g.encode();
    const inits = onnx.ModelProto.decode(bytes).graph?.initializer ?? [];
    const byName = (suffix: string): onnx.ITensorProto => inits.find((t) => t.name?.endsWith(suffix)) as onnx.ITensorProto;
    const types = ['weight_q', 'weight_zero_point'].map((n) => onnx.TensorProto.DataType[byName(n).dataType as number]);
    const raw = byName('weight_zero_point').rawData as Uint8Array;
    const zeroPoints = Array.from(types[1] === 'INT8' ? new Int8Array(raw.buffer, raw.byteOffset, raw.byteLength) : raw);
    const s = OrtSession.create(bytes);
    const { w: got } = s.run({});
    s.dispose();
    const ref = q.forward(linear.weight);
    const maxAbs = diff(ref, got).maxAbs;
    tf.dispose([got, ref]);
    return { types, zeroPoints, maxAbs };
  }

  it('stores the levels as int8 with the same level − z: centred (zero point 0) when that fits, else shifted by 128', () => {
    manualSeed(50);
    // A linear layer: its weight rule runs on an integer kernel, so quantized weights are stored as integers.
    const linear = new Linear(72, 6);
    for (const bits of [8, 4]) {
      const q = new UniformQuantizer({ bits, mode: 'asymmetric', channels: 6 });
      calibrateWeights(q, linear.weight);
      const zero = Array.from(q.zero.dataSync());
      const got = exportWeight(linear, q);
      expect(got.types).toEqual(['INT8', 'INT8']);
      expect(got.maxAbs).toBe(0);
      // 4 bits: level − z in −15…15 always fits; 8 bits with min/max ranges: the levels span 0…255 around z ≠ 128.
      expect(got.zeroPoints).toEqual(bits === 4 ? zero.map(() => 0) : zero.map((z) => z - 128));
    }
    // An 8-bit grid whose levels stay within z − 128 … z + 127 in every channel is stored centred.
    const q = new UniformQuantizer({ bits: 8, mode: 'asymmetric', channels: 6 });
    const r = channelRange(linear.weight, true);
    const delta = Float32Array.from(r.min, (lo, c) => (1.01 * Math.max(-lo, r.max[c])) / 127);
    q.setParams({ delta, zero: new Float32Array(6).fill(128) });
    const got = exportWeight(linear, q);
    expect(got).toEqual({ types: ['INT8', 'INT8'], zeroPoints: new Array(6).fill(0), maxAbs: 0 });
    linear.dispose();
  });

  it('uint8 storage shifts levels and zero points by 128 (same values); auto picks it only for wide levels on a CPU that may saturate', () => {
    manualSeed(51);
    const linear = new Linear(72, 6);
    for (const bits of [8, 4]) {
      const q = new UniformQuantizer({ bits, mode: 'asymmetric', channels: 6 });
      calibrateWeights(q, linear.weight);
      const zero = Array.from(q.zero.dataSync());
      const asInt8 = exportWeight(linear, q, 'int8');
      const asUint8 = exportWeight(linear, q, 'uint8');
      expect(asUint8.types).toEqual(['UINT8', 'UINT8']);
      expect(asUint8.maxAbs).toBe(0);
      expect(asUint8.zeroPoints).toEqual(asInt8.zeroPoints.map((z) => z + 128));
      // 8 bits: the shifted grid (level − 128) reaches ±128, beyond the saturation-free ±64; 4 bits: centred, ±15.
      expect(asUint8.zeroPoints).toEqual(bits === 8 ? zero : zero.map(() => 128));
      const auto = exportWeight(linear, q, 'auto');
      expect(auto.types[0]).toBe(bits === 8 && u8s8MaySaturate(cpuFeatures()) ? 'UINT8' : 'INT8');
      expect(auto.maxAbs).toBe(0);
    }
    linear.dispose();
  });
});

describe('ONNX export of a quantized UNet', () => {
  it('a W8A8 quantizeUNet copy (split shortcuts, 8-bit attention) exports whole and equals its tfjs forward', () => {
    const config: UNetConfig = { inChannels: 2, outChannels: 2, imageSize: 8, baseChannels: 8, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [4], heads: 2, groups: 4 };
    const parent = new UNet(config, { rng: new Rng(60, 'ptq-export-unet') });
    parent.eval();
    const q = quantizeUNet(parent, { weightBits: 8, activationBits: 8, softmaxBits: 8, split: true, keepFp: KEEP_FP_PRESETS.none });
    expect(q.layers.some(([, l]) => l instanceof SplitQuantConv2d)).toBe(true);
    expect(q.attentions.length).toBeGreaterThan(0);
    q.unet.eval();
    initWeightQuantizers(q, 'minmax');
    // Activation ranges from two random batches at random times (min/max over both).
    const quantizers = activationQuantizers(q);
    quantizers.forEach((a) => a.beginCalibration());
    for (const seed of [61, 62]) {
      const xc = tf.randomNormal([4, 8, 8, 2], 0, 1, 'float32', seed);
      const tc = tf.tensor1d([999, 700, 300, 10].map((t) => (t + seed) % 1000));
      tf.dispose([xc, tc, q.unet.forward(xc, tc)]);
    }
    quantizers.forEach((a) => a.endCalibration());
    const x = tf.randomNormal([3, 8, 8, 2], 0, 1, 'float32', 63);
    const t = tf.tensor1d([999, 500, 3]);
    const ref = q.unet.forward(x, t);
    const scale = tf.tidy(() => tf.max(tf.abs(ref)).dataSync()[0]);
    // The quantized network does differ from its FP parent (the comparison below is not of two FP networks).
    const fp = parent.forward(x, t);
    const quantizationError = diff(fp, ref).maxAbs;
    expect(quantizationError).toBeGreaterThan(1e-3);
    fp.dispose();
    const results: Record<string, Diff> = {};
    for (const quantization of ['float', 'qdq'] as const) {
      const { graph } = exportUNetGraph(q.unet, 'forward', { quantization });
      const counts = graph.opCounts();
      if (quantization === 'qdq') expect(counts.QuantizeLinear).toBe(activationQuantizers(q).length);
      else expect(counts.QuantizeLinear ?? 0).toBe(0);
      const session = OrtSession.create(graph.encode());
      const { out } = session.run({ x, t });
      session.dispose();
      results[quantization] = diff(ref, out);
      out.dispose();
    }
    const rel = (d: Diff): string => `max |Δ| ${d.maxAbs.toExponential(2)} (${(d.maxAbs / scale).toExponential(2)} of max |out|), ${(100 * d.differing).toFixed(2)} % of elements > 1e-5`;
    console.log(`quantized UNet W8A8 forward on onnxruntime: float ${rel(results.float)}; qdq ${rel(results.qdq)} (W8A8 vs FP in tfjs: ${quantizationError.toExponential(2)})`);
    expect(results.float.maxAbs).toBeLessThanOrEqual(1e-4);
    expect(results.qdq.maxAbs).toBeLessThanOrEqual(1e-4);
    tf.dispose([x, t, ref]);
    q.unet.dispose();
    parent.dispose();
  });
});
