import * as tf from '@tensorflow/tfjs';
import { Conv2d, Linear, ScaledDotProductAttention, UniformQuantizer, channelRange, initEngine, manualSeed, minmaxParams } from '@diffpress/core';
import { QuantLayer, QuantScaledDotProductAttention, SplitQuantConv2d } from './layers';

function calibrateWeights(q: UniformQuantizer, w: tf.Tensor): void {
  const r = channelRange(w, true);
  q.setParams(minmaxParams(r.min, r.max, q.bits, q.mode));
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('quantized layers', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

  it('QuantLayer runs the layer on Q(x) with Q(W), and the FP layer when switched off', () => {
    manualSeed(1);
    const conv = new Conv2d(3, 4, 3);
    const layer = new QuantLayer(conv, { weightBits: 4, activationBits: 8 });
    calibrateWeights(layer.weightQuant as UniformQuantizer, conv.weight);
    const input = layer.inputQuant as UniformQuantizer;
    input.setParams({ delta: Float32Array.of(0.05), zero: Float32Array.of(128) });
    const x = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 3);
    const y = layer.forward(x);
    const ref = tf.tidy(() => conv.forwardWith(input.forward(x), (layer.weightQuant as UniformQuantizer).forward(conv.weight)));
    expect(maxAbsDiff(y, ref)).toBe(0);
    layer.quantizeWeights = false;
    input.enabled = false;
    const fp = layer.forward(x);
    expect(maxAbsDiff(fp, conv.forward(x))).toBe(0);
    expect(maxAbsDiff(fp, y)).toBeGreaterThan(0);
    expect([...layer.stateDict().keys()].sort()).toEqual(['inputQuant.delta', 'inputQuant.zero', 'layer.bias', 'layer.weight', 'weightQuant.delta', 'weightQuant.zero']);
    tf.dispose([x, y, ref, fp]);
    layer.dispose();
  });

  it('a split shortcut equals the unsplit layer when both halves share its parameters', () => {
    manualSeed(2);
    const conv = new Conv2d(6, 4, 1);
    const unsplit = new QuantLayer(conv, { weightBits: 3, activationBits: 6 });
    calibrateWeights(unsplit.weightQuant as UniformQuantizer, conv.weight);
    const act = { delta: Float32Array.of(0.1), zero: Float32Array.of(20) };
    (unsplit.inputQuant as UniformQuantizer).setParams(act);
    const split = new SplitQuantConv2d(conv, 4, { weightBits: 3, activationBits: 6 });
    const wParams = { delta: (unsplit.weightQuant as UniformQuantizer).delta.dataSync() as Float32Array, zero: (unsplit.weightQuant as UniformQuantizer).zero.dataSync() as Float32Array };
    split.weightQuantizers().forEach((q) => q.setParams(wParams));
    split.inputQuantizers().forEach((q) => q.setParams(act));
    const x = tf.randomNormal([2, 3, 3, 6], 0, 1, 'float32', 4);
    const a = unsplit.forward(x);
    const b = split.forward(x);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    tf.dispose([x, a, b]);
    unsplit.dispose();
  });

  it('a split shortcut computes Q(X1)Q(W1) + Q(X2)Q(W2) + b with separate parameters per half', () => {
    manualSeed(3);
    const conv = new Conv2d(6, 4, 1);
    const split = new SplitQuantConv2d(conv, 2, { weightBits: 4, activationBits: 8 });
    const [w1, w2] = split.weightHalves();
    calibrateWeights(split.weightQuant1 as UniformQuantizer, w1);
    calibrateWeights(split.weightQuant2 as UniformQuantizer, w2);
    (split.inputQuant1 as UniformQuantizer).setParams({ delta: Float32Array.of(0.2), zero: Float32Array.of(100) });
    (split.inputQuant2 as UniformQuantizer).setParams({ delta: Float32Array.of(0.01), zero: Float32Array.of(128) });
    const x = tf.randomNormal([1, 2, 2, 6], 0, 1, 'float32', 5);
    const y = split.forward(x);
    const ref = tf.tidy(() => {
      const [x1, x2] = tf.split(x, [2, 4], 3);
      const conv1x1 = (a: tf.Tensor, w: tf.Tensor): tf.Tensor => tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
      const p1 = conv1x1((split.inputQuant1 as UniformQuantizer).forward(x1), (split.weightQuant1 as UniformQuantizer).forward(w1));
      const p2 = conv1x1((split.inputQuant2 as UniformQuantizer).forward(x2), (split.weightQuant2 as UniformQuantizer).forward(w2));
      return tf.add(tf.add(p1, p2), conv.bias as tf.Tensor);
    });
    expect(maxAbsDiff(y, ref)).toBeLessThan(1e-5);
    tf.dispose([w1, w2, x, y, ref]);
    split.dispose();
  });

  it('AdaRound inside a layer: the hard-rounded weights are written back on the grid', () => {
    manualSeed(4);
    const lin = new Linear(5, 3);
    const layer = new QuantLayer(lin, { weightBits: 2, activationBits: 32 });
    const q = layer.weightQuant as UniformQuantizer;
    calibrateWeights(q, lin.weight);
    const fp = lin.weight.clone();
    const rtn = q.forward(lin.weight);
    const [a] = layer.beginAdaRound();
    expect(a.alpha.shape).toEqual([5, 3]);
    layer.endAdaRound();
    // Untrained α: the written-back weights are round-to-nearest, and quantizing them again changes nothing.
    expect(maxAbsDiff(lin.weight, rtn)).toBeLessThan(1e-6);
    const again = q.forward(lin.weight);
    expect(maxAbsDiff(again, lin.weight)).toBeLessThan(1e-6);
    // FP reference passes still see the FP weight until it is released.
    layer.quantizeWeights = false;
    expect(maxAbsDiff(layer.effectiveWeight(), fp)).toBe(0);
    layer.releaseFpWeight();
    expect(layer.effectiveWeight()).toBe(lin.weight);
    tf.dispose([fp, rtn, again]);
    layer.dispose();
  });

  it('quantized attention equals FP attention with its quantizers off, and stays close at 16 bits', () => {
    const fp = new ScaledDotProductAttention();
    const qa = new QuantScaledDotProductAttention(16, 16);
    const [q, k, v] = [1, 2, 3].map((s) => tf.randomNormal([1, 2, 5, 4], 0, 1, 'float32', s));
    for (const quant of qa.quantizers()) quant.beginCalibration();
    tf.dispose(qa.forward(q, k, v));
    qa.quantizers().forEach((quant) => quant.endCalibration());
    expect(qa.softmaxQuant?.zero.dataSync()[0]).toBe(0);
    const ref = fp.forward(q, k, v);
    const y16 = qa.forward(q, k, v);
    expect(maxAbsDiff(ref, y16)).toBeLessThan(1e-3);
    qa.quantizers().forEach((quant) => (quant.enabled = false));
    const off = qa.forward(q, k, v);
    expect(maxAbsDiff(ref, off)).toBe(0);
    tf.dispose([q, k, v, ref, y16, off]);
  });

  it('softmaxBits 32 leaves the softmax output FP: no quantizer, and the output is Q(q), Q(k), Q(v) through an exact softmax', () => {
    const qa = new QuantScaledDotProductAttention(4, 32);
    expect(qa.softmaxQuant).toBeNull();
    expect(qa.quantizers()).toEqual([qa.queryQuant, qa.keyQuant, qa.valueQuant]);
    expect([...qa.stateDict().keys()].some((k) => k.startsWith('softmaxQuant'))).toBe(false);
    const [q, k, v] = [1, 2, 3].map((s) => tf.randomNormal([1, 2, 5, 4], 0, 1, 'float32', s));
    for (const quant of qa.quantizers()) quant.beginCalibration();
    tf.dispose(qa.forward(q, k, v));
    qa.quantizers().forEach((quant) => quant.endCalibration());
    const got = qa.forward(q, k, v);
    const ref = tf.tidy(() => {
      const scores = tf.mul(tf.matMul(qa.queryQuant.forward(q), qa.keyQuant.forward(k), false, true), 0.5);
      return tf.matMul(tf.softmax(scores, -1), qa.valueQuant.forward(v));
    });
    expect(maxAbsDiff(got, ref)).toBeLessThan(1e-6);
    // 4-bit q, k, v do change the output: the quantizers are on.
    const fp = new ScaledDotProductAttention().forward(q, k, v);
    expect(maxAbsDiff(got, fp)).toBeGreaterThan(1e-3);
    tf.dispose([q, k, v, got, ref, fp]);
  });
});
