import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend';
import { Identity, SiLU } from '../nn/layers/activations';
import { SelfAttention } from '../nn/layers/attention';
import { Conv2d } from '../nn/layers/conv2d';
import { GroupNorm } from '../nn/layers/group-norm';
import { Linear } from '../nn/layers/linear';
import { Downsample, Upsample } from '../nn/layers/resample';
import { Sequential } from '../nn/layers/sequential';
import { Module } from '../nn/module';
import { UniformQuantizer } from '../quant/uniform-quantizer';
import { Rng } from '../random/seeded';
import { ExportContext, ExportError, exportModule } from './export-rules';
import { exportLayerWeight } from './quant-rules';
import { OnnxGraph } from './onnx-graph';
import { OrtSession, onnxRuntimeStatus } from './ort-session';
import '../index';

beforeAll(async () => {
  await initEngine({ backend: 'wasm', quiet: true });
});

const toNchw = (x: tf.Tensor): tf.Tensor => tf.transpose(x, [0, 3, 1, 2]);

/** Exports `m` on an NCHW input of `shape` (NHWC), runs it on ORT and returns the NHWC result. */
function runOnOrt(m: object, x: tf.Tensor, options: ConstructorParameters<typeof ExportContext>[2] = {}): tf.Tensor {
  const g = new OnnxGraph('test');
  const [, h, w, c] = x.shape;
  const input = g.input('x', ['n', c, h, w]);
  const y = exportModule(m, [input], new ExportContext(g, '', options));
  g.output(y, 'y', ['n', 'c', 'h', 'w']);
  const s = OrtSession.create(g.encode());
  const xn = toNchw(x);
  const { y: out } = s.run({ x: xn });
  s.dispose();
  xn.dispose();
  const nhwc = tf.transpose(out, [0, 2, 3, 1]);
  out.dispose();
  return nhwc;
}

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('ONNX export of core layers', () => {
  it('has onnxruntime-node here', () => {
    expect(onnxRuntimeStatus()).toMatchObject({ available: true, version: '1.30.0' });
  });

  it('matches tfjs for convs (same/valid/stride 2, odd and even sizes), norms, attention and resampling', () => {
    const rng = new Rng(1, 'export');
    const cases: Array<[string, Module, number[]]> = [
      ['conv same', new Conv2d(3, 5, 3, { rng }), [2, 6, 6, 3]],
      ['conv stride 2 even', new Conv2d(3, 4, 3, { stride: 2, rng }), [2, 8, 8, 3]],
      ['conv stride 2 odd', new Conv2d(3, 4, 3, { stride: 2, rng }), [1, 7, 7, 3]],
      ['conv valid 1x1 no bias', new Conv2d(4, 2, 1, { padding: 'valid', bias: false, rng }), [2, 5, 5, 4]],
      ['group norm', new GroupNorm(2, 4, { eps: 1e-6 }), [2, 5, 5, 4]],
      ['attention, 2 heads', new SelfAttention(8, { heads: 2, groups: 4, rng }), [2, 4, 4, 8]],
      ['upsample + conv', new Upsample(3, { rng }), [2, 3, 5, 3]],
      ['downsample conv', new Downsample(3, { rng }), [2, 6, 6, 3]],
      ['downsample avgpool', new Downsample(3, { mode: 'avgpool' }), [2, 6, 6, 3]],
      ['sequential', new Sequential(new GroupNorm(1, 3), new SiLU(), new Identity(), new Conv2d(3, 3, 3, { rng })), [2, 4, 4, 3]],
    ];
    for (const [name, m, shape] of cases) {
      m.eval();
      if (m instanceof GroupNorm) {
        tf.tidy(() => {
          m.gamma?.assign(tf.randomNormal([4], 1, 0.3, 'float32', 3));
          m.beta?.assign(tf.randomNormal([4], 0, 0.3, 'float32', 4));
        });
      }
      const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
      const ref = (m as Module<[tf.Tensor], tf.Tensor>).forward(x);
      const got = runOnOrt(m, x);
      expect({ name, shape: got.shape }).toEqual({ name, shape: ref.shape });
      expect({ name, diff: maxAbs(ref, got) < 1e-5 }).toEqual({ name, diff: true });
      tf.dispose([x, ref, got]);
      m.dispose();
    }
  });

  it('exports a linear layer on tokens', () => {
    const m = new Linear(4, 3, { rng: new Rng(2, 'lin') });
    m.eval();
    const g = new OnnxGraph('linear');
    const x = g.input('x', ['n', 4]);
    g.output(exportModule(m, [x], new ExportContext(g)), 'y', ['n', 3]);
    const s = OrtSession.create(g.encode());
    const xi = tf.randomNormal([5, 4], 0, 1, 'float32', 1);
    const { y } = s.run({ x: xi });
    const ref = m.forward(xi);
    expect(maxAbs(ref, y)).toBeLessThan(1e-6);
    s.dispose();
    tf.dispose([xi, y, ref]);
    m.dispose();
  });

  it('names the path and class of a layer without a rule', () => {
    class Custom extends Module {
      forward(x: tf.Tensor): tf.Tensor {
        return x;
      }
    }
    const seq = new Sequential(new SiLU(), new Custom());
    seq.eval();
    const g = new OnnxGraph('bad');
    expect(() => exportModule(seq, [g.input('x', [1])], new ExportContext(g, 'blocks'))).toThrow(new ExportError('blocks.1', 'Custom', 'no ONNX export rule for this layer type (its package registers one with registerExportRule)'));
    seq.train();
    expect(() => exportModule(seq, [g.input('y', [1])], new ExportContext(g))).toThrow(/training mode/);
  });
});

describe('ONNX export of quantizers', () => {
  function quantizer(bits: number, mode: 'asymmetric' | 'symmetric' | 'unsigned', delta: number, zero: number): UniformQuantizer {
    const q = new UniformQuantizer({ bits, mode });
    q.setParams({ delta: Float32Array.of(delta), zero: Float32Array.of(zero) });
    q.eval();
    return q;
  }

  it('writes an 8-bit activation quantizer as one QDQ pair equal to the tfjs fake-quant (ties included: both round half to even)', () => {
    const q = quantizer(8, 'asymmetric', 0.05, 100);
    // Values on exact ties (k + 0.5)·Δ and beyond both ends of the grid.
    const x = tf.tensor4d([0.025, 0.075, -0.125, 3, 20, -20, 0.3333, -4.9], [1, 2, 2, 2]);
    const ref = q.forward(x);
    const g = new OnnxGraph('q8');
    const input = g.input('x', [1, 2, 2, 2]);
    g.output(exportModule(q, [input], new ExportContext(g)), 'y', [1, 2, 2, 2]);
    expect(g.opCounts()).toEqual({ QuantizeLinear: 1, DequantizeLinear: 1, Identity: 1 });
    const s = OrtSession.create(g.encode());
    const { y } = s.run({ x });
    expect(Array.from(y.dataSync())).toEqual(Array.from(ref.dataSync()));
    s.dispose();
    tf.dispose([x, ref, y]);
  });

  it('clips a 4-bit grid before the 8-bit QuantizeLinear, and float mode computes the same arithmetic', () => {
    for (const [mode, zero] of [['asymmetric', 3], ['symmetric', 0], ['unsigned', 0]] as const) {
      const q = quantizer(4, mode, 0.1, zero);
      const x = tf.tensor4d(Array.from({ length: 32 }, (_, i) => (i - 16) * 0.137), [1, 2, 4, 4]);
      const ref = q.forward(x);
      for (const quantization of ['qdq', 'float'] as const) {
        const got = runOnOrt(q, x, { quantization });
        expect({ mode, quantization, diff: maxAbs(ref, got) }).toEqual({ mode, quantization, diff: 0 });
        got.dispose();
      }
      tf.dispose([x, ref]);
    }
  });

  it('needs a step for a per-step quantizer and writes that step’s parameters', () => {
    const q = new UniformQuantizer({ bits: 8, perStep: { modelTimes: [900, 500], label: 'ddim-2' } });
    q.setParams({ delta: Float32Array.of(0.1), zero: Float32Array.of(10) }, 0);
    q.setParams({ delta: Float32Array.of(0.02), zero: Float32Array.of(128) }, 1);
    q.eval();
    const g = new OnnxGraph('step');
    expect(() => exportModule(q, [g.input('x', [2])], new ExportContext(g))).toThrow(/give the export a step/);
    // Step 1's grid is [−2.56, 2.54] in steps of 0.02 (1.01 is a tie, 50.5 → 50); step 0's is [−1, 24.5] in 0.1.
    const x = tf.tensor4d([3, -1.5, 1.01, 0.013], [1, 1, 2, 2]);
    const step1 = runOnOrt(q, x, { step: 1 });
    const step0 = runOnOrt(q, x, { step: 0 });
    const close = (a: tf.Tensor, b: number[]): void => Array.from(a.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(b[i], 6));
    close(step1, [2.54, -1.5, 1.0, 0.02]);
    close(step0, [3.0, -1.0, 1.0, 0.0]);
    tf.dispose([x, step1, step0]);
  });

  it('stores per-channel linear weights as integers with a DequantizeLinear equal to the fake-quantized weight', () => {
    const linear = new Linear(5, 4, { rng: new Rng(5, 'w') });
    linear.eval();
    const q = new UniformQuantizer({ bits: 4, mode: 'asymmetric', channels: 4 });
    q.beginCalibration();
    q.forward(linear.weight).dispose();
    q.endCalibration();
    const g = new OnnxGraph('w');
    const w = exportLayerWeight(new ExportContext(g, 'linear'), linear, linear.weight, q);
    g.output(w, 'w', [5, 4]);
    expect(g.opCounts()).toEqual({ DequantizeLinear: 1, Identity: 1 });
    const s = OrtSession.create(g.encode());
    const { w: got } = s.run({});
    const ref = q.forward(linear.weight);
    expect(maxAbs(ref, got)).toBe(0);
    s.dispose();
    tf.dispose([got, ref]);
    // Next to a float input (no QDQ activation quantizer) the same weight is stored as fake-quantized floats.
    const g2 = new OnnxGraph('w-float-input');
    const x = g2.input('x', ['n', 5]);
    g2.output(exportLayerWeight(new ExportContext(g2, 'linear'), linear, linear.weight, q, 'weight', x), 'w', [5, 4]);
    expect(g2.opCounts()).toEqual({ Identity: 1 });
    // A conv kernel is stored as fake-quantized floats: no integer conv kernel takes it without an output quantizer.
    const conv = new Conv2d(3, 4, 3, { rng: new Rng(6, 'w') });
    conv.eval();
    const qc = new UniformQuantizer({ bits: 4, mode: 'asymmetric', channels: 4 });
    qc.beginCalibration();
    qc.forward(conv.weight).dispose();
    qc.endCalibration();
    const g3 = new OnnxGraph('conv-w');
    g3.output(exportLayerWeight(new ExportContext(g3, 'conv'), conv, conv.weight, qc), 'w', [4, 3, 3, 3]);
    expect(g3.opCounts()).toEqual({ Identity: 1 });
    const s3 = OrtSession.create(g3.encode());
    const { w: gotConv } = s3.run({});
    const refConv = tf.tidy(() => tf.transpose(qc.forward(conv.weight), [3, 2, 0, 1]));
    expect(maxAbs(refConv, gotConv)).toBe(0);
    s3.dispose();
    tf.dispose([gotConv, refConv]);
  });
});
