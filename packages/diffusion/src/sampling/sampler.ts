import * as tf from '@tensorflow/tfjs';
import { seededNormalBatch } from '@diffpress/core';
import { Prediction, perExample, toXEps } from '../schedule/parameterization';
import { NoiseSchedule } from '../schedule/schedule';
import { Denoiser } from '../train/diffusion-loss';
import { SamplingHook, beforeStepHooks, beginHooks, composeHooks, endHooks, modelCall } from './hooks';
import { SamplerConfig, samplerIsStochastic, samplerTimes, samplerUpdate } from './samplers';

/** What {@link SampleOptions.onStep} sees. Tensors are valid only during the call; clone what you keep. */
export interface StepEvent {
  /** The samples after this step, z_s. */
  x: tf.Tensor;
  /** Step index, 0 = noisiest. */
  i: number;
  /** Schedule time of the step (the one the model was called at). */
  t: number;
  /** The time stepped to (the schedule's clean time after the last step). */
  tNext: number;
  /** x̂ predicted at this step. */
  xHat: tf.Tensor;
  /** ε̂ predicted at this step. */
  epsHat: tf.Tensor;
  /** Global sample indices of the batch rows. */
  indices: readonly number[];
}

/** Options of {@link sample}. */
export interface SampleOptions {
  /** The network. */
  model: Denoiser;
  /** Its schedule. */
  schedule: NoiseSchedule;
  /** Its parameterization. */
  prediction: Prediction;
  /** Shape of one sample, e.g. `[28, 28, 1]`. */
  shape: readonly number[];
  /** Number of samples (indices 0 … count − 1), unless `indices` is given. */
  count?: number;
  /** Global sample indices to draw (they key the noise). */
  indices?: readonly number[];
  /** Experiment seed: sample i's initial and per-step noise are a function of (seed, i, step) only. */
  seed: number;
  /** Sampler and settings. */
  sampler: SamplerConfig;
  /** Samples per model call (default 64); memory is bounded by one batch. */
  batchSize?: number;
  /** Called after every step of every batch. */
  onStep?: (event: StepEvent) => void;
  /**
   * Sampling hooks of the pipeline, the earlier step's outermost (see {@link SamplingHook}); default none: one full
   * forward pass per step.
   */
  hooks?: readonly SamplingHook[];
  /** Receives each finished batch `[n, ...shape]` (disposed after the call); with it, {@link sample} returns nothing kept. */
  onBatch?: (samples: tf.Tensor, indices: readonly number[]) => void;
  /** Progress callback: samples finished so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Noise streams of the sampler (part of the reproducibility contract: changing them changes every sample). */
export const SAMPLER_STREAMS = {
  /** Initial noise x_T of sample i: `{ stream: 'x_T', index: i }`. */
  initial: 'x_T',
  /** Noise of step k of sample i: `{ stream: 'sampler-step', index: i, substream: k }`. */
  step: 'sampler-step',
} as const;

/**
 * Draws samples with a registered sampler (DDIM, DDPM, re-noising, …) in batches of bounded size. Sample i's initial
 * noise is `seededNormal(shape, {seed, stream: 'x_T', index: i})` and its step-k noise uses stream `'sampler-step'`
 * with substream k, so sample i is the same whatever batch it is drawn in and every model sees the same noise for
 * it. The model runs in eval mode (restored afterwards). Hooks wrap every network call and may replace z before a
 * step; their per-batch state is reset around every batch.
 *
 * @returns `[n, ...shape]` samples (the caller disposes), or `null` when `onBatch` consumed them.
 *
 * @example
 * ```ts
 * const x = sample({
 *   model: unet, schedule, prediction: 'eps', shape: [28, 28, 1], count: 64, seed: 0,
 *   sampler: { kind: 'ddim', steps: 50 },
 * });
 * ```
 */
export function sample(options: SampleOptions): tf.Tensor | null {
  const { model, schedule, prediction, sampler, seed } = options;
  const times = samplerTimes(schedule, sampler);
  const stochastic = samplerIsStochastic(sampler);
  const indices = options.indices ? [...options.indices] : Array.from({ length: options.count ?? 0 }, (_, i) => i);
  if (indices.length === 0) throw new Error('sample: give count ≥ 1 or a non-empty indices list');
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`sample: batchSize must be a positive integer, got ${batchSize}`);
  const hooks = options.hooks ?? [];
  const callNetwork = composeHooks(hooks);
  const wantsZT = hooks.some((h) => h.beforeStep);
  const shape = [...options.shape];
  const per = shape.reduce((a, b) => a * b, 1);
  const kept = options.onBatch ? null : new Float32Array(indices.length * per);
  const wasTraining = model.training;
  model.eval();
  try {
    for (let start = 0; start < indices.length; start += batchSize) {
      const rows = indices.slice(start, start + batchSize);
      beginHooks(hooks, rows);
      let z = seededNormalBatch(shape, { seed, stream: SAMPLER_STREAMS.initial, indices: rows });
      const zT = wantsZT ? tf.clone(z) : null;
      try {
        times.forEach((t, i) => {
          const s = i + 1 < times.length ? times[i + 1] : schedule.cleanTime;
          if (zT) {
            const current = z;
            // In a scope, so that a hook's intermediates are freed; the replacement z is kept as tidy's result.
            const replaced = tf.tidy(() => beforeStepHooks(hooks, { z: current, zT, stepIndex: i, t, times, indices: rows, schedule }));
            if (replaced !== z) {
              z.dispose();
              z = replaced;
            }
          }
          const next = tf.tidy(() => {
            const modelTime = tf.fill([rows.length], schedule.modelTime(t));
            const out = callNetwork(modelCall({ model, z, t, modelTime, stepIndex: i, times, indices: rows, schedule }));
            const rank = z.rank;
            const alpha = perExample(new Array<number>(rows.length).fill(schedule.alpha(t)), rank);
            const sigma = perExample(new Array<number>(rows.length).fill(schedule.sigma(t)), rank);
            let { x: xHat, eps: epsHat } = toXEps(prediction, out, z, alpha, sigma);
            if (sampler.clipDenoised ?? true) {
              xHat = tf.clipByValue(xHat, -1, 1);
              epsHat = tf.div(tf.sub(z, tf.mul(alpha, xHat)), sigma);
            }
            const noise = stochastic && s !== schedule.cleanTime ? seededNormalBatch(shape, { seed, stream: SAMPLER_STREAMS.step, indices: rows, substream: i }) : null;
            const zs = samplerUpdate(schedule, sampler, t, s, xHat, epsHat, noise);
            options.onStep?.({ x: zs, i, t, tNext: s, xHat, epsHat, indices: rows });
            return zs;
          });
          z.dispose();
          z = next;
        });
        if (kept) kept.set(z.dataSync() as Float32Array, start * per);
        else options.onBatch?.(z, rows);
      } finally {
        z.dispose();
        zT?.dispose();
        endHooks(hooks);
      }
      options.onProgress?.(Math.min(indices.length, start + batchSize), indices.length);
    }
  } finally {
    if (wasTraining) model.train();
  }
  return kept ? tf.tensor(kept, [indices.length, ...shape], 'float32') : null;
}
