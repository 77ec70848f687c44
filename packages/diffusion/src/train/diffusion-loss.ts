import * as tf from '@tensorflow/tfjs';
import { Module, Rng, seededNormalBatch, seededUniformArray } from '@diffpress/core';
import { ArrayDataset, takeBatch } from '../data/dataset';
import { LossWeighting, Prediction, diffuse, perExample, toXEps, weightedLoss } from '../schedule/parameterization';
import { NoiseSchedule } from '../schedule/schedule';
import { LossFn } from './trainer';

/** A denoiser: `(z [n, ...], modelTime [n]) → output` (UNet, MLP denoiser). */
export type Denoiser = Module<[tf.Tensor, tf.Tensor], tf.Tensor>;

/** A batch of clean data and the global indices of its samples (they key the training noise). */
export interface DataBatch {
  /** Clean samples `[n, ...]`. */
  x: tf.Tensor;
  /** Global position of each sample in the training stream (`step·batchSize + j`). */
  indices: number[];
  /** Dataset row of each sample, where the batch comes from a dataset (labels are looked up by it). */
  rows?: number[];
}

/** Options of {@link diffusionLoss}. */
export interface DiffusionLossOptions {
  /** Noise schedule. */
  schedule: NoiseSchedule;
  /** What the network predicts. */
  prediction: Prediction;
  /** Loss weighting (default `'snr'` for ε-prediction — DDPM's simple loss — and `'snr+1'` otherwise). */
  weighting?: LossWeighting;
}

/**
 * The denoising objective: draw t and ε for each sample (keyed by the run seed and the sample's global index, so a
 * resumed run draws the same), form `z = α_t x + σ_t ε`, run the network, convert its output to (x̂, ε̂) and
 * average the weighted per-example loss. With `'snr'` weighting and ε-prediction this is DDPM's `‖ε − ε̂‖²`; with
 * `'snr+1'` it is the v-MSE progressive distillation trains its teachers with.
 *
 * @example
 * ```ts
 * const loss = diffusionLoss({ schedule: new LinearBetaSchedule(), prediction: 'eps' });
 * ```
 */
export function diffusionLoss(options: DiffusionLossOptions): LossFn<Denoiser, DataBatch> {
  const { schedule } = options;
  return (model, batch, ctx) =>
    tf.tidy(() => {
      const draw = noisyBatch(schedule, batch, ctx.seed);
      return predictionLoss(options, batch.x, draw, model.forward(draw.z, draw.modelTimes));
    });
}

/** The noisy inputs of one training batch (see {@link noisyBatch}); the caller disposes the tensors. */
export type NoisyBatch = {
  /** The noise ε, shaped like the clean batch. */
  eps: tf.Tensor;
  /** `z = α_t x + σ_t ε`. */
  z: tf.Tensor;
  /** Training times t ∈ (0, 1], one per sample. */
  times: number[];
  /** The network's times `[n]` (`schedule.modelTime(t)`). */
  modelTimes: tf.Tensor1D;
  /** α_t broadcast per example. */
  alpha: tf.Tensor;
  /** σ_t broadcast per example. */
  sigma: tf.Tensor;
};

/**
 * The t, ε and z of {@link diffusionLoss} for `batch`: t and ε keyed by the run seed and each sample's global index
 * (streams `train-t`, `train-eps`), so that every objective built on it (QAT, distillation) draws exactly what FP
 * training draws and a resumed run draws the same.
 */
export function noisyBatch(schedule: NoiseSchedule, batch: DataBatch, seed: number): NoisyBatch {
  const n = batch.x.shape[0];
  const rank = batch.x.rank;
  if (n !== batch.indices.length) throw new Error(`diffusionLoss: ${n} samples but ${batch.indices.length} indices`);
  const times = batch.indices.map((ix) => schedule.trainingTime(seededUniformArray(1, { seed, stream: 'train-t', index: ix })[0]));
  return tf.tidy(() => {
    const eps = seededNormalBatch(batch.x.shape.slice(1), { seed, stream: 'train-eps', indices: batch.indices });
    const alpha = perExample(times.map((t) => schedule.alpha(t)), rank);
    const sigma = perExample(times.map((t) => schedule.sigma(t)), rank);
    const z = diffuse(batch.x, eps, alpha, sigma);
    const modelTimes = tf.tensor1d(times.map((t) => schedule.modelTime(t)));
    return { eps, z, times, modelTimes, alpha, sigma };
  });
}

/**
 * The weighted denoising loss of a network output `out` for the clean batch `x` and its {@link NoisyBatch}: the
 * output converted to (x̂, ε̂) in the model's parameterization and the per-example loss of `options.weighting`
 * averaged (a scalar).
 */
export function predictionLoss(options: DiffusionLossOptions, x: tf.Tensor, draw: NoisyBatch, out: tf.Tensor): tf.Scalar {
  const weighting = options.weighting ?? (options.prediction === 'eps' ? 'snr' : 'snr+1');
  return tf.tidy(() => {
    const est = toXEps(options.prediction, out, draw.z, draw.alpha, draw.sigma);
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i + 1);
    const xMse = tf.mean(tf.square(tf.sub(x, est.x)), axes);
    const epsMse = tf.mean(tf.square(tf.sub(draw.eps, est.eps)), axes);
    return tf.mean(weightedLoss(weighting, xMse, epsMse)) as tf.Scalar;
  });
}

/** The seed that keys t and ε of {@link heldOutLoss} unless another is given. */
export const HELD_OUT_SEED = 12345;

/** Options of {@link heldOutLoss}. */
export interface HeldOutOptions {
  /** Which samples (default all); their indices key t and ε, so a digit gets the same draw in every evaluation. */
  indices?: readonly number[];
  /** Samples per network call (default 100). */
  batchSize?: number;
  /** Seed of the t and ε draws (default {@link HELD_OUT_SEED}). */
  seed?: number;
  /** Progress callback: samples done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The mean loss of `model` on held-out data with t and ε fixed by (seed, sample index), so figures are comparable
 * across training steps, checkpoints and runs (the validation of a training run and the model card's figure).
 *
 * @example
 * ```ts
 * const value = heldOutLoss(diffusionLoss({ schedule, prediction: 'eps' }), unet, loadMnist({ split: 'test' }));
 * ```
 */
export function heldOutLoss(loss: LossFn<Denoiser, DataBatch>, model: Denoiser, data: ArrayDataset, options: HeldOutOptions = {}): number {
  const indices = options.indices ?? Array.from({ length: data.size }, (_, i) => i);
  const batchSize = options.batchSize ?? 100;
  const seed = options.seed ?? HELD_OUT_SEED;
  if (indices.length === 0) throw new Error('heldOutLoss: no samples to evaluate');
  let total = 0;
  for (let start = 0; start < indices.length; start += batchSize) {
    const rows = indices.slice(start, start + batchSize);
    const batch: DataBatch = { x: takeBatch(data, rows), indices: rows };
    try {
      total += tf.tidy(() => loss(model, batch, { step: 0, seed, rng: new Rng(seed, 'held-out') }).dataSync()[0]) * rows.length;
    } finally {
      batch.x.dispose();
    }
    options.onProgress?.(start + rows.length, indices.length);
  }
  return total / indices.length;
}
