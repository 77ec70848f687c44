import { AnyModule } from '@diffpress/core';
import { DiffusionStageContext } from '../models/pipeline-model';
import { TrainResult, Trainer, TrainerOptions } from './trainer';

/** {@link TrainerOptions} without what a pipeline step's context decides (folder, checkpoint interval, log, progress). */
export type StageTrainerOptions<M extends AnyModule, B> = Omit<TrainerOptions<M, B>, 'dir' | 'checkpointEvery' | 'log' | 'onProgress'>;

/**
 * The {@link Trainer} of a training step (QAT, distillation): it checkpoints into the step's
 * `ctx.checkpoints.dir` every `ctx.checkpoints.every` updates, so a killed run resumes the step where it stopped;
 * its lines go to the run log and its updates to the run's progress line. A NaN/Inf loss or gradient stops it with
 * `TrainingDivergedError`, which names the last good checkpoint (left untouched).
 *
 * @example
 * ```ts
 * apply: async (ctx, config) => {
 *   const student = copyOf(ctx.model.unet);
 *   await stageTrainer(ctx, { model: student, loss, batches: datasetBatches(ctx.data, 32, ctx.seed), steps: config.steps, seed: ctx.seed, lr: { lr: 1e-4 } }).run();
 *   return { model: { ...ctx.model, unet: student } };
 * }
 * ```
 */
export function stageTrainer<M extends AnyModule, B>(ctx: DiffusionStageContext, options: StageTrainerOptions<M, B>): Trainer<M, B> {
  return new Trainer({ ...options, dir: ctx.checkpoints.dir, checkpointEvery: ctx.checkpoints.every, log: ctx.log, onProgress: ctx.progress });
}

/** Runs {@link stageTrainer} to the end (resuming from the step's checkpoints) and returns its result. */
export async function trainInStage<M extends AnyModule, B>(ctx: DiffusionStageContext, options: StageTrainerOptions<M, B>): Promise<TrainResult> {
  return stageTrainer(ctx, options).run();
}
