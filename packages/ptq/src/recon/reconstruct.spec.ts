import * as tf from '@tensorflow/tfjs';
import { Rng, initEngine } from '@diffpress/core';
import { tinyPipelineModel } from '@diffpress/diffusion';
import { CalibrationSet, calibrationBatch, calibrationSet } from '../calibration/calibration-set';
import { initWeightQuantizers } from '../common/calibrate';
import { QuantizedUNet } from '../quant/quantize-unet';
import { ReconUnit } from './units';
import { Module } from '@diffpress/core';
import { KEEP_FP_PRESETS, quantizeUNet, releaseFpWeights, setQuantState } from '../quant/quantize-unet';
import { captureAt, captureOutputs, captureRows, hostRows } from './capture';
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

  /** The unit's loss as deployed (the network in its current weight-quantized state) on `rows`, computed directly. */
  function deployedLoss(q: QuantizedUNet, unit: ReconUnit, rows: number[]): number {
    const { x, t } = calibrationBatch(set, rows);
    setQuantState(q, { weights: true, activations: false });
    const inputs = captureAt(q.unet, unit.path, x, t, 'inputs');
    setQuantState(q, { weights: false, activations: false });
    const [target] = captureAt(q.unet, unit.path, x, t, 'output');
    setQuantState(q, { weights: true, activations: false });
    const all = rows.map((_, i) => i);
    const module = q.unet.getModule(unit.path) as unknown as Module<tf.Tensor[], tf.Tensor>;
    const ins = inputs.map((h) => hostRows(h, all));
    const tg = hostRows(target, all);
    const loss = tf.tidy(() => reconstructionLoss(module.forward(...ins), tg, 2).dataSync()[0]);
    tf.dispose([x, t, ...ins, tg]);
    return loss;
  }

  it('measures the hard-rounded loss on the held-out rows before (= round-to-nearest) and after (= the written-back weights), and never trains on them', () => {
    const model = tinyPipelineModel(2);
    const q = quantizeUNet(model.unet, { weightBits: 3, activationBits: 32, softmaxBits: 32, split: false, keepFp: KEEP_FP_PRESETS.none });
    initWeightQuantizers(q, 'minmax');
    const unit = reconstructionUnits(q.unet, q).find((u) => u.path === 'down.0.res.0');
    if (!unit) throw new Error('no unit');
    const heldOut = [3, 7, 12, 20, 22];
    // Round-to-nearest on the initial grid, before AdaRound starts.
    const rtn = deployedLoss(q, unit, heldOut);
    const requests: number[][] = [];
    const source = (idx: number[]): ReturnType<typeof calibrationBatch> => (requests.push([...idx]), calibrationBatch(set, idx));
    // Inputs recomputed per mini-batch (cache bound 1 byte), so every row a step uses goes through `source`.
    const report = reconstructUnit(q.unet, q, unit, set.rows, source, { phase: 'weights', iters: 25, batchSize: 6, lr: 2e-2, p: 2, rng: new Rng(3), heldOut, cacheLimitBytes: 1 });
    const after = deployedLoss(q, unit, heldOut);
    expect(report.cached).toBe(false);
    expect(report.heldOutBefore).toBeCloseTo(rtn, 6);
    expect(report.heldOutAfter).toBeCloseTo(after, 6);
    expect(report.heldOutAfter).not.toBeCloseTo(report.heldOutBefore, 6);
    // Every request is a mini-batch of training rows or a chunk of the held-out rows (the one-row size probe aside).
    const held = new Set(heldOut);
    const mixed = requests.filter((r) => r.some((i) => held.has(i)) && r.some((i) => !held.has(i)));
    expect(mixed).toEqual([]);
    // 25 mini-batches of 6 training rows (inputs and targets: two requests each), plus the one-row size probe.
    expect(requests.filter((r) => r.length === 6 && !r.some((i) => held.has(i)))).toHaveLength(50);
    // The held-out rows are read before and after (inputs and targets each: four requests), all of them each time.
    expect(requests.filter((r) => r.every((i) => held.has(i)))).toEqual([heldOut, heldOut, heldOut, heldOut]);
    releaseFpWeights(q);
    q.unet.dispose();
    model.unet.dispose();
  }, 60_000);

  it('AdaRound converges given the steps: h(α) saturates (below 1 % left inside (0.01, 0.99)), and too few steps leave most of it unsaturated', () => {
    const run = (iters: number, lr: number): ReturnType<typeof reconstructUnit> => {
      const model = tinyPipelineModel(2);
      const q = quantizeUNet(model.unet, { weightBits: 3, activationBits: 32, softmaxBits: 32, split: false, keepFp: KEEP_FP_PRESETS.none });
      initWeightQuantizers(q, 'minmax');
      const unit = reconstructionUnits(q.unet, q).find((u) => u.path === 'down.0.res.0');
      if (!unit) throw new Error('no unit');
      const r = reconstructUnit(q.unet, q, unit, set.rows, (idx) => calibrationBatch(set, idx), { phase: 'weights', iters, batchSize: 8, lr, p: 2, rng: new Rng(4), heldOut: [1, 9, 17] });
      releaseFpWeights(q);
      q.unet.dispose();
      model.unet.dispose();
      return r;
    };
    const long = run(300, 5e-2);
    const short = run(40, 1e-3);
    // At initialisation h(α) = frac(w/Δ): almost all inside the band.
    expect(long.unsaturatedBefore).toBeGreaterThan(0.9);
    expect(short.unsaturatedBefore).toBe(long.unsaturatedBefore);
    expect(long.unsaturatedAfter).toBeLessThan(0.01);
    expect(short.unsaturatedAfter).toBeGreaterThan(0.5);
    // Converged, the hard rounding it writes back beats round-to-nearest on rows it never saw.
    expect(long.heldOutAfter).toBeLessThan(long.heldOutBefore);
  }, 60_000);
});
