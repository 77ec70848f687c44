import * as tf from '@tensorflow/tfjs';
import { callContext, initEngine } from '@diffpress/core';
import { SamplerConfig, checkMethodContract, networkCall, sample, samplerTimes, tinyPipelineModel, tinyStageContext } from '@diffpress/diffusion';
import { premiseTables } from '../common/premise';
import { drawTiny, maxAbsDiff, stepCall } from '../common/testing';
import { fasterDiffusion } from './faster-diffusion';
import { fasterDiffusionHook } from './hook';

const DDIM8: SamplerConfig = { kind: 'ddim', steps: 8 };

describe('faster-diffusion', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('keeps the method contract', async () => {
    await checkMethodContract(fasterDiffusion, {
      configs: [{ premiseSamples: 2 }, { keySteps: 'uniform-2', parallel: false, premiseSamples: 0 }, { propagate: 'decoder', premiseSamples: 0 }, { keySteps: [0, 2], priorNoise: false, premiseSamples: 0 }],
    });
  }, 120_000);

  it('with every step a key step, samples bit for bit as the plain sampler (forward = decode ∘ encode)', () => {
    const m = tinyPipelineModel(1);
    const plain = drawTiny(m, DDIM8, []);
    const hook = fasterDiffusionHook({ name: 'fd', keySteps: [0, 1, 2, 3, 4, 5, 6, 7], steps: 8, propagate: 'encoder', parallel: true, priorNoise: null });
    expect(maxAbsDiff(drawTiny(m, DDIM8, [hook]), plain)).toBe(0);
    expect(hook.stats).toEqual({ full: 8, reused: 0, parallelBatches: 0 });
    m.unet.dispose();
  });

  it('parallel decoding gives the sequential samples to float tolerance, in fewer decoder calls', () => {
    const m = tinyPipelineModel(1);
    const opts = { name: 'fd', keySteps: [0, 1, 4], steps: 8, propagate: 'encoder' as const, priorNoise: { alpha: 0.003, below: 0.5 } };
    const seqHook = fasterDiffusionHook({ ...opts, parallel: false });
    const parHook = fasterDiffusionHook({ ...opts, parallel: true });
    const seq = drawTiny(m, DDIM8, [seqHook]);
    const par = drawTiny(m, DDIM8, [parHook]);
    expect(maxAbsDiff(seq, par)).toBeLessThan(1e-5);
    // Something was propagated: the samples differ from the plain sampler's.
    expect(maxAbsDiff(seq, drawTiny(m, DDIM8, []))).toBeGreaterThan(1e-4);
    expect(seqHook.stats).toEqual({ full: 3, reused: 5, parallelBatches: 0 });
    // Groups [0], [1, 2, 3], [4, 5, 6, 7]: two batched decodes; the five non-key steps take their slices.
    expect(parHook.stats).toEqual({ full: 3, reused: 5, parallelBatches: 2 });
    m.unet.dispose();
  });

  it('a non-key step decodes the key step\'s cached features with its own time embedding; decoder propagation reuses the output', () => {
    const m = tinyPipelineModel(1);
    const unet = m.unet;
    const z0 = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 1);
    const z1 = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 2);
    const enc = fasterDiffusionHook({ name: 'fd', keySteps: [0], steps: 8, propagate: 'encoder', parallel: false, priorNoise: null });
    const dec = fasterDiffusionHook({ name: 'fd', keySteps: [0], steps: 8, propagate: 'decoder', parallel: false, priorNoise: null });
    enc.beginSample?.([0, 1]);
    dec.beginSample?.([0, 1]);
    const c0 = stepCall(m, DDIM8, z0, 0);
    const c1 = stepCall(m, DDIM8, z1, 1);
    const key = enc.call?.(c0, networkCall) as tf.Tensor;
    expect(maxAbsDiff(key.dataSync(), networkCall(c0).dataSync())).toBe(0);
    const nonKey = enc.call?.(c1, networkCall) as tf.Tensor;
    const expected = tf.tidy(() => {
      const { skips, mid } = unet.encode(z0, unet.timeEmbedding(c0.modelTime));
      return unet.decode(skips, mid, unet.timeEmbedding(c1.modelTime));
    });
    expect(maxAbsDiff(nonKey.dataSync(), expected.dataSync())).toBe(0);
    const dKey = dec.call?.(c0, networkCall) as tf.Tensor;
    const dNonKey = dec.call?.(c1, networkCall) as tf.Tensor;
    expect(maxAbsDiff(dNonKey.dataSync(), dKey.dataSync())).toBe(0);
    enc.endSample?.();
    dec.endSample?.();
    tf.dispose([z0, z1, key, nonKey, expected, dKey, dNonKey, c0.modelTime, c1.modelTime]);
    unet.dispose();
  });

  it('prior noise injection adds exactly α·z_T at the steps whose model time is below the start, and nothing before', () => {
    const m = tinyPipelineModel(1);
    const hook = fasterDiffusionHook({ name: 'fd', keySteps: [0], steps: 10, propagate: 'encoder', parallel: false, priorNoise: { alpha: 0.25, below: 0.5 } });
    const times = samplerTimes(m.schedule, { kind: 'ddim', steps: 10 });
    const z = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const zT = tf.tensor4d([4, -8, 0, 2], [1, 2, 2, 1]);
    const injected = times.map((t, i) => {
      const out = hook.beforeStep?.({ z, zT, stepIndex: i, t, times, indices: [0], schedule: m.schedule });
      const r = out ? Array.from(out.dataSync()) : null;
      out?.dispose();
      return r;
    });
    const first = times.findIndex((t) => m.schedule.modelTime(t) < 500);
    expect(first).toBeGreaterThan(0);
    injected.forEach((r, i) => {
      if (i < first) expect(r).toBeNull();
      else expect(r).toEqual([2, 0, 3, 4.5]);
    });
    tf.dispose([z, zT]);
    m.unet.dispose();
  });

  it('every decoder call runs with its rows\' own steps (what per-step quantizers read), batched or not', () => {
    const m = tinyPipelineModel(1);
    const seen: number[][] = [];
    const decode = m.unet.decode.bind(m.unet);
    m.unet.decode = (skips, mid, temb) => {
      seen.push([...(callContext()?.stepIndices ?? [])]);
      return decode(skips, mid, temb);
    };
    const sampler: SamplerConfig = { kind: 'ddim', steps: 4 };
    drawTiny(m, sampler, [fasterDiffusionHook({ name: 'fd', keySteps: [0, 2], steps: 4, propagate: 'encoder', parallel: true, priorNoise: null })], 2);
    expect(seen).toEqual([[0, 0, 1, 1], [2, 2, 3, 3]]);
    seen.length = 0;
    drawTiny(m, sampler, [fasterDiffusionHook({ name: 'fd', keySteps: [0, 2], steps: 4, propagate: 'encoder', parallel: false, priorNoise: null })], 2);
    expect(seen).toEqual([[0, 0], [1, 1], [2, 2], [3, 3]]);
    m.unet.dispose();
  });

  it('resets its cache per batch: batches of 2 sample as one batch of 4; refuses a sampler it was not built for', () => {
    const m = tinyPipelineModel(1);
    const make = () => fasterDiffusionHook({ name: 'fd', keySteps: [0, 1, 4], steps: 8, propagate: 'encoder', parallel: true, priorNoise: { alpha: 0.003, below: 0.5 } });
    const c = m.unet.plan.config;
    const x = sample({ model: m.unet, schedule: m.schedule, prediction: m.prediction, shape: [c.imageSize[0], c.imageSize[1], c.inChannels], count: 4, seed: 0, sampler: DDIM8, hooks: [make()], batchSize: 2 }) as tf.Tensor;
    expect(maxAbsDiff(x.dataSync(), drawTiny(m, DDIM8, [make()]))).toBeLessThan(1e-5);
    x.dispose();
    expect(() => drawTiny(m, { kind: 'ddim', steps: 10 }, [make()])).toThrow(/resolved for a 8-step sampler, but this call comes from a 10-step one/);
    m.unet.dispose();
  });

  it('grades the premise by the ratio of encoder to decoder change', () => {
    const grade = (enc: number, dec: number): string =>
      premiseTables('fd', { blocks: ['stem', 'up.0.res.0'], parts: ['encoder', 'decoder'], change: [[enc, dec]] }, 1)[0].description ?? '';
    expect(grade(0.1, 0.5)).toMatch(/ratio 0\.20: the premise of encoder propagation \(ratio ≪ 1\) holds on this model/);
    expect(grade(0.4, 0.5)).toMatch(/ratio 0\.80: .* holds only weakly/);
    expect(grade(0.6, 0.5)).toMatch(/ratio 1\.20: .* is broken by this model/);
  });

  it('reports the premise check and the predicted saving non-key/total × f_EB', async () => {
    const m = tinyPipelineModel(1);
    const r = await fasterDiffusion.apply(tinyStageContext(m, { sampler: DDIM8 }), fasterDiffusion.config.parse({ keySteps: [0, 1, 4], premiseSamples: 2 }));
    const ids = (r.diagnostics ?? []).map((d) => d.id);
    expect(ids).toEqual(['faster-diffusion.premise-blocks', 'faster-diffusion.premise-steps', 'faster-diffusion.cost']);
    const blocks = r.diagnostics?.[0].rows ?? [];
    expect(blocks.length).toBe(1 + m.unet.blockNames().length);
    for (const row of blocks) expect(row[2] as number).toBeGreaterThan(0);
    expect(r.diagnostics?.[1].rows.length).toBe(7);
    const cost = r.diagnostics?.[2].rows[0] ?? [];
    const [steps, full, partial, fullG, partialG] = cost as number[];
    expect([steps, full, partial]).toEqual([8, 3, 5]);
    expect(cost[7]).toBeCloseTo((5 / 8) * (1 - partialG / fullG), 3);
    m.unet.dispose();
  });

  it('warns at validation when the sampler leaves nothing worth caching', () => {
    const config = fasterDiffusion.config.parse({});
    expect(fasterDiffusion.warnings?.(config, { sampler: { kind: 'ddim', steps: 4 }, before: [] }).join()).toMatch(/4-step sampler/);
    expect(fasterDiffusion.warnings?.(config, { sampler: { kind: 'ddim', steps: 50 }, before: [] })).toEqual([]);
    expect(fasterDiffusion.warnings?.(fasterDiffusion.config.parse({ keySteps: 'uniform-1' }), { sampler: { kind: 'ddim', steps: 10 }, before: [] }).join()).toMatch(/every one of the 10 steps is a key step, so nothing is reused/);
  });
});
