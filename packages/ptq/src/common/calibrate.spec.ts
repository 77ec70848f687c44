import * as tf from '@tensorflow/tfjs';
import { Rng, UniformQuantizer, initEngine, minmaxParams } from '@diffpress/core';
import { UNet } from '@diffpress/diffusion';
import { CalibrationSet } from '../calibration/calibration-set';
import { QuantizedUNet } from '../quant/quantize-unet';
import { activationCalibrationSummary, calibrateActivations, calibrationPasses, describeRangeCalibration } from './calibrate';

/**
 * A hand-made calibration set: 2 steps × 8 rows of 3 values each. Step 0's rows span ±(1…8)·1 (row k has max k+1),
 * step 1's rows span ±(1…8)·0.1, so every mini-batch has a different range and the two steps differ tenfold.
 */
function handSet(): CalibrationSet {
  const rows = 16;
  const x = new Float32Array(rows * 3);
  const stepIndices = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const step = r < 8 ? 0 : 1;
    const scale = (1 + (r % 8)) * (step === 0 ? 1 : 0.1);
    x.set([-0.5 * scale, 0.2 * scale, scale], r * 3);
    stepIndices[r] = step;
  }
  return {
    x, sampleShape: [3], modelTimes: Float32Array.from(stepIndices, (s) => (s === 0 ? 900 : 100)), stepIndices, rows, samplerTimes: [900, 100],
    plan: { steps: [0, 1], trajectories: 8 }, key: 'hand', drawSeconds: 0, fromCache: false,
  };
}

/** A per-step quantizer (TFMQ's FSC, 2 steps) and a single-range one, both fed the network input itself. */
function network(): { unet: UNet; q: Pick<QuantizedUNet, 'layers' | 'attentions'>; perStep: UniformQuantizer; single: UniformQuantizer } {
  const perStep = new UniformQuantizer({ bits: 8, perStep: { modelTimes: [900, 100], label: 'hand-2' } });
  const single = new UniformQuantizer({ bits: 8 });
  const layer = { quantizeWeights: true, inputQuantizers: () => [perStep, single] };
  const q = { layers: [['l', layer]], attentions: [] } as unknown as Pick<QuantizedUNet, 'layers' | 'attentions'>;
  const unet = { forward: (x: tf.Tensor) => tf.tidy(() => tf.add(perStep.forward(x), single.forward(x))) } as unknown as UNet;
  return { unet, q, perStep, single };
}

/** Δ of the min-max grid of a range (8 bits, asymmetric, the range widened to contain 0). */
function delta(min: number, max: number): number {
  return minmaxParams([min], [max], 8, 'asymmetric').delta[0];
}

/** max over the given rows of the hand set (its rows' maxima are the third value; minima the first). */
function range(set: CalibrationSet, rows: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...rows.map((r) => set.x[r * 3])), max: Math.max(...rows.map((r) => set.x[r * 3 + 2])) };
}

/** The EMA recursion by hand: the first batch's range, then r ← m·r + (1 − m)·batch. */
function ema(batches: Array<{ min: number; max: number }>, m: number): { min: number; max: number } {
  let r = batches[0];
  for (const b of batches.slice(1)) r = { min: m * r.min + (1 - m) * b.min, max: m * r.max + (1 - m) * b.max };
  return r;
}

describe('calibrateActivations', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

  it('passes hold the same number of rows of every step, and cover every row once', () => {
    const set = handSet();
    const rows = Array.from({ length: 16 }, (_, i) => i);
    const passes = calibrationPasses(set.stepIndices, rows, 3, new Rng(1));
    // 8 rows per step, 3 per pass: passes of 3 + 3, 3 + 3, 2 + 2 rows.
    expect(passes.map((p) => [p.filter((r) => r < 8).length, p.filter((r) => r >= 8).length])).toEqual([[3, 3], [3, 3], [2, 2]]);
    expect(passes.flat().sort((a, b) => a - b)).toEqual(rows);
    expect(activationCalibrationSummary(set, { rowsPerStep: 3 })).toEqual({ steps: 2, rowsPerStep: 3, passes: 3, updatesPerStep: 3 });
    expect(activationCalibrationSummary(set, { batchSize: 32 })).toEqual({ steps: 2, rowsPerStep: 16, passes: 1, updatesPerStep: 1 });
  });

  it('EMA: each step\'s range follows the hand-computed recursion over its own mini-batches (momentum 0.95), and differs from min-max', () => {
    const set = handSet();
    const { unet, q, perStep, single } = network();
    const summary = calibrateActivations(unet, q, set, { init: 'ema', momentum: 0.95, rowsPerStep: 2, rng: new Rng(7) });
    expect(summary).toEqual({ steps: 2, rowsPerStep: 2, passes: 4, updatesPerStep: 4 });
    expect(describeRangeCalibration('ema', summary)).toBe('EMA min-max over 4 batches of 2 rows per step');
    // The passes the calibration made (same generator): 2 rows of each step per pass.
    const passes = calibrationPasses(set.stepIndices, Array.from({ length: 16 }, (_, i) => i), 2, new Rng(7));
    const d = Array.from(perStep.delta.dataSync());
    for (const step of [0, 1]) {
      const batches = passes.map((p) => range(set, p.filter((r) => set.stepIndices[r] === step)));
      const e = ema(batches, 0.95);
      expect(d[step]).toBeCloseTo(delta(e.min, e.max), 6);
      // Plain min-max over the same rows is another (wider) range: the EMA is not a no-op here (only one row of a step
      // reaches its extremes, so at least three of the four batches pull the EMA inside them).
      const all = range(set, Array.from({ length: 8 }, (_, i) => i + 8 * step));
      expect(d[step]).toBeLessThan(delta(all.min, all.max) * (1 - 1e-3));
    }
    // The single range: one EMA update per pass, each pass holding both steps.
    const e = ema(passes.map((p) => range(set, p)), 0.95);
    expect(single.delta.dataSync()[0]).toBeCloseTo(delta(e.min, e.max), 6);
  });

  it('a single range sees every step in every pass: not dominated by one random step (fscScope temporal)', () => {
    const set = handSet();
    for (const seed of [1, 2, 3, 4]) {
      const { unet, q, perStep, single } = network();
      calibrateActivations(unet, q, set, { init: 'ema', momentum: 0.95, rowsPerStep: 2, rng: new Rng(seed) });
      // Every pass holds two rows of step 0, whose maxima (1…8) dwarf step 1's (0.1…0.8): the single range's max is
      // an average of step-0 batch maxima, ≥ 2 whatever the order — it would be ≤ 0.8 if a step-1 batch had started
      // the EMA and ≈ 1.15 after one step-0 update.
      const single0 = single.delta.dataSync()[0];
      expect(single0).toBeGreaterThanOrEqual(delta(-1, 2) - 1e-9);
      // …and it equals the EMA of the per-pass ranges taken over both steps.
      const passes = calibrationPasses(set.stepIndices, Array.from({ length: 16 }, (_, i) => i), 2, new Rng(seed));
      const e = ema(passes.map((p) => range(set, p)), 0.95);
      expect(single0).toBeCloseTo(delta(e.min, e.max), 6);
      // Step 1's own range stays step 1's (its values are tenfold smaller).
      expect(perStep.delta.dataSync()[1]).toBeLessThan(single0 / 3);
    }
  });

  it('EMA equals min-max where it should: one pass per step (the phase is then named min-max)', () => {
    const set = handSet();
    const a = network();
    const b = network();
    const sa = calibrateActivations(a.unet, a.q, set, { init: 'ema', momentum: 0.95, rowsPerStep: 8, rng: new Rng(1) });
    calibrateActivations(b.unet, b.q, set, { init: 'minmax', rowsPerStep: 8, rng: new Rng(1) });
    expect(sa.updatesPerStep).toBe(1);
    expect(describeRangeCalibration('ema', sa)).toMatch(/^min-max of one batch per step/);
    expect(Array.from(a.perStep.delta.dataSync())).toEqual(Array.from(b.perStep.delta.dataSync()));
    expect(Array.from(a.single.delta.dataSync())).toEqual(Array.from(b.single.delta.dataSync()));
    // And min-max of several passes is order-free: the widest row of each step.
    const c = network();
    calibrateActivations(c.unet, c.q, set, { init: 'minmax', rowsPerStep: 2, rng: new Rng(5) });
    expect(c.perStep.delta.dataSync()[0]).toBeCloseTo(delta(-4, 8), 6);
    expect(c.perStep.delta.dataSync()[1]).toBeCloseTo(delta(-0.4, 0.8), 6);
  });

  it("at TFMQ's default sizes (every step × 16 rows, emaBatch 4) each step's EMA makes 4 updates: not a min-max in disguise", async () => {
    const { tfmq } = await import('../tfmq/tfmq');
    const c = tfmq.config.parse({});
    expect(c.calibration.strategy).toBe('all');
    // DDIM-20, as the recipes sample: 20 steps × perStep rows, step-major.
    const set = { rows: 20 * c.calibration.perStep, stepIndices: Int32Array.from({ length: 20 * c.calibration.perStep }, (_, r) => Math.floor(r / c.calibration.perStep)) };
    const summary = activationCalibrationSummary(set, { rowsPerStep: c.activations.emaBatch });
    expect(summary).toEqual({ steps: 20, rowsPerStep: 4, passes: 4, updatesPerStep: 4 });
    expect(describeRangeCalibration('ema', summary)).toBe('EMA min-max over 4 batches of 4 rows per step');
  });
});
