import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Rng, saveCheckpoint } from '@diffpress/core';
import { UNetConfig } from '../unet/config';
import { UNet } from '../unet/unet';
import { loadDiffusionModel, modelMetadata, shippedModelSpec, shippedModels, shippedUNetConfig } from './shipped';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffpress-shipped-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tiny: UNetConfig = { inChannels: 1, outChannels: 1, imageSize: 8, baseChannels: 8, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [4], groups: 4 };

describe('shipped models', () => {
  it('specs: ε-model on linear β, v-model on the cosine schedule, both on the unet-mnist-s preset', () => {
    expect(shippedModelSpec('unet-mnist-s-eps')).toMatchObject({ prediction: 'eps', weighting: 'snr', schedule: { type: 'linear-beta', timesteps: 1000 } });
    expect(shippedModelSpec('unet-mnist-s-v')).toMatchObject({ prediction: 'v', weighting: 'snr+1', schedule: { type: 'cosine-logsnr', logSnrMin: -20, logSnrMax: 20 } });
    for (const spec of Object.values(shippedModels)) expect(shippedUNetConfig(spec).imageSize).toBe(28);
    expect(() => shippedModelSpec('unet-mnist-xl')).toThrow(/available: unet-mnist-s-eps, unet-mnist-s-v/);
  });

  it('a model saved with its metadata loads back as the same network, schedule and parameterization', () => {
    const unet = new UNet(tiny, { rng: new Rng(4, 'shipped-test') });
    const file = path.join(tmp, 'tiny.safetensors');
    saveCheckpoint(unet, file, { metadata: modelMetadata('tiny', tiny, { type: 'cosine-logsnr', logSnrMin: -20, logSnrMax: 20 }, 'v') });
    const loaded = loadDiffusionModel(file);
    expect(loaded.id).toBe('tiny');
    expect(loaded.prediction).toBe('v');
    expect(loaded.schedule.id).toBe('cosine-logsnr');
    expect(loaded.unet.training).toBe(false);
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 1);
    const t = tf.tensor1d([10, 900]);
    expect(Array.from(loaded.unet.forward(x, t).dataSync())).toEqual(Array.from(unet.forward(x, t).dataSync()));
  });

  it('explains a missing model file and missing metadata', () => {
    expect(() => loadDiffusionModel(path.join(tmp, 'none.safetensors'))).toThrow(/no model file/);
    const bare = path.join(tmp, 'bare.safetensors');
    saveCheckpoint(new UNet(tiny), bare);
    expect(() => loadDiffusionModel(bare)).toThrow(/metadata 'diffpress.unet' is missing/);
  });

  it('a checkpoint without metadata loads with a given config; a config that does not fit its tensors is an error', () => {
    const rgb: UNetConfig = { ...tiny, inChannels: 3, outChannels: 3 };
    const unet = new UNet(rgb, { rng: new Rng(5, 'shipped-test') });
    const file = path.join(tmp, 'user.safetensors');
    saveCheckpoint(unet, file);
    const loaded = loadDiffusionModel(file, { unet: rgb, schedule: { type: 'linear-beta', timesteps: 100, betaStart: 1e-4, betaEnd: 0.02 }, prediction: 'x' });
    expect(loaded).toMatchObject({ id: 'user', prediction: 'x', file });
    expect(loaded.schedule.toConfig()).toEqual({ type: 'linear-beta', timesteps: 100, betaStart: 1e-4, betaEnd: 0.02 });
    const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 2);
    const t = tf.tensor1d([50]);
    expect(Array.from(loaded.unet.forward(x, t).dataSync())).toEqual(Array.from(unet.forward(x, t).dataSync()));
    tf.dispose([x, t]);
    loaded.unet.dispose();
    const before = tf.memory().numTensors;
    expect(() => loadDiffusionModel(file, { unet: tiny, schedule: { type: 'cosine-logsnr', logSnrMin: -20, logSnrMax: 20 }, prediction: 'eps' })).toThrow(file);
    // Neither the failed network nor the file's tensors stay behind.
    expect(tf.memory().numTensors).toBe(before);
    unet.dispose();
  });
});
