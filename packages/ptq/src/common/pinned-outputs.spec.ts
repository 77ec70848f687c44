import { createHash } from 'crypto';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { DiffusionMethod, sample, tinyStageContext } from '@diffpress/diffusion';
import { moduleDigest } from '@diffpress/eval';
import { ptqNaive } from '../ptq-naive/ptq-naive';
import { qDiffusion } from '../q-diffusion/q-diffusion';
import { tfmq } from '../tfmq/tfmq';

function digest(t: tf.Tensor): string {
  const d = t.dataSync() as Float32Array;
  return createHash('sha256').update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)).digest('hex');
}

const small = { calibration: { perStep: 6 }, weights: { iters: 4, batchSize: 8 }, diagnostics: { trajectories: 2 } };

/**
 * Samples and content digests of tiny quantized models. The samples were pinned when per-step models were still
 * sampled through a UNet subclass and a sampler policy, with the quantizers in ptq (commit 636c5b0): refactors of
 * the sampling path and the quantizers must not change a bit. The digests (which key cached samples) are those of
 * that commit too, except for the per-step (FSC) models, whose digests changed once when the UNet subclass went
 * (class name, and the calibrated model times the per-step quantizers now hold).
 */
const PINNED: Array<[string, DiffusionMethod<unknown>, Record<string, unknown>, string, string]> = [
  ['tfmq, FSC on every quantizer', tfmq as DiffusionMethod<unknown>, small, 'c6f36fecc747684fc870ecf111cf8d70c57b33b4720eca9f448172f888253291', 'a00f6d2f39e43f65d58669a671094f8b6ba50da1c1edbc97ccaa9bdaef5d39d4'],
  ['tfmq, FSC on the temporal features, no TIAR', tfmq as DiffusionMethod<unknown>, { ...small, fscScope: 'temporal', tiar: false, keepFp: 'tfmq-reference' }, '496d35831367ef11711e4719c3f83432b928c1338d12337d729aadb2d6d99893', '6f1193a87f97ca185121806f8f9bc9e664a867d418d2bbf6006efa4a52de84d7'],
  ['tfmq W4A32', tfmq as DiffusionMethod<unknown>, { ...small, activationBits: 32 }, '0b236e0f07bcf38bc5ba64b11b601db35a31c25875c937e79bec96553774d84d', '40abf9f1ccd261263c2d08ce6bae346261d1e1ee5d90a56d8b94b3b2013b7304'],
  ['ptq-naive', ptqNaive as DiffusionMethod<unknown>, { diagnostics: { trajectories: 2 } }, '93f953e381ad0113f49ae9845f7e1bc73d6843139b15c97f8241ff40593202d8', 'f7ca957e1261876a9e64171aa73eba9f74d6fd1ef489fd828f991eb63b56046d'],
  ['q-diffusion', qDiffusion as DiffusionMethod<unknown>, { ...small, activations: { iters: 4, batchSize: 8 } }, 'e8d1776fad7d23713544e4cf35f7f98a312684629fffb338969846d402381d76', 'a0690483c8a78c888bf91f7dba7e4e3da5d60b16ed487be26f1ebd72a1806092'],
];

describe('quantized models (pinned)', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

  it.each(PINNED)('%s: samples through the step hook and the model digest are the pinned ones', async (_name, method, raw, expected, digestPin) => {
    const ctx = tinyStageContext();
    const r = await method.apply(ctx, method.config.parse(raw));
    const m = r.model;
    if (!m) throw new Error('no model');
    const s = sample({ model: m.unet, schedule: m.schedule, prediction: m.prediction, shape: [8, 8, 1], count: 3, seed: 5, sampler: ctx.sampler, hooks: r.hook ? [r.hook] : [] });
    if (!s) throw new Error('no samples');
    expect(digest(s)).toBe(expected);
    expect(moduleDigest(m.unet)).toBe(digestPin);
    s.dispose();
    m.unet.dispose();
    ctx.model.unet.dispose();
  }, 120_000);
});
