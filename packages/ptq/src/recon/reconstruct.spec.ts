import * as tf from '@tensorflow/tfjs';
import { Rng, initEngine } from '@diffpress/core';
import { tinyPipelineModel } from '@diffpress/diffusion';
import { CalibrationSet, calibrationBatch, calibrationSet } from '../calibration/calibration-set';
import { initWeightQuantizers } from '../common/calibrate';
import { KEEP_FP_PRESETS, quantizeUNet, releaseFpWeights, setQuantState } from '../quant/quantize-unet';
import { captureOutputs, captureRows } from './capture';
import { reconstructUnit, reconstructionLoss } from './reconstruct';
import { reconstructionUnits } from './units';

describe('reconstructionLoss', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

  it('is the mean over rows and positions of the channel sum of |pred − target|^p', () => {
    const pred = tf.tensor3d([[[1, 2], [0, 0]], [[3, 0], [1, 1]]]);
    const target = tf.zeros([2, 2, 2]);
    // Channel sums of squares per (row, position): 5, 0, 9, 2 → mean 4.
    expect(reconstructionLoss(pred, target, 2).dataSync()[0]).toBeCloseTo(4, 6);
    // p = 1: 3, 0, 3, 2 → 2.
    expect(reconstructionLoss(pred, target, 1).dataSync()[0]).toBeCloseTo(2, 6);
    tf.dispose([pred, target]);
  });
});

describe('reconstructUnit', () => {
  let set: CalibrationSet;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
    const model = tinyPipelineModel(2);
    set = calibrationSet({ model, sampler: { kind: 'ddim', steps: 4 }, spec: { strategy: 'uniform', steps: 4, fraction: 0.25, perStep: 6 }, seed: 1 });
    model.unet.dispose();
  });

  function run(cacheLimitBytes: number, phase: 'weights' | 'activations'): { weights: Float32Array; deltas: Float32Array; loss: number; cached: boolean } {
    const model = tinyPipelineModel(2);
    const q = quantizeUNet(model.unet, { weightBits: 3, activationBits: 6, softmaxBits: 8, split: true, keepFp: KEEP_FP_PRESETS.none });
    initWeightQuantizers(q, 'minmax');
    const units = reconstructionUnits(q.unet, q);
    const unit = units.find((u) => u.path === 'up.0.res.0');
    if (!unit) throw new Error(`no unit up.0.res.0 in ${units.map((u) => u.path).join(', ')}`);
    if (phase === 'activations') {
      for (const [, l] of unit.layers) l.inputQuantizers().forEach((a) => a.setParams({ delta: Float32Array.of(0.05), zero: Float32Array.of(32) }));
    }
    setQuantState(q, { weights: true, activations: phase === 'activations' });
    const report = reconstructUnit(q.unet, q, unit, set.rows, (idx) => calibrationBatch(set, idx), {
      phase, iters: 12, batchSize: 8, lr: 1e-2, p: phase === 'weights' ? 2 : 2.4, rng: new Rng(5), cacheLimitBytes,
    });
    const conv = unit.layers.find(([p]) => p.endsWith('conv1'));
    if (!conv) throw new Error('no conv1');
    const out = {
      weights: conv[1].layer.weight.dataSync().slice() as Float32Array,
      deltas: Float32Array.from(conv[1].inputQuantizers().map((a) => a.delta.dataSync()[0])),
      loss: report.lossEnd,
      cached: report.cached,
    };
    releaseFpWeights(q);
    q.unet.dispose();
    model.unet.dispose();
    return out;
  }

  it.each(['weights', 'activations'] as const)('gives the same result with cached inputs and with inputs recomputed per mini-batch (%s)', (phase) => {
    const before = tf.memory().numTensors;
    const cached = run(2 ** 30, phase);
    const recomputed = run(1, phase);
    expect(cached.cached).toBe(true);
    expect(recomputed.cached).toBe(false);
    expect(Array.from(recomputed.weights)).toEqual(Array.from(cached.weights));
    expect(Array.from(recomputed.deltas)).toEqual(Array.from(cached.deltas));
    expect(recomputed.loss).toBe(cached.loss);
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('one forward pass captures every unit\'s output exactly as a capture stopped at each unit', () => {
    const model = tinyPipelineModel(2);
    const paths = ['time', 'stem', 'down.0.res.0', 'down.1.attn.0', 'up.0.res.1', 'out.conv'];
    const source = (idx: number[]): ReturnType<typeof calibrationBatch> => calibrationBatch(set, idx);
    const all = captureOutputs(model.unet, paths, set.rows, source, 7);
    for (const p of paths) {
      const [one] = captureRows(model.unet, p, set.rows, source, 'output', 5);
      expect(all.get(p)?.shape).toEqual(one.shape);
      expect(Array.from(all.get(p)?.data ?? [])).toEqual(Array.from(one.data));
    }
    model.unet.dispose();
  });

  it('leaves hard-rounded weights on the quantizer grid and lowers the unit loss', () => {
    const model = tinyPipelineModel(2);
    const q = quantizeUNet(model.unet, { weightBits: 2, activationBits: 32, softmaxBits: 32, split: false, keepFp: KEEP_FP_PRESETS.none });
    initWeightQuantizers(q, 'minmax');
    const unit = reconstructionUnits(q.unet, q).find((u) => u.path === 'down.0.res.0');
    if (!unit) throw new Error('no unit');
    const report = reconstructUnit(q.unet, q, unit, set.rows, (idx) => calibrationBatch(set, idx), { phase: 'weights', iters: 60, batchSize: set.rows, lr: 2e-2, p: 2, rng: new Rng(1) });
    expect(report.lossEnd).toBeLessThan(report.lossStart);
    for (const [, l] of unit.layers) {
      const w = l.layer.weight;
      const again = l.weightQuantizers()[0].forward(w);
      expect(tf.max(tf.abs(tf.sub(again, w))).dataSync()[0]).toBeLessThan(1e-6);
      again.dispose();
    }
    releaseFpWeights(q);
    q.unet.dispose();
    model.unet.dispose();
  }, 60_000);
});
