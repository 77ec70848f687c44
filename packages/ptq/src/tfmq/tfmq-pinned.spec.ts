import { createHash } from 'crypto';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { DiffusionMethod, sample, tinyStageContext } from '@diffpress/diffusion';
import { ptqNaive } from '../ptq-naive/ptq-naive';
import { qDiffusion } from '../q-diffusion/q-diffusion';
import { tfmq } from './tfmq';

function digest(t: tf.Tensor): string {
  const d = t.dataSync() as Float32Array;
  return createHash('sha256').update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)).digest('hex');
}

const small = { calibration: { perStep: 6 }, weights: { iters: 4, batchSize: 8 }, diagnostics: { trajectories: 2 } };

/**
 * Samples of tiny quantized models, pinned when per-step models were still sampled through a UNet subclass and a
 * sampler policy (commit 636c5b0): refactors of the sampling path and the quantizers must not change a bit.
 */
const PINNED: Array<[string, DiffusionMethod<unknown>, Record<string, unknown>, string]> = [
  ['tfmq, FSC on every quantizer', tfmq as DiffusionMethod<unknown>, small, 'c6f36fecc747684fc870ecf111cf8d70c57b33b4720eca9f448172f888253291'],
  ['tfmq, FSC on the temporal features, no TIAR', tfmq as DiffusionMethod<unknown>, { ...small, fscScope: 'temporal', tiar: false, keepFp: 'tfmq-reference' }, '496d35831367ef11711e4719c3f83432b928c1338d12337d729aadb2d6d99893'],
  ['tfmq W4A32', tfmq as DiffusionMethod<unknown>, { ...small, activationBits: 32 }, '0b236e0f07bcf38bc5ba64b11b601db35a31c25875c937e79bec96553774d84d'],
  ['ptq-naive', ptqNaive as DiffusionMethod<unknown>, { diagnostics: { trajectories: 2 } }, '93f953e381ad0113f49ae9845f7e1bc73d6843139b15c97f8241ff40593202d8'],
  ['q-diffusion', qDiffusion as DiffusionMethod<unknown>, { ...small, activations: { iters: 4, batchSize: 8 } }, 'e8d1776fad7d23713544e4cf35f7f98a312684629fffb338969846d402381d76'],
];

describe('quantized samples (pinned)', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

  it.each(PINNED)('%s: samples through the step hook are bit-identical to the pinned ones', async (_name, method, raw, expected) => {
    const ctx = tinyStageContext();
    const r = await method.apply(ctx, method.config.parse(raw));
    const m = r.model;
    if (!m) throw new Error('no model');
    const s = sample({ model: m.unet, schedule: m.schedule, prediction: m.prediction, shape: [8, 8, 1], count: 3, seed: 5, sampler: ctx.sampler, hooks: r.hook ? [r.hook] : [] });
    if (!s) throw new Error('no samples');
    expect(digest(s)).toBe(expected);
    s.dispose();
    m.unet.dispose();
    ctx.model.unet.dispose();
  }, 120_000);
});
