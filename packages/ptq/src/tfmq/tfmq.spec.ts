import * as tf from '@tensorflow/tfjs';
import { UniformQuantizer, initEngine, seededNormalBatch, withCallContext } from '@diffpress/core';
import { PipelineModel, UNet, checkMethodContract, composeHooks, modelCall, sample, samplerTimes, tinyStageContext } from '@diffpress/diffusion';
import { tfmq } from './tfmq';

const small = { calibration: { perStep: 6 }, weights: { iters: 20, batchSize: 12 }, diagnostics: { trajectories: 2 } };

function stepQuantizers(model: PipelineModel): Array<[string, UniformQuantizer]> {
  return model.unet.namedModules().filter((e): e is [string, UniformQuantizer] => e[1] instanceof UniformQuantizer && (e[1] as UniformQuantizer).steps != null);
}

describe('tfmq', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('keeps the method contract', async () => {
    await checkMethodContract(tfmq, {
      configs: [
        { ...small, weights: { iters: 4, batchSize: 8 } },
        { ...small, weights: { iters: 4, batchSize: 8 }, fscScope: 'temporal', tiar: false, keepFp: 'tfmq-reference' },
        { ...small, weights: { iters: 4, batchSize: 8 }, activationBits: 32, diagnostics: { trajectories: 0 } },
      ],
    });
  }, 240_000);

  it('FSC: sampling at step i uses exactly the parameters calibrated for step i', async () => {
    const ctx = tinyStageContext();
    const fsc = await tfmq.apply(ctx, tfmq.config.parse({ ...small, weights: { iters: 0 } }));
    const plain = await tfmq.restore(ctx, tfmq.config.parse({ ...small, weights: { iters: 0 }, fsc: false }), null);
    const [a, b] = [fsc.model, plain.model];
    if (!a || !b || !fsc.hook) throw new Error('missing model or hook');
    const viaHook = composeHooks([fsc.hook]);
    // No UNet subclass: the per-step quantizers read each row's step from the call context.
    expect(a.unet.constructor).toBe(UNet);
    // Same weights (the single-range model gets the FSC model's weights; quantizer buffers are set per step below).
    const own = b.unet.stateDict();
    const weights = new Map([...a.unet.stateDict()].filter(([k, v]) => tf.util.arraysEqual(own.get(k)?.shape ?? [], v.shape)));
    b.unet.loadStateDict(weights, { strict: false });
    const perStep = stepQuantizers(a);
    expect(perStep.length).toBeGreaterThan(10);
    const single = new Map(b.unet.namedModules().filter((e): e is [string, UniformQuantizer] => e[1] instanceof UniformQuantizer));
    const times = samplerTimes(ctx.model.schedule, { kind: 'ddim', steps: 4 });
    const x = seededNormalBatch([8, 8, 1], { seed: 9, stream: 'fsc', indices: [0, 1] });
    const outputs: Float32Array[] = [];
    const setTwin = (step: number): void => {
      for (const [path, q] of perStep) {
        const twin = single.get(path);
        if (!twin) throw new Error(`no twin for ${path}`);
        twin.setParams({ delta: Float32Array.of(q.delta.dataSync()[step]), zero: Float32Array.of(q.zero.dataSync()[step]) });
      }
    };
    for (let i = 0; i < times.length; i++) {
      setTwin(i);
      const mt = tf.fill([2], ctx.model.schedule.modelTime(times[i]));
      const sampled = viaHook(modelCall({ model: a.unet, z: x, t: times[i], modelTime: mt, stepIndex: i, times, indices: [0, 1], schedule: ctx.model.schedule }));
      const direct = a.unet.forward(x, mt);
      const reference = b.unet.forward(x, mt);
      expect(Array.from(sampled.dataSync())).toEqual(Array.from(reference.dataSync()));
      expect(Array.from(direct.dataSync())).toEqual(Array.from(reference.dataSync()));
      outputs.push(reference.dataSync().slice() as Float32Array);
      tf.dispose([mt, sampled, direct, reference]);
    }
    // The steps really have different parameters, and they matter: step 0's parameters at step 3's time give another
    // output than step 3's own (so the equalities above could not hold with the wrong step's parameters).
    const deltas = perStep.map(([, q]) => Array.from(q.delta.dataSync()));
    expect(deltas.some((d) => d[0] !== d[3])).toBe(true);
    setTwin(0);
    const mt3 = tf.fill([2], ctx.model.schedule.modelTime(times[3]));
    const wrong = b.unet.forward(x, mt3);
    const diff = Math.max(...Array.from(wrong.dataSync()).map((v, k) => Math.abs(v - outputs[3][k])));
    expect(diff).toBeGreaterThan(1e-4);
    tf.dispose([mt3, wrong]);
    x.dispose();
    a.unet.dispose();
    b.unet.dispose();
    ctx.model.unet.dispose();
  }, 60_000);

  it('one call whose rows carry different steps gives, row for row, the output of one call per step', async () => {
    const ctx = tinyStageContext();
    const r = await tfmq.apply(ctx, tfmq.config.parse({ ...small, weights: { iters: 0 }, diagnostics: { trajectories: 0 } }));
    const m = r.model;
    if (!m || !r.hook) throw new Error('missing model or hook');
    const { schedule } = ctx.model;
    const times = samplerTimes(schedule, ctx.sampler);
    const rowSteps = [0, 3, 1, 2, 3];
    const x = seededNormalBatch([8, 8, 1], { seed: 4, stream: 'rows', indices: rowSteps.map((_, i) => i) });
    const mt = tf.tensor1d(rowSteps.map((s) => schedule.modelTime(times[s])));
    // Through the hook, as a hook that batches the calls of several steps (parallel decoding) would pass them on.
    const mixed = composeHooks([r.hook])(modelCall({ model: m.unet, z: x, t: times[0], modelTime: mt, stepIndex: 0, rowSteps, times, indices: [0, 1, 2, 3, 4], schedule }));
    // A direct call finds each row's step by its model time.
    const byTime = m.unet.forward(x, mt);
    const separate = rowSteps.map((s, i) =>
      tf.tidy(() => withCallContext({ stepIndices: [s] }, () => m.unet.forward(x.slice([i, 0, 0, 0], [1, 8, 8, 1]), mt.slice([i], [1])))),
    );
    const joined = tf.concat(separate);
    expect(Array.from(mixed.dataSync())).toEqual(Array.from(joined.dataSync()));
    expect(Array.from(byTime.dataSync())).toEqual(Array.from(joined.dataSync()));
    // Block-output distillation (BinaryDM, BiDM) calls forwardWithFeatures: it finds the rows' steps the same way.
    const withFeatures = m.unet.forwardWithFeatures(x, mt);
    expect(Array.from(withFeatures.output.dataSync())).toEqual(Array.from(joined.dataSync()));
    tf.dispose([x, mt, mixed, byTime, joined, ...separate, ...Object.values(withFeatures.features)]);
    m.unet.dispose();
    ctx.model.unet.dispose();
  }, 60_000);

  it('refuses a sampler whose steps differ from the calibrated ones, and a direct call at an uncalibrated time', async () => {
    const ctx = tinyStageContext();
    const r = await tfmq.apply(ctx, tfmq.config.parse({ ...small, weights: { iters: 0 }, diagnostics: { trajectories: 0 } }));
    const m = r.model;
    const hook = r.hook;
    if (!m || !hook) throw new Error('missing model or hook');
    const draw = (steps: number): void => {
      sample({ model: m.unet, schedule: m.schedule, prediction: m.prediction, shape: [8, 8, 1], count: 1, seed: 0, sampler: { kind: 'ddim', steps }, hooks: [hook] })?.dispose();
    };
    expect(() => draw(4)).not.toThrow();
    expect(() => draw(8)).toThrow(/calibrated per step for ddim-4 \(4 steps.*visits 8 steps/);
    const x = tf.zeros([1, 8, 8, 1]);
    const t = tf.tensor1d([123]);
    expect(() => m.unet.forward(x, t)).toThrow(/model time 123 is not one of the 4 steps of ddim-4/);
    tf.dispose([x, t]);
    m.unet.dispose();
    ctx.model.unet.dispose();
  }, 60_000);

  it('TIAR brings the temporal features closer to FP than reconstructing them inside the blocks', async () => {
    const ctx = tinyStageContext();
    const minCos = async (tiar: boolean): Promise<number> => {
      const r = await tfmq.apply(ctx, tfmq.config.parse({ ...small, weightBits: 3, activationBits: 32, tiar, weights: { iters: 60, batchSize: 12, lr: 1e-2, init: 'minmax' }, diagnostics: { trajectories: 0 } }));
      const table = r.diagnostics?.find((d) => d.id === 'tfmq.temporal-cosine-per-block');
      r.model?.unet.dispose();
      if (!table) throw new Error('no cosine table');
      return table.rows.reduce((s, row) => s + (1 - (row[2] as number)), 0);
    };
    const withTiar = await minCos(true);
    const without = await minCos(false);
    expect(withTiar).toBeLessThan(without);
    ctx.model.unet.dispose();
  }, 120_000);

  it('FSC needs calibration rows at every step, says so, and a failed step leaves no tensors', async () => {
    const ctx = tinyStageContext();
    const before = tf.memory().numTensors;
    await expect(tfmq.apply(ctx, tfmq.config.parse({ ...small, weights: { iters: 0 }, calibration: { strategy: 'uniform', steps: 2, perStep: 4 } }))).rejects.toThrow(
      /data for 2 of 4 steps; the calibration set must cover every sampler step \(strategy 'all'\)/,
    );
    expect(tf.memory().numTensors).toBe(before);
    ctx.model.unet.dispose();
  }, 60_000);
});
