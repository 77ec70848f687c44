import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Module, initEngine } from '@diffpress/core';
import { PipelineModel, SamplerConfig, tinyPipelineModel } from '@diffpress/diffusion';
import { Rng } from '@diffpress/core';
import { CalibrationSpec, calibrationKey, calibrationPlan, calibrationSet, heldOutRows, uniformSteps } from './calibration-set';

/** A network without parameters or settings. */
class Empty extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  forward(z: tf.Tensor): tf.Tensor {
    return z;
  }
}

const sampler: SamplerConfig = { kind: 'ddim', steps: 4 };
const spec: CalibrationSpec = { strategy: 'uniform', steps: 2, fraction: 0.25, perStep: 2 };
let model: PipelineModel;
let dir: string;

beforeAll(async () => {
  await initEngine({ backend: 'wasm', quiet: true });
  model = tinyPipelineModel(1);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptq-calibration-'));
});
afterAll(() => {
  model.unet.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('calibrationSet', () => {
  // Users' caches hold calibration sets under these names: a refactor of the digests must not move them. (Moved once
  // on purpose, CALIBRATION_FORMAT 2: `uniform` became every ⌈T/k⌉-th step, so format-1 sets may hold other steps.)
  it('keeps the key and the cache file of existing entries (pinned values)', () => {
    // A parameter-free stand-in network, so the pin holds whatever fields the UNet class gains (its digest is
    // pinned in @diffpress/eval); calibrationKey only digests it.
    const stand = { ...model, unet: new Empty() as unknown as PipelineModel['unet'] };
    expect(calibrationKey({ model: stand, sampler, spec, seed: 0 })).toBe('77a9a3df678e44cefef56bfa203a85f6c2284fbff72f461e61b26897a5e0f03f');
    // Default-valued sampler entries do not change the key.
    expect(calibrationKey({ model: stand, sampler: { ...sampler, eta: 0, spacing: 'uniform' }, spec, seed: 0 })).toBe('77a9a3df678e44cefef56bfa203a85f6c2284fbff72f461e61b26897a5e0f03f');
    expect(calibrationKey({ model: stand, sampler, spec, seed: 1 })).not.toBe('77a9a3df678e44cefef56bfa203a85f6c2284fbff72f461e61b26897a5e0f03f');
    const key = calibrationKey({ model, sampler, spec, seed: 0 });
    const set = calibrationSet({ model, sampler, spec, seed: 0, cacheDir: dir });
    expect(set).toMatchObject({ key, fromCache: false, rows: 4, plan: { steps: [0, 2], trajectories: 2 } });
    expect(fs.readdirSync(path.join(dir, 'calibration'))).toEqual([`${key}.safetensors`]);
  });

  it('reads the stored set back unchanged, and draws without storing when there is no cache folder', () => {
    const fresh = path.join(dir, 'fresh');
    const drawn = calibrationSet({ model, sampler, spec, seed: 0, cacheDir: fresh });
    const again = calibrationSet({ model, sampler, spec, seed: 0, cacheDir: fresh });
    expect([drawn.fromCache, again.fromCache]).toEqual([false, true]);
    expect(Array.from(again.x)).toEqual(Array.from(drawn.x));
    expect(Array.from(again.stepIndices)).toEqual(Array.from(drawn.stepIndices));
    expect(Array.from(again.modelTimes)).toEqual(Array.from(drawn.modelTimes));
    expect(again.drawSeconds).toBe(drawn.drawSeconds);
    const uncached = calibrationSet({ model, sampler, spec, seed: 0 });
    expect(uncached.fromCache).toBe(false);
    expect(Array.from(uncached.x)).toEqual(Array.from(drawn.x));
  });
});

describe('calibrationPlan', () => {
  const plan = (total: number, strategy: CalibrationSpec['strategy'], steps: number, perStep = 16): ReturnType<typeof calibrationPlan> =>
    calibrationPlan(total, { strategy, steps, fraction: 0.25, perStep });

  it('uniform takes every ⌈T/k⌉-th step from the noisiest (Q-Diffusion), a real subset of all whenever k < T', () => {
    // T = 20 (the recipes' DDIM-20): k = 10 → c = 2; k = 8 → c = 3 (7 steps); k = 5 → c = 4; k = 20 → every step.
    expect(uniformSteps(20, 10)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(uniformSteps(20, 8)).toEqual([0, 3, 6, 9, 12, 15, 18]);
    expect(uniformSteps(20, 5)).toEqual([0, 4, 8, 12, 16]);
    expect(uniformSteps(20, 20)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(uniformSteps(20, 50)).toEqual(plan(20, 'all', 20).steps);
    // Q-Diffusion's CIFAR setting, DDIM-100 with 20 steps: every 5th.
    expect(uniformSteps(100, 20)).toEqual(Array.from({ length: 20 }, (_, i) => 5 * i));
    expect(uniformSteps(4, 2)).toEqual([0, 2]);
    expect(uniformSteps(1, 3)).toEqual([0]);
    // The plan is that selection; with fewer steps than k it draws more trajectories (equal budget, k × perStep rows).
    expect(plan(20, 'uniform', 10)).toEqual({ steps: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18], trajectories: 16 });
    expect(plan(20, 'uniform', 8)).toEqual({ steps: [0, 3, 6, 9, 12, 15, 18], trajectories: Math.ceil((16 * 8) / 7) });
    expect(plan(20, 'uniform', 10).steps).not.toEqual(plan(20, 'all', 10).steps);
  });

  it('q-diffusion calibrates on a real subset of the DDIM-20 trajectory by default', async () => {
    const { qDiffusion } = await import('../q-diffusion/q-diffusion');
    const c = qDiffusion.config.parse({}).calibration;
    expect(c.strategy).toBe('uniform');
    const steps = plan(20, c.strategy, c.steps, c.perStep).steps;
    expect(steps.length).toBeLessThan(20);
    expect(steps).toEqual(uniformSteps(20, c.steps));
  });
});

describe('heldOutRows', () => {
  // 3 steps × 8 rows, step-major as a calibration set stores them.
  const set = { rows: 24, stepIndices: Int32Array.from({ length: 24 }, (_, r) => [0, 5, 10][Math.floor(r / 8)]) };

  it('spreads the rows over the steps, at most a quarter of the set, reproducibly under its seed', () => {
    const rows = heldOutRows(set, 5, new Rng(3, 'held-out'));
    expect(rows).toHaveLength(5);
    expect(new Set(rows).size).toBe(5);
    // Round-robin over the steps: 2, 2 and 1 rows.
    const perStep = [0, 5, 10].map((s) => rows.filter((r) => set.stepIndices[r] === s).length);
    expect(perStep).toEqual([2, 2, 1]);
    expect(heldOutRows(set, 5, new Rng(3, 'held-out'))).toEqual(rows);
    expect(heldOutRows(set, 5, new Rng(4, 'held-out'))).not.toEqual(rows);
    expect(heldOutRows(set, 100, new Rng(3, 'held-out'))).toHaveLength(6);
    expect(heldOutRows(set, 0, new Rng(3, 'held-out'))).toEqual([]);
  });
});
