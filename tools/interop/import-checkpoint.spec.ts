import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { RawTensor, rawToFloat32, readSafetensorsFile } from '@diffpress/core';
import { loadDiffusionModel } from '@diffpress/diffusion';
import { importCheckpoint, parseSchedule } from './import-checkpoint';

const FIXTURES = path.resolve(__dirname, '..', '..', 'packages', 'diffusion', 'src', 'interop', 'fixtures');

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

describe('tools:import-checkpoint', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-checkpoint-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The loaded model's output on the fixtures' input, against torch's. */
  function relativeError(file: string, layout: 'ddim' | 'diffusers'): number {
    const io = readSafetensorsFile(path.join(FIXTURES, 'io.safetensors')).tensors;
    const model = loadDiffusionModel(file);
    try {
      const x = io.get('x') as RawTensor;
      const ours = tf.tidy(() => {
        const xt = tf.transpose(tf.tensor(rawToFloat32(x), x.shape), [0, 2, 3, 1]);
        return tf.transpose(model.unet.forward(xt, tf.tensor1d(rawToFloat32(io.get('t') as RawTensor))), [0, 3, 1, 2]).dataSync();
      });
      const ref = rawToFloat32(io.get(layout) as RawTensor);
      let d = 0;
      let s = 0;
      ref.forEach((r, i) => {
        d = Math.max(d, Math.abs(r - ours[i]));
        s = Math.max(s, Math.abs(r));
      });
      return d / s;
    } finally {
      model.unet.dispose();
    }
  }

  it('converts a DDIM .pt with its DDIM config into a checkpoint loadDiffusionModel (recipes) reads, schedule included', () => {
    const out = path.join(dir, 'ddim.safetensors');
    const result = importCheckpoint({ checkpoint: path.join(FIXTURES, 'ddim-small.pt'), config: path.join(FIXTURES, 'ddim-small.config.json'), out });
    expect(result.reloadDifference).toBe(0);
    expect(result.lines[1]).toBe('mapped 144 tensors onto the UNet, 45,259 parameters');
    const model = loadDiffusionModel(out);
    model.unet.dispose();
    expect(model.id).toBe('ddim');
    expect(model.prediction).toBe('eps');
    expect(model.schedule.toConfig()).toEqual({ type: 'linear-beta', timesteps: 1000, betaStart: 0.0001, betaEnd: 0.02 });
    expect(relativeError(out, 'ddim')).toBeLessThanOrEqual(1e-4);
  });

  it('converts diffusers weights with a config.json, assuming (and saying so) the DDPM schedule', () => {
    const out = path.join(dir, 'diffusers.safetensors');
    const result = importCheckpoint({ checkpoint: path.join(FIXTURES, 'diffusers-small.safetensors'), config: path.join(FIXTURES, 'diffusers-small.config.json'), out, prediction: 'eps' });
    expect(result.lines).toContain("schedule: none given, assumed DDPM's linear β (T = 1000, 1e-4 … 0.02); pass --schedule or --scheduler-config otherwise");
    expect(relativeError(out, 'diffusers')).toBeLessThanOrEqual(1e-4);
  });

  it('parses --schedule', () => {
    expect(parseSchedule('linear-beta:1000:0.0001:0.02')).toEqual({ type: 'linear-beta', timesteps: 1000, betaStart: 0.0001, betaEnd: 0.02 });
    expect(parseSchedule('cosine-logsnr:-20:20')).toEqual({ type: 'cosine-logsnr', logSnrMin: -20, logSnrMax: 20 });
    expect(() => parseSchedule('quad')).toThrow("--schedule 'quad': expected");
  });
});
