import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Rng, initEngine } from '@diffpress/core';
import { datasetBatches } from '../data/batches';
import { ArrayDataset } from '../data/dataset';
import { DiffusionStageContext, PipelineModel } from '../models/pipeline-model';
import { tinyPipelineModel, tinyStageContext } from '../testing/method-contract';
import { UNet } from '../unet/unet';
import { DataBatch } from './diffusion-loss';
import { StageTrainerOptions, stageTrainer, trainInStage } from './stage-trainer';
import { LossFn, TrainingDivergedError } from './trainer';

/** A student copied from the teacher, trained to match the teacher's output on noised data (a distillation in miniature). */
function student(teacher: PipelineModel): UNet {
  const unet = new UNet(teacher.unet.plan.config, { rng: new Rng(0, 'student') });
  unet.loadStateDict(teacher.unet.stateDict(), { strict: true });
  return unet;
}

function options(ctx: DiffusionStageContext, model: UNet, nanAt = -1): StageTrainerOptions<UNet, DataBatch> {
  const loss: LossFn<UNet, DataBatch> = (m, batch, c) =>
    tf.tidy(() => {
      const t = tf.fill([batch.x.shape[0]], 500);
      const z = tf.add(batch.x, tf.mul(c.rng.normal(batch.x.shape as number[]), 0.5));
      const target = ctx.teacher.unet.forward(z, t);
      const mse = tf.mean(tf.squaredDifference(m.forward(z, t), tf.add(target, 0.1))) as tf.Scalar;
      return c.step === nanAt ? (tf.mul(mse, NaN) as tf.Scalar) : mse;
    });
  return { model, loss, batches: datasetBatches(ctx.data, 4, ctx.seed), steps: 4, seed: ctx.seed, lr: { lr: 1e-3 }, emaDecay: null };
}

describe('stageTrainer: the training context of a pipeline step', () => {
  let tmp: string;
  let data: ArrayDataset;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-stage-train-'));
    const values = new Rng(4, 'stage-data').uniformArray(12 * 64).map((v) => 2 * v - 1);
    data = { name: 'tiny', sampleShape: [8, 8, 1], size: 12, data: values };
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function context(name: string, progress: Array<[number, number]> = []): DiffusionStageContext {
    const teacher = tinyPipelineModel(2);
    return { ...tinyStageContext(teacher, { workDir: path.join(tmp, name), data }), checkpoints: { dir: path.join(tmp, name, 'checkpoints'), every: 2 }, progress: (d, t) => progress.push([d, t]) };
  }

  it('trains on the step’s data against the frozen teacher, reports progress, and a killed step resumes bit-identically', async () => {
    const progress: Array<[number, number]> = [];
    const full = context('full', progress);
    const teacherBefore = Array.from(full.teacher.unet.stateDict().get('out.conv.weight')?.dataSync() ?? []);
    const a = student(full.teacher);
    const r = await trainInStage(full, options(full, a));
    expect(r).toMatchObject({ step: 4, finished: true, resumedFrom: 0 });
    expect(progress).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
    expect(Array.from(full.teacher.unet.stateDict().get('out.conv.weight')?.dataSync() ?? [])).toEqual(teacherBefore);
    expect(fs.existsSync(path.join(full.checkpoints.dir, 'latest.json'))).toBe(true);

    const killed = context('killed');
    const b = student(killed.teacher);
    await stageTrainer(killed, { ...options(killed, b), stopAfter: 2 }).run();
    const c = student(killed.teacher); // a new process: fresh weights, the step's folder is all that survived
    const resumed = await trainInStage(killed, options(killed, c));
    expect(resumed.resumedFrom).toBe(2);
    for (const [name, v] of a.stateDict()) expect(Array.from(c.stateDict().get(name)?.dataSync() ?? [])).toEqual(Array.from(v.dataSync()));
    [a, b, c, full.teacher.unet, killed.teacher.unet].forEach((u) => u.dispose());
  }, 120_000);

  it('stops on a NaN loss with a message naming the last good checkpoint', async () => {
    const ctx = context('nan');
    const s = student(ctx.teacher);
    const run = trainInStage(ctx, options(ctx, s, 2));
    await expect(run).rejects.toThrow(TrainingDivergedError);
    await expect(trainInStage(ctx, options(ctx, s, 2))).rejects.toThrow(/loss is NaN.*step-0000002/s);
    s.dispose();
    ctx.teacher.unet.dispose();
  }, 60_000);
});
