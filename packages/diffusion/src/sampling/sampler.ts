import * as tf from '@tensorflow/tfjs';
import { seededNormalBatch } from '@diffpress/core';
import { Prediction, perExample, toXEps } from '../schedule/parameterization';
import { NoiseSchedule, TimeSpacing } from '../schedule/schedule';
import { Denoiser } from '../train/diffusion-loss';

/** Which sampler and its settings. */
export interface SamplerConfig {
  /**
   * `'ddim'` (Song et al. 2021; deterministic at η = 0) or `'ddpm'` (ancestral sampling from the posterior
   * q(z_s | z_t, x̂), Ho et al. 2020).
   */
  kind: 'ddim' | 'ddpm';
  /** Number of model calls. DDPM with steps = T is the original 1000-step chain. */
  steps: number;
  /** DDIM stochasticity η ≥ 0 (default 0; η = 1 has DDPM's posterior variance). */
  eta?: number;
  /** Step spacing (default `'uniform'`). */
  spacing?: TimeSpacing;
  /** Clip x̂ to [−1, 1] before each update, re-deriving ε̂ from the clipped x̂ (default true). */
  clipDenoised?: boolean;
  /** DDPM noise variance: `'small'` = posterior variance (default), `'large'` = 1 − α_t²/α_s² (β_t for adjacent steps). */
  ddpmVariance?: 'small' | 'large';
}

/** What a {@link ModelCallPolicy} is asked to compute. */
export interface ModelCall {
  /** The network. */
  model: Denoiser;
  /** Current noisy samples z_t `[n, ...]`. */
  z: tf.Tensor;
  /** Schedule time of this step. */
  t: number;
  /** Model times `[n]` for this step (`schedule.modelTime(t)` per row). */
  modelTime: tf.Tensor;
  /** Index of this step, 0 = noisiest. */
  stepIndex: number;
  /** All schedule times of the sampler, noisiest first. */
  times: readonly number[];
  /** Global sample indices of the batch rows. */
  indices: readonly number[];
  /** The schedule. */
  schedule: NoiseSchedule;
}

/**
 * How the sampler obtains the network output at a step — the seam through which sampling-time methods act
 * without copying the sampler: encoder propagation caches encoder features at key steps, per-step quantizers
 * pick the step's parameters, DeepCache reuses deep features.
 *
 * @example
 * ```ts
 * const logging: ModelCallPolicy = {
 *   call: ({ model, z, modelTime, stepIndex }) => { console.log('step', stepIndex); return model.forward(z, modelTime); },
 * };
 * ```
 */
export interface ModelCallPolicy {
  /** Returns the raw network output for `call.z` (a new tensor; the sampler disposes it). */
  call(call: ModelCall): tf.Tensor;
  /** Called before the first step of each batch (reset per-batch state such as caches). */
  beginBatch?(indices: readonly number[]): void;
  /** Called after the last step of each batch (free per-batch state). */
  endBatch?(): void;
}

/** The plain policy: one full forward pass per step. */
export const fullModelCall: ModelCallPolicy = {
  call: ({ model, z, modelTime }) => model.forward(z, modelTime),
};

/** What the per-step hook sees. Tensors are valid only during the call; clone what you keep. */
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
  hook?: (event: StepEvent) => void;
  /** How the model is called (default {@link fullModelCall}). */
  policy?: ModelCallPolicy;
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

function checkConfig(s: SamplerConfig): void {
  if (s.kind !== 'ddim' && s.kind !== 'ddpm') throw new Error(`unknown sampler '${String(s.kind)}' (expected 'ddim' or 'ddpm')`);
  if (!Number.isInteger(s.steps) || s.steps < 1) throw new RangeError(`sampler steps must be a positive integer, got ${s.steps}`);
  const eta = s.eta ?? 0;
  if (!(eta >= 0)) throw new RangeError(`DDIM eta must be ≥ 0, got ${eta}`);
}

/**
 * One sampler update from time t to time s given (x̂, ε̂): `z_s = α_s x̂ + √(σ_s² − c²)·ε̂ + c·noise`, where c is 0
 * for DDIM with η = 0, `η·√(σ_s²/σ_t² · (1 − α_t²/α_s²))` for DDIM (η = 1 gives DDPM's posterior variance), and
 * `√(1 − α_t²/α_s²)` for DDPM's 'large' variance. Returns x̂ itself when s is the clean time.
 *
 * @param noise - Standard normal noise shaped like x̂ (ignored when c = 0; may be `null` then).
 */
export function samplerUpdate(
  schedule: NoiseSchedule,
  config: SamplerConfig,
  t: number,
  s: number,
  xHat: tf.Tensor,
  epsHat: tf.Tensor,
  noise: tf.Tensor | null,
): tf.Tensor {
  if (s === schedule.cleanTime) return tf.clone(xHat);
  const at = schedule.alpha(t);
  const st = schedule.sigma(t);
  const as = schedule.alpha(s);
  const ss = schedule.sigma(s);
  const decay = Math.max(0, 1 - (at * at) / (as * as));
  let c: number;
  if (config.kind === 'ddpm') c = (config.ddpmVariance ?? 'small') === 'large' ? Math.sqrt(decay) : Math.sqrt(((ss * ss) / (st * st)) * decay);
  else c = (config.eta ?? 0) * Math.sqrt(((ss * ss) / (st * st)) * decay);
  // 'large' variance can exceed σ_s²; the ε̂ direction then gets no weight (as DDPM's fixed-large posterior mean).
  const dir = Math.sqrt(Math.max(0, ss * ss - c * c));
  return tf.tidy(() => {
    let z = tf.add(tf.mul(xHat, as), tf.mul(epsHat, dir));
    if (c > 0) {
      if (!noise) throw new Error('samplerUpdate: this sampler is stochastic and needs noise');
      z = tf.add(z, tf.mul(noise, c));
    }
    return z;
  });
}

/** The schedule times a sampler config visits, noisiest first. */
export function samplerTimes(schedule: NoiseSchedule, config: SamplerConfig): number[] {
  checkConfig(config);
  return schedule.samplingTimes(config.steps, config.spacing ?? 'uniform');
}

function stochastic(config: SamplerConfig): boolean {
  return config.kind === 'ddpm' || (config.eta ?? 0) > 0;
}

/**
 * Draws samples with DDIM or DDPM in batches of bounded size. Sample i's initial noise is
 * `seededNormal(shape, {seed, stream: 'x_T', index: i})` and its step-k noise uses stream `'sampler-step'` with
 * substream k, so sample i is the same whatever batch it is drawn in and every model sees the same noise for it.
 * The model runs in eval mode (restored afterwards).
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
  const indices = options.indices ? [...options.indices] : Array.from({ length: options.count ?? 0 }, (_, i) => i);
  if (indices.length === 0) throw new Error('sample: give count ≥ 1 or a non-empty indices list');
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`sample: batchSize must be a positive integer, got ${batchSize}`);
  const policy = options.policy ?? fullModelCall;
  const shape = [...options.shape];
  const per = shape.reduce((a, b) => a * b, 1);
  const kept = options.onBatch ? null : new Float32Array(indices.length * per);
  const wasTraining = model.training;
  model.eval();
  try {
    for (let start = 0; start < indices.length; start += batchSize) {
      const rows = indices.slice(start, start + batchSize);
      policy.beginBatch?.(rows);
      let z = seededNormalBatch(shape, { seed, stream: SAMPLER_STREAMS.initial, indices: rows });
      try {
        times.forEach((t, i) => {
          const s = i + 1 < times.length ? times[i + 1] : schedule.cleanTime;
          const next = tf.tidy(() => {
            const modelTime = tf.fill([rows.length], schedule.modelTime(t));
            const out = policy.call({ model, z, t, modelTime, stepIndex: i, times, indices: rows, schedule });
            const rank = z.rank;
            const alpha = perExample(new Array<number>(rows.length).fill(schedule.alpha(t)), rank);
            const sigma = perExample(new Array<number>(rows.length).fill(schedule.sigma(t)), rank);
            let { x: xHat, eps: epsHat } = toXEps(prediction, out, z, alpha, sigma);
            if (sampler.clipDenoised ?? true) {
              xHat = tf.clipByValue(xHat, -1, 1);
              epsHat = tf.div(tf.sub(z, tf.mul(alpha, xHat)), sigma);
            }
            const noise = stochastic(sampler) && s !== schedule.cleanTime ? seededNormalBatch(shape, { seed, stream: SAMPLER_STREAMS.step, indices: rows, substream: i }) : null;
            const zs = samplerUpdate(schedule, sampler, t, s, xHat, epsHat, noise);
            options.hook?.({ x: zs, i, t, tNext: s, xHat, epsHat, indices: rows });
            return zs;
          });
          z.dispose();
          z = next;
        });
        if (kept) kept.set(z.dataSync() as Float32Array, start * per);
        else options.onBatch?.(z, rows);
      } finally {
        z.dispose();
        policy.endBatch?.();
      }
      options.onProgress?.(Math.min(indices.length, start + batchSize), indices.length);
    }
  } finally {
    if (wasTraining) model.train();
  }
  return kept ? tf.tensor(kept, [indices.length, ...shape], 'float32') : null;
}
