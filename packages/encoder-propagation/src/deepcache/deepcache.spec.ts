import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { SamplerConfig, checkMethodContract, networkCall, sample, tinyPipelineModel, tinyStageContext, unetLayerInventory } from '@diffpress/diffusion';
import { shallowPathMacs, totalMacs, unetMacsByPart } from '../common/cost';
import { drawTiny, maxAbsDiff, stepCall } from '../common/testing';
import { deepcache, deepcacheFullSteps } from './deepcache';
import { deepCacheHook } from './hook';

const DDIM6: SamplerConfig = { kind: 'ddim', steps: 6 };

describe('deepcache', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('keeps the method contract', async () => {
    await checkMethodContract(deepcache, {
      configs: [{}, { interval: 2, branch: 0 }, { schedule: 'non-uniform', interval: 2 }, { zeroCache: true }, { branch: 'stem' }],
      sampler: DDIM6,
    });
  }, 120_000);

  it('with every step a full step, samples bit for bit as the plain sampler', () => {
    const m = tinyPipelineModel(1);
    const hook = deepCacheHook({ name: 'dc', fullSteps: [0, 1, 2, 3, 4, 5], steps: 6, branch: 1, zeroCache: false });
    expect(maxAbsDiff(drawTiny(m, DDIM6, [hook]), drawTiny(m, DDIM6, []))).toBe(0);
    expect(hook.stats).toEqual({ full: 6, reused: 0, parallelBatches: 0 });
    m.unet.dispose();
  });

  it('a partial step runs the shallow path on the deep feature cached at the last full step', () => {
    const m = tinyPipelineModel(1);
    const unet = m.unet;
    const z0 = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 1);
    const z1 = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 2);
    const hook = deepCacheHook({ name: 'dc', fullSteps: [0, 3], steps: 6, branch: 1, zeroCache: false });
    hook.beginSample?.([0, 1]);
    const c0 = stepCall(m, DDIM6, z0, 0);
    const c1 = stepCall(m, DDIM6, z1, 1);
    const full = hook.call?.(c0, networkCall) as tf.Tensor;
    expect(maxAbsDiff(full.dataSync(), networkCall(c0).dataSync())).toBe(0);
    const partial = hook.call?.(c1, networkCall) as tf.Tensor;
    const expected = tf.tidy(() => {
      const t0 = unet.timeEmbedding(c0.modelTime);
      const t1 = unet.timeEmbedding(c1.modelTime);
      const { skips, mid } = unet.encode(z0, t0);
      return unet.decodeShallow(unet.decodeDeep(skips, mid, t0, 1), unet.encodeShallow(z1, t1, 1), t1, 1);
    });
    expect(maxAbsDiff(partial.dataSync(), expected.dataSync())).toBe(0);
    hook.endSample?.();
    tf.dispose([z0, z1, full, partial, expected, c0.modelTime, c1.modelTime]);
    unet.dispose();
  });

  it('a zeroed cache changes the samples; the real cache changes them less', () => {
    const m = tinyPipelineModel(1);
    const plain = drawTiny(m, DDIM6, []);
    const cached = drawTiny(m, DDIM6, [deepCacheHook({ name: 'dc', fullSteps: [0, 3], steps: 6, branch: 1, zeroCache: false })]);
    const zeroed = drawTiny(m, DDIM6, [deepCacheHook({ name: 'dc', fullSteps: [0, 3], steps: 6, branch: 1, zeroCache: true })]);
    expect(maxAbsDiff(zeroed, cached)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(cached, plain)).toBeGreaterThan(0);
    expect(maxAbsDiff(cached, plain)).toBeLessThan(maxAbsDiff(zeroed, plain));
    m.unet.dispose();
  });

  it('resets its cache per batch: batches of 2 sample as one batch of 4; refuses a sampler it was not built for', () => {
    const m = tinyPipelineModel(1);
    const make = () => deepCacheHook({ name: 'dc', fullSteps: [0, 3], steps: 6, branch: 1, zeroCache: false });
    const c = m.unet.plan.config;
    const x = sample({ model: m.unet, schedule: m.schedule, prediction: m.prediction, shape: [c.imageSize[0], c.imageSize[1], c.inChannels], count: 4, seed: 0, sampler: DDIM6, hooks: [make()], batchSize: 2 }) as tf.Tensor;
    expect(maxAbsDiff(x.dataSync(), drawTiny(m, DDIM6, [make()]))).toBeLessThan(1e-5);
    x.dispose();
    expect(() => drawTiny(m, { kind: 'ddim', steps: 8 }, [make()])).toThrow(/resolved for a 6-step sampler, but this call comes from a 8-step one/);
    m.unet.dispose();
  });

  it('counts the shallow path as the blocks encodeShallow and decodeShallow run', () => {
    const m = tinyPipelineModel(1);
    const unet = m.unet;
    const total = totalMacs(unetMacsByPart(unet));
    const costs = unet.plan.skips.map((_, b) => shallowPathMacs(unet, b));
    // Deeper branches keep more of the network; every one is cheaper than the whole UNet.
    for (let b = 1; b < costs.length; b++) expect(costs[b]).toBeGreaterThan(costs[b - 1]);
    expect(costs[costs.length - 1]).toBeLessThan(total);
    // Branch 0 (the stem's skip): time MLP, stem, the last decoder block(s) from the one concatenating skip 0, head.
    const inv = new Map<string, number>();
    for (const l of unetLayerInventory(unet.plan)) inv.set(l.block, (inv.get(l.block) ?? 0) + l.macs);
    const dec = unet.decoderBlocks();
    const tail = dec.slice(unet.decoderBlockConsuming(0)).reduce((s, d) => s + (inv.get(d.block.name) ?? 0), 0);
    expect(costs[0]).toBe((inv.get('time') ?? 0) + (inv.get('stem') ?? 0) + tail + (inv.get('out') ?? 0));
    unet.dispose();
  });

  it('resolves uniform and non-uniform schedules from the config, and reports the predicted saving', async () => {
    expect(deepcacheFullSteps(deepcache.config.parse({ interval: 5 }), 50).fullSteps).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45]);
    expect(deepcacheFullSteps(deepcache.config.parse({ interval: 5, schedule: 'non-uniform', center: 15 }), 50).fullSteps).toEqual([0, 5, 9, 13, 17, 21, 26, 31, 37, 43]);
    expect(deepcacheFullSteps(deepcache.config.parse({ interval: 10, schedule: 'non-uniform' }), 50).fullSteps).toEqual([0, 9, 17, 26, 37]);
    // ⌈T / N⌉ full steps when N does not divide T, as the reference counts them.
    expect(deepcacheFullSteps(deepcache.config.parse({ interval: 3, schedule: 'non-uniform' }), 20).fullSteps).toHaveLength(7);
    const m = tinyPipelineModel(1);
    const r = await deepcache.apply(tinyStageContext(m, { sampler: DDIM6 }), deepcache.config.parse({ interval: 3 }));
    const [steps, full, partial, fullG, partialG, , , saving] = (r.diagnostics?.[0].rows[0] ?? []) as number[];
    expect([steps, full, partial]).toEqual([6, 2, 4]);
    expect(saving).toBeCloseTo((4 / 6) * (1 - partialG / fullG), 3);
    m.unet.dispose();
  });

  it('warns at validation over a few-step sampler', () => {
    const config = deepcache.config.parse({});
    expect(deepcache.warnings?.(config, { sampler: { kind: 'renoise', steps: 4 }, before: ['fake-student'] }).join()).toMatch(/pointless/);
    expect(deepcache.warnings?.(config, { sampler: { kind: 'ddim', steps: 20 }, before: [] })).toEqual([]);
  });
});
