import * as tf from '@tensorflow/tfjs';
import { Module, seededNormalBatch, seededUniformArray } from '@diffpress/core';
import { LossWeighting, Prediction, perExample, toXEps, weightedLoss } from '../schedule/parameterization';
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
  const { schedule, prediction } = options;
  const weighting = options.weighting ?? (prediction === 'eps' ? 'snr' : 'snr+1');
  return (model, batch, ctx) => {
    const n = batch.x.shape[0];
    const rank = batch.x.rank;
    if (n !== batch.indices.length) throw new Error(`diffusionLoss: ${n} samples but ${batch.indices.length} indices`);
    const times = batch.indices.map((ix) => schedule.trainingTime(seededUniformArray(1, { seed: ctx.seed, stream: 'train-t', index: ix })[0]));
    return tf.tidy(() => {
      const eps = seededNormalBatch(batch.x.shape.slice(1), { seed: ctx.seed, stream: 'train-eps', indices: batch.indices });
      const alpha = perExample(times.map((t) => schedule.alpha(t)), rank);
      const sigma = perExample(times.map((t) => schedule.sigma(t)), rank);
      const z = tf.add(tf.mul(alpha, batch.x), tf.mul(sigma, eps));
      const out = model.forward(z, tf.tensor1d(times.map((t) => schedule.modelTime(t))));
      const est = toXEps(prediction, out, z, alpha, sigma);
      const axes = Array.from({ length: rank - 1 }, (_, i) => i + 1);
      const xMse = tf.mean(tf.square(tf.sub(batch.x, est.x)), axes);
      const epsMse = tf.mean(tf.square(tf.sub(eps, est.eps)), axes);
      return tf.mean(weightedLoss(weighting, xMse, epsMse)) as tf.Scalar;
    });
  };
}
