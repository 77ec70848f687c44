import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Module, initEngine } from '@diffpress/core';
import { PipelineModel, SamplerConfig, tinyPipelineModel } from '@diffpress/diffusion';
import { CalibrationSpec, calibrationKey, calibrationSet } from './calibration-set';

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
  // Users' caches hold calibration sets under these names: a refactor of the digests must not move them.
  it('keeps the key and the cache file of existing entries (pinned values)', () => {
    // A parameter-free stand-in network, so the pin holds whatever fields the UNet class gains (its digest is
    // pinned in @diffpress/eval); calibrationKey only digests it.
    const stand = { ...model, unet: new Empty() as unknown as PipelineModel['unet'] };
    expect(calibrationKey({ model: stand, sampler, spec, seed: 0 })).toBe('8aa6a7828bee8086d3e8e909a8461ce260a2078b771b3fa1efbc54dcce8b4fa5');
    // Default-valued sampler entries do not change the key.
    expect(calibrationKey({ model: stand, sampler: { ...sampler, eta: 0, spacing: 'uniform' }, spec, seed: 0 })).toBe('8aa6a7828bee8086d3e8e909a8461ce260a2078b771b3fa1efbc54dcce8b4fa5');
    expect(calibrationKey({ model: stand, sampler, spec, seed: 1 })).not.toBe('8aa6a7828bee8086d3e8e909a8461ce260a2078b771b3fa1efbc54dcce8b4fa5');
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
