import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { DiffusionStageContext, tinyPipelineModel, tinyStageContext } from '@diffpress/diffusion';
import { qDiffusion } from '../q-diffusion/q-diffusion';
import { QuantizedUNet } from '../quant/quantize-unet';
import { UnitReport } from '../recon/reconstruct';
import { PhaseTimer } from './phase-timer';
import { cachedWeightPhase } from './weight-cache';

describe('cachedWeightPhase', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

  // Users' caches hold weight phases under these names: a refactor of the digests must not move them. (Moved once on
  // purpose, WEIGHT_PHASE_FORMAT 2: held-out rows and the reports' new fields.)
  it('keeps the file of existing entries (pinned value), and reuses it with the recorded cost', () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptq-weights-pin-'));
    // A network without quantized layers: only the key, the reports and the timing are stored.
    const q = { layers: [] } as unknown as QuantizedUNet;
    const inputs = { parent: 'file:abc', calibration: 'c0ffee', weightBits: 4, method: 'q-diffusion@1' };
    const reports: UnitReport[] = [
      { path: 'down.0', iters: 10, lossStart: 0.5, lossEnd: 0.25, heldOutBefore: 0.6, heldOutAfter: 0.3, unsaturatedBefore: 0.98, unsaturatedAfter: 0.01, cached: true, seconds: 1.5, captureSeconds: 0.5 },
    ];
    try {
      const first = new PhaseTimer();
      expect(cachedWeightPhase(cacheDir, inputs, q, first, 'weights', () => reports)).toEqual(reports);
      expect(fs.readdirSync(path.join(cacheDir, 'ptq-weights'))).toEqual(['dc466a102bd62d923504d15b9ff926c6c50478ee05c20967575383bbc4d02bc9.safetensors']);
      const second = new PhaseTimer();
      let ran = false;
      expect(cachedWeightPhase(cacheDir, { ...inputs }, q, second, 'weights', () => ((ran = true), reports))).toEqual(reports);
      expect(ran).toBe(false);
      // Computed: cost = its wall-clock, not reused. Reused: the stored cost of the first run, marked reused, whatever
      // reading it took.
      expect(first.phases).toEqual([{ name: 'weights', seconds: first.phases[0].seconds, cost: first.phases[0].seconds, reused: false }]);
      expect(second.phases).toEqual([{ name: 'weights', seconds: second.phases[0].seconds, cost: first.phases[0].seconds, reused: true }]);
      expect(second.cost()).toBe(first.cost());
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('shares the weight phase between configs that differ only in activations, with the same result as computing it', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptq-weights-'));
    const before = tf.memory().numTensors;
    const parent = tinyPipelineModel(1);
    const ctx = (cache?: string): DiffusionStageContext => {
      // Assigned, not spread: spreading would read the context's training-data getter, which throws without data.
      const c = tinyStageContext(parent);
      c.cacheDir = cache;
      return c;
    };
    const small = { weightBits: 3, calibration: { steps: 4, perStep: 6 }, weights: { iters: 10, batchSize: 12 }, activations: { iters: 5, batchSize: 12, initRows: 12 }, diagnostics: { trajectories: 0 } };
    try {
      const a = await qDiffusion.apply(ctx(cacheDir), qDiffusion.config.parse({ ...small, activationBits: 32 }));
      const b = await qDiffusion.apply(ctx(cacheDir), qDiffusion.config.parse({ ...small, activationBits: 8 }));
      const c = await qDiffusion.apply(ctx(), qDiffusion.config.parse({ ...small, activationBits: 8 }));
      type Row = [string, number, number, number];
      const timing = (r: typeof a): Map<string, Row> => new Map((r.diagnostics?.find((d) => d.id === 'q-diffusion.calibration-time')?.rows ?? []).map((row) => [String(row[0]), row as Row]));
      const [ta, tb] = [timing(a), timing(b)];
      const W = 'weight init + reconstruction';
      // a computed both phases (cost = its own wall-clock); b reused both: marked, at a's cost, not at its reuse time.
      expect([ta.get(W)?.[3], ta.get('calibration set')?.[3], ta.get('total')?.[3]]).toEqual([0, 0, 0]);
      expect(ta.get(W)?.[2]).toBe(ta.get(W)?.[1]);
      expect([tb.get(W)?.[3], tb.get('calibration set')?.[3], tb.get('total')?.[3]]).toEqual([1, 1, 2]);
      expect(tb.get(W)?.[2]).toBe(ta.get(W)?.[2]);
      expect(tb.get('calibration set')?.[2]).toBe(ta.get('calibration set')?.[2]);
      // The total cost is the sum of the phases' costs; the activation phases b computed itself count as measured.
      const sumCost = [...tb.entries()].filter(([k]) => k !== 'total').reduce((acc, [, row]) => acc + row[2], 0);
      expect(tb.get('total')?.[2]).toBeCloseTo(sumCost, 9);
      expect(tb.get('total')?.[2]).toBeGreaterThan(tb.get('total')?.[1] ?? Infinity);
      expect(fs.readdirSync(path.join(cacheDir, 'ptq-weights')).filter((f) => f.endsWith('.safetensors'))).toHaveLength(1);
      // The reused weights, and everything calibrated after them (activation ranges against FP targets), are those of a
      // run that computed the weight phase itself.
      const [ub, uc] = [b.model?.unet, c.model?.unet];
      if (!ub || !uc) throw new Error('no model');
      const sb = ub.stateDict();
      for (const [name, v] of uc.stateDict()) expect([name, Array.from(sb.get(name)?.dataSync() ?? [])]).toEqual([name, Array.from(v.dataSync())]);
      [a, b, c].forEach((r) => r.model?.unet.dispose());
    } finally {
      parent.unet.dispose();
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
    // Three calibrations leave nothing behind.
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});
