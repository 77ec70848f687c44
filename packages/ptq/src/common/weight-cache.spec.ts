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

  // Users' caches hold weight phases under these names: a refactor of the digests must not move them.
  it('keeps the file of existing entries (pinned value), and reuses it with the recorded cost', () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptq-weights-pin-'));
    // A network without quantized layers: only the key, the reports and the timing are stored.
    const q = { layers: [] } as unknown as QuantizedUNet;
    const inputs = { parent: 'file:abc', calibration: 'c0ffee', weightBits: 4, method: 'q-diffusion@1' };
    const reports: UnitReport[] = [{ path: 'down.0', lossStart: 0.5, lossEnd: 0.25, cached: true, seconds: 1.5, captureSeconds: 0.5 }];
    try {
      const first = new PhaseTimer();
      expect(cachedWeightPhase(cacheDir, inputs, q, first, 'weights', () => reports)).toEqual(reports);
      expect(fs.readdirSync(path.join(cacheDir, 'ptq-weights'))).toEqual(['b4fa8d2cc2cdb854fa169a54fc3b48008cebdad42d681c54be06140f9a90ce0b.safetensors']);
      const second = new PhaseTimer();
      let ran = false;
      expect(cachedWeightPhase(cacheDir, { ...inputs }, q, second, 'weights', () => ((ran = true), reports))).toEqual(reports);
      expect(ran).toBe(false);
      expect(second.phases).toEqual([expect.objectContaining({ name: 'weights (cached)', cost: first.phases[0].seconds })]);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('shares the weight phase between configs that differ only in activations, with the same result as computing it', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptq-weights-'));
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
      const phases = (r: typeof a): string[] => (r.diagnostics?.find((d) => d.id === 'q-diffusion.calibration-time')?.rows ?? []).map((row) => String(row[0]));
      expect(phases(a)).toContain('weight init + reconstruction');
      expect(phases(b)).toContain('weight init + reconstruction (cached)');
      expect(phases(b)).toContain('calibration set (cached)');
      expect(fs.readdirSync(path.join(cacheDir, 'ptq-weights')).filter((f) => f.endsWith('.safetensors'))).toHaveLength(1);
      // The reused weights, and everything calibrated after them (activation ranges against FP targets), are those of a
      // run that computed the weight phase itself.
      const [ub, uc] = [b.model?.unet, c.model?.unet];
      if (!ub || !uc) throw new Error('no model');
      const sb = ub.stateDict();
      for (const [name, v] of uc.stateDict()) expect([name, Array.from(sb.get(name)?.dataSync() ?? [])]).toEqual([name, Array.from(v.dataSync())]);
      [a, b, c].forEach((r) => r.model?.unet.dispose());
      expect(tf.memory().numTensors).toBeLessThan(2000);
    } finally {
      parent.unet.dispose();
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  }, 120_000);
});
