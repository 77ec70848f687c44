import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { wasmHeapBytes } from '@diffpress/core';
import {
  DataBatch, DiffusionLossOptions, DiffusionStageContext, HELD_OUT_SEED, NoisyBatch, TrainLogEntry, TrainResult, UNet, datasetBatches, noisyBatch,
  predictionLoss, stageTrainer, takeBatch,
} from '@diffpress/diffusion';
import { FeatureDistiller, FeatureDistillOptions } from './feature-distillation';

/** Training settings of a QAT step (the `train` block of every binarization method's config). */
export interface QatTrainConfig {
  /** Updates. */
  steps: number;
  /** Samples per update. */
  batchSize: number;
  /** Peak learning rate of AdamW. */
  lr: number;
  /** AdamW's decoupled weight decay. */
  weightDecay: number;
  /** Linear warm-up updates. */
  warmupSteps: number;
  /** Learning-rate decay after warm-up. */
  decay: 'constant' | 'cosine';
  /** Clip the global gradient norm to this (null: no clipping). */
  clipGradNorm: number | null;
  /** Evaluate the monitor batch every this many updates (the report's training curves). */
  monitorEvery: number;
  /** Samples of the fixed monitor batch. */
  monitorSamples: number;
}

/** What a method adds to the QAT objective and schedule. */
export interface QatHooks {
  /** Called before the forward of update `step` (0-based): schedules such as progressive initialisation and EBB. */
  onStep?(step: number): void;
  /** An extra loss term at `step` (EBB's α₂ regulariser), or null. */
  regularizer?(step: number): tf.Scalar | null;
}

/** One point of the training curves. */
export interface QatCurvePoint {
  /** Updates done. */
  step: number;
  /** Mean training loss (total objective) over the updates since the previous point. */
  trainLoss: number;
  /** Denoising loss of the monitor batch (fixed samples, t and ε). */
  monitorLoss: number;
  /** Feature term of the monitor batch (0 without distillation). */
  monitorDistill: number;
  /** The wasm heap at this point (MiB; it never shrinks, so its growth over the points is the run's), or null on another backend. */
  heapMiB: number | null;
}

/** Result of {@link runQat}. */
export interface QatResult {
  /** The trainer's result (resumes included). */
  train: TrainResult;
  /** Training curves, one point per monitor evaluation. */
  curve: QatCurvePoint[];
  /** Mean wall-clock seconds per update over the whole run (resumed parts included). */
  secondsPerUpdate: number;
  /** The wasm heap after training (its high-water mark), or null on another backend. */
  heapBytes: number | null;
  /** LRM projection shapes `[d, r]` by block, when LRM was used. */
  lrmRanks: Record<string, [number, number]>;
}

/** A training batch with its noise draw and, when distilling, the frozen teacher's block outputs. */
type QatBatch = { data: DataBatch; draw: NoisyBatch; teacher: Record<string, tf.Tensor> | null };

/** The student's block outputs that enter the feature term: every block and the stem, not the network output. */
function blockFeatures(features: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
  const { out: _out, ...blocks } = features;
  return blocks;
}

function disposeBatch(b: QatBatch): void {
  b.data.x.dispose();
  tf.dispose([b.draw.eps, b.draw.z, b.draw.modelTimes, b.draw.alpha, b.draw.sigma]);
  if (b.teacher) tf.dispose(Object.values(b.teacher));
}

/**
 * Quantization-aware training of `student` (a copy of the FP model whose layers a method replaced) from the step's FP
 * teacher (binarization spec §0–§1): the model's own denoising loss on the recipe's training data (t and ε drawn as
 * in FP training) plus the feature term of `distill` on every block output of the UNet's collect-all view (teacher
 * frozen, on the same `z_t, t`) plus the hooks' regulariser, minimised by AdamW. The run checkpoints into the step's
 * folder and resumes there, stops on NaN, reports progress with ETA, and evaluates a fixed monitor batch every
 * `monitorEvery` updates for the training curves.
 */
export async function runQat(ctx: DiffusionStageContext, student: UNet, config: QatTrainConfig, distill: FeatureDistillOptions, hooks: QatHooks = {}): Promise<QatResult> {
  const data = ctx.data;
  const teacher = ctx.teacher.unet;
  const lossOptions: DiffusionLossOptions = { schedule: ctx.model.schedule, prediction: ctx.model.prediction };
  const distiller = new FeatureDistiller(distill);
  const nextBatch = datasetBatches(data, config.batchSize, ctx.seed);
  const teacherFeatures = (draw: NoisyBatch): Record<string, tf.Tensor> => tf.tidy(() => blockFeatures(teacher.forwardWithFeatures(draw.z, draw.modelTimes).features));
  const batches = (step: number): QatBatch => {
    const d = nextBatch(step);
    const draw = noisyBatch(lossOptions.schedule, d, ctx.seed);
    return { data: d, draw, teacher: distiller.active ? teacherFeatures(draw) : null };
  };
  if (distiller.active) {
    // LRM's projections come from the first batch's teacher features, also when resuming (the same batch, the same K).
    const first = batches(0);
    distiller.fit(first.teacher as Record<string, tf.Tensor>);
    disposeBatch(first);
  }

  const monitorRows = Array.from({ length: Math.min(config.monitorSamples, data.size) }, (_, i) => i);
  const monitor = (model: UNet): Record<string, number> => {
    let loss = 0;
    let feat = 0;
    for (let s = 0; s < monitorRows.length; s += config.batchSize) {
      const rows = monitorRows.slice(s, s + config.batchSize);
      const batch: DataBatch = { x: takeBatch(data, rows), indices: rows };
      const draw = noisyBatch(lossOptions.schedule, batch, HELD_OUT_SEED);
      const [l, f] = tf.tidy(() => {
        const out = model.forwardWithFeatures(draw.z, draw.modelTimes);
        const lv = predictionLoss(lossOptions, batch.x, draw, out.output);
        const fv = distiller.active ? distiller.loss(blockFeatures(out.features), teacherFeatures(draw)) : tf.scalar(0);
        return [lv.dataSync()[0], fv.dataSync()[0]];
      });
      loss += l * rows.length;
      feat += f * rows.length;
      disposeBatch({ data: batch, draw, teacher: null });
    }
    const heap = wasmHeapBytes();
    return { monitorLoss: loss / monitorRows.length, monitorDistill: feat / monitorRows.length, ...(heap == null ? {} : { heapMiB: heap / 2 ** 20 }) };
  };

  const trainer = stageTrainer<UNet, QatBatch>(ctx, {
    model: student,
    loss: (model, batch, tctx) => {
      hooks.onStep?.(tctx.step);
      return tf.tidy(() => {
        const out = model.forwardWithFeatures(batch.draw.z, batch.draw.modelTimes);
        let total = predictionLoss(lossOptions, batch.data.x, batch.draw, out.output);
        if (batch.teacher) total = tf.add(total, distiller.loss(blockFeatures(out.features), batch.teacher));
        const reg = hooks.regularizer?.(tctx.step);
        if (reg) total = tf.add(total, reg);
        return total as tf.Scalar;
      });
    },
    batches,
    disposeBatch,
    steps: config.steps,
    seed: ctx.seed,
    lr: { lr: config.lr, warmupSteps: config.warmupSteps, decay: config.decay, totalSteps: config.steps },
    optimizer: { weightDecay: config.weightDecay },
    emaDecay: null,
    clipGradNorm: config.clipGradNorm,
    validate: { every: config.monitorEvery, run: (model) => monitor(model) },
    runConfig: { qat: { ...config }, distill: { ...distill } },
  });
  try {
    const train = await trainer.run();
    return {
      train,
      curve: readCurve(trainer.logFile),
      secondsPerUpdate: trainer.totalTrainedSeconds / Math.max(1, train.step),
      heapBytes: wasmHeapBytes(),
      lrmRanks: distiller.ranks(),
    };
  } finally {
    trainer.dispose();
    distiller.dispose();
  }
}

/** The training curves from a trainer's JSONL log: one point per validated entry, with the mean training loss since the last. */
export function readCurve(logFile: string): QatCurvePoint[] {
  if (!fs.existsSync(logFile)) return [];
  const entries = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as TrainLogEntry);
  const points: QatCurvePoint[] = [];
  let sum = 0;
  let count = 0;
  for (const e of entries) {
    sum += e.loss;
    count += 1;
    if (!e.validation) continue;
    points.push({ step: e.step, trainLoss: sum / count, monitorLoss: e.validation.monitorLoss, monitorDistill: e.validation.monitorDistill ?? 0, heapMiB: e.validation.heapMiB ?? null });
    sum = 0;
    count = 0;
  }
  return points;
}
