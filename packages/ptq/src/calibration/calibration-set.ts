import * as tf from '@tensorflow/tfjs';
import { Rng, cachedFile, fnv1a32, jsonDigest, rawFromFloat32, rawFromInt32, rawToFloat32, rawToTypedArray, readSafetensorsFile, writeSafetensorsFile } from '@diffpress/core';
import { PipelineModel, SamplerConfig, SamplingHook, sample, samplerTimes } from '@diffpress/diffusion';
import { canonicalSampler, moduleDigest, samplerLabel } from '@diffpress/eval';

/**
 * Which sampler steps calibration data is taken from (ptq spec §1):
 * `uniform` — every c-th step of the trajectory (Q-Diffusion's time step-aware calibration; see
 * {@link uniformSteps}); `all` — every step (TFMQ-DM's per-step
 * activations); `first` / `last` — the noisiest / cleanest fraction of the steps; `single` — one step (the
 * "PTQ4DM-like" strawman of the calibration ablation).
 */
export type CalibrationStrategy = 'uniform' | 'all' | 'first' | 'last' | 'single';

/** The strategies, for schemas and docs. */
export const CALIBRATION_STRATEGIES: readonly CalibrationStrategy[] = ['uniform', 'all', 'first', 'last', 'single'];

/** How a calibration set is drawn. */
export interface CalibrationSpec {
  /** Strategy. */
  strategy: CalibrationStrategy;
  /**
   * The most steps a strategy takes, `k`: `uniform` takes every c-th step with c = ⌈T/k⌉ (see {@link uniformSteps}),
   * `first`/`last` at most `k` evenly spaced inside their fraction; it also sets the row budget of
   * {@link calibrationPlan}.
   */
  steps: number;
  /** Share of the trajectory `first` and `last` draw from (e.g. 0.25). */
  fraction: number;
  /** Step index of `single` (0 = noisiest; default the middle step). */
  step?: number;
  /** Samples per chosen step (`n`, the trajectories drawn), before the equal-budget rule of {@link calibrationPlan}. */
  perStep: number;
}

/** The steps a spec picks and how many trajectories are drawn. */
export interface CalibrationPlan {
  /** Chosen step indices, ascending (0 = noisiest). */
  steps: number[];
  /** Trajectories, i.e. rows per chosen step. */
  trajectories: number;
}

/**
 * The steps `uniform` takes from a `total`-step trajectory when asked for `k`: every c-th step from the noisiest,
 * `0, c, 2c, … < total` with `c = ⌈total / k⌉`, so at most `k` steps (exactly `k` when k divides the total).
 * Q-Diffusion's code takes `range(0, T, T // k)` (c = ⌊T/k⌋, at least k steps); the two agree when k divides T, and
 * ⌈·⌉ keeps the row budget at k steps. With `k ≥ total` it is every step, i.e. `all`.
 *
 * @example
 * ```ts
 * uniformSteps(20, 10); // [0, 2, 4, …, 18]
 * uniformSteps(20, 8);  // c = 3: [0, 3, 6, 9, 12, 15, 18]
 * uniformSteps(100, 20); // [0, 5, …, 95]
 * ```
 */
export function uniformSteps(total: number, k: number): number[] {
  const stride = Math.ceil(total / Math.max(1, Math.min(k, total)));
  return Array.from({ length: Math.ceil(total / stride) }, (_, i) => i * stride);
}

function evenly(from: number, count: number, take: number): number[] {
  if (take >= count) return Array.from({ length: count }, (_, i) => from + i);
  return Array.from({ length: take }, (_, i) => from + Math.floor((i * count) / take));
}

/**
 * The steps of a `total`-step sampler a spec calibrates on, and the trajectories drawn. Equal-budget rule: a
 * strategy that picks fewer than `k = min(steps, total)` steps (`first`, `last`, `single`, and `uniform` when k does
 * not divide the total) draws proportionally more trajectories, so every strategy sees about `perStep × k` rows and the calibration ablation compares *where* the data comes
 * from, not how much. `all` keeps `perStep` rows at every step (what per-step calibration needs).
 *
 * @example
 * ```ts
 * calibrationPlan(100, { strategy: 'uniform', steps: 20, fraction: 0.25, perStep: 32 }); // steps 0, 5, …, 95; 32 trajectories
 * calibrationPlan(100, { strategy: 'single', steps: 20, fraction: 0.25, perStep: 32 });  // step 50; 640 trajectories
 * ```
 */
export function calibrationPlan(total: number, spec: CalibrationSpec): CalibrationPlan {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`calibrationPlan: the sampler must have ≥ 1 step, got ${total}`);
  const k = Math.min(spec.steps, total);
  let steps: number[];
  switch (spec.strategy) {
    case 'uniform':
      steps = uniformSteps(total, k);
      break;
    case 'all':
      steps = evenly(0, total, total);
      break;
    case 'first':
    case 'last': {
      const span = Math.max(1, Math.ceil(spec.fraction * total));
      steps = evenly(spec.strategy === 'first' ? 0 : total - span, span, k);
      break;
    }
    case 'single': {
      const s = spec.step ?? Math.floor(total / 2);
      if (!Number.isInteger(s) || s < 0 || s >= total) throw new RangeError(`calibration step ${s} is outside the sampler's ${total} steps`);
      steps = [s];
      break;
    }
    default:
      throw new Error(`unknown calibration strategy '${String(spec.strategy)}' (expected ${CALIBRATION_STRATEGIES.join(', ')})`);
  }
  const trajectories = steps.length < k ? Math.ceil((spec.perStep * k) / steps.length) : spec.perStep;
  return { steps, trajectories };
}

/** Calibration inputs `(x_t, t)` recorded from the FP sampler: a cached artifact (ptq spec §1). */
export interface CalibrationSet {
  /** Noisy inputs, row-major `[rows, ...sampleShape]`. */
  x: Float32Array;
  /** Shape of one row, e.g. `[28, 28, 1]`. */
  sampleShape: number[];
  /** Model time (UNet input) of each row. */
  modelTimes: Float32Array;
  /** Sampler step index of each row. */
  stepIndices: Int32Array;
  /** Number of rows (chosen steps × trajectories; step-major). */
  rows: number;
  /** Schedule times of all the sampler's steps, noisiest first. */
  samplerTimes: number[];
  /** The chosen steps. */
  plan: CalibrationPlan;
  /** Content key (SHA-256 of model digest, sampler, spec, seed, format). */
  key: string;
  /** Wall-clock seconds it took to draw (when it was drawn, also for a set read from the cache). */
  drawSeconds: number;
  /** Whether it was read from the cache. */
  fromCache: boolean;
}

/** Options of {@link calibrationSet}. */
export interface CalibrationSetOptions {
  /** The FP model. */
  model: PipelineModel;
  /** The sampler whose trajectory is recorded. */
  sampler: SamplerConfig;
  /** Strategy and sizes. */
  spec: CalibrationSpec;
  /** Seed (noise streams distinct from the evaluation's samples of the same seed). */
  seed: number;
  /** Cache folder (sets go to `<cacheDir>/calibration/<key>.safetensors`); none: always drawn. */
  cacheDir?: string;
  /** Trajectories per sampler batch (default 32). */
  batchSize?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/**
 * Format of stored calibration sets (part of the key). 2: `uniform` takes every ⌈T/k⌉-th step (before: k evenly
 * spaced steps), so a stored set of format 1 may hold other steps than its spec now selects.
 */
export const CALIBRATION_FORMAT = 2;

/** The key of a calibration set. */
export function calibrationKey(options: Pick<CalibrationSetOptions, 'model' | 'sampler' | 'spec' | 'seed'>): string {
  const m = options.model;
  const inputs = {
    format: CALIBRATION_FORMAT, model: moduleDigest(m.unet), schedule: m.schedule.toConfig(), prediction: m.prediction,
    sampler: canonicalSampler(options.sampler), spec: options.spec, seed: options.seed,
  };
  return jsonDigest(inputs);
}

/**
 * The seed of the calibration trajectories: derived from the run seed, so calibration never reuses the noise of the
 * samples the evaluation draws with that seed (which would calibrate on the test trajectories).
 */
export function calibrationNoiseSeed(seed: number): number {
  return fnv1a32(`ptq-calibration:${seed}`);
}

function draw(options: CalibrationSetOptions, key: string): CalibrationSet {
  const { model, sampler, spec } = options;
  const times = samplerTimes(model.schedule, sampler);
  const plan = calibrationPlan(times.length, spec);
  const c = model.unet.plan.config;
  const sampleShape = [c.imageSize[0], c.imageSize[1], c.inChannels];
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const rows = plan.steps.length * plan.trajectories;
  const x = new Float32Array(rows * per);
  const modelTimes = new Float32Array(rows);
  const stepIndices = new Int32Array(rows);
  const slot = new Map(plan.steps.map((s, i) => [s, i]));
  const record: SamplingHook = {
    name: 'ptq-calibration-record',
    call: (call, next) => {
      const j = slot.get(call.stepIndex);
      if (j != null) {
        const values = call.z.dataSync();
        call.indices.forEach((traj, r) => {
          const row = j * plan.trajectories + traj;
          x.set(values.subarray(r * per, (r + 1) * per), row * per);
          modelTimes[row] = model.schedule.modelTime(call.t);
          stepIndices[row] = call.stepIndex;
        });
      }
      return next(call);
    },
  };
  const t0 = performance.now();
  options.log?.(`calibration set: ${rows} rows (${spec.strategy}, steps ${describeSteps(plan.steps)} of ${samplerLabel(sampler)}, ${plan.trajectories} trajectories)`);
  sample({
    model: model.unet, schedule: model.schedule, prediction: model.prediction, shape: sampleShape, count: plan.trajectories,
    seed: calibrationNoiseSeed(options.seed), sampler, batchSize: options.batchSize ?? 32, hooks: [record], onBatch: () => undefined,
    onProgress: (done, total) => options.log?.(`calibration set: ${done}/${total} trajectories, ${((performance.now() - t0) / 1000).toFixed(0)} s`),
  });
  return { x, sampleShape, modelTimes, stepIndices, rows, samplerTimes: times, plan, key, drawSeconds: (performance.now() - t0) / 1000, fromCache: false };
}

function describeSteps(steps: readonly number[]): string {
  return steps.length <= 6 ? steps.join(', ') : `${steps.slice(0, 3).join(', ')}, …, ${steps[steps.length - 1]} (${steps.length})`;
}

function readSet(file: string, key: string, times: number[], plan: CalibrationPlan): CalibrationSet {
  const { tensors, metadata } = readSafetensorsFile(file);
  const stored = JSON.parse(metadata['diffpress.calibration'] ?? '{}') as { drawSeconds?: number };
  const get = (name: string): NonNullable<ReturnType<typeof tensors.get>> => {
    const t = tensors.get(name);
    if (!t) throw new Error(`calibration set ${file} lacks '${name}'`);
    return t;
  };
  const x = get('x');
  return {
    x: rawToFloat32(x), sampleShape: x.shape.slice(1), modelTimes: rawToFloat32(get('model_times')),
    stepIndices: Int32Array.from(rawToTypedArray(get('step_indices') as typeof x & { dtype: 'I32' })), rows: x.shape[0], samplerTimes: times, plan, key,
    drawSeconds: stored.drawSeconds ?? NaN,
    fromCache: true,
  };
}

/**
 * The calibration set of a model, sampler, strategy and seed: read from the cache when present, else drawn from the
 * FP sampler (recording `(x_t, t)` at the chosen steps) and stored atomically. Concurrent processes wait for the
 * one drawing it instead of drawing it twice.
 */
export function calibrationSet(options: CalibrationSetOptions): CalibrationSet {
  const key = calibrationKey(options);
  const times = samplerTimes(options.model.schedule, options.sampler);
  const plan = calibrationPlan(times.length, options.spec);
  return cachedFile(
    { root: options.cacheDir || null, kind: 'calibration', key, ext: '.safetensors' },
    (file) => {
      options.log?.(`calibration set: reused ${key.slice(0, 12)}`);
      return readSet(file, key, times, plan);
    },
    (file) => {
      const set = draw(options, key);
      if (file) {
        writeSafetensorsFile(
          file,
          { x: rawFromFloat32(set.x, [set.rows, ...set.sampleShape]), model_times: rawFromFloat32(set.modelTimes, [set.rows]), step_indices: rawFromInt32(set.stepIndices, [set.rows]) },
          { 'diffpress.calibration': JSON.stringify({ sampler: canonicalSampler(options.sampler), spec: options.spec, seed: options.seed, plan, drawSeconds: set.drawSeconds }) },
        );
      }
      return set;
    },
  );
}

/** Network inputs of a batch of calibration rows. */
export interface CalibrationBatch {
  /** Noisy inputs `[n, ...sampleShape]`. */
  x: tf.Tensor;
  /** Model times `[n]`. */
  t: tf.Tensor;
}

/** Rows `indices` of a calibration set as tensors (the caller disposes). */
export function calibrationBatch(set: CalibrationSet, indices: readonly number[]): CalibrationBatch {
  const per = set.sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(indices.length * per);
  const t = new Float32Array(indices.length);
  indices.forEach((row, i) => {
    x.set(set.x.subarray(row * per, (row + 1) * per), i * per);
    t[i] = set.modelTimes[row];
  });
  return { x: tf.tensor(x, [indices.length, ...set.sampleShape]), t: tf.tensor1d(t) };
}

/**
 * The held-out rows of a calibration: `n` rows (at most a quarter of the set, so that most rows stay for the
 * optimisation), spread evenly over the set's steps — each step's rows in a seeded random order, taken round-robin
 * over the steps — so the held-out loss weighs the trajectory as the set does. Drawn once per calibration and
 * shared by every unit and phase: the reconstruction never optimises on them, it only measures on them. (Activation
 * range calibration — min-max, MSE search, EMA — still sees every row: ranges are set, not optimised against a loss.)
 *
 * @example
 * ```ts
 * heldOutRows(set, 32, new Rng(seed, 'held-out')); // 32 of 320 rows, 1–2 per step of a 20-step set
 * ```
 */
export function heldOutRows(set: Pick<CalibrationSet, 'rows' | 'stepIndices'>, n: number, rng: Rng): number[] {
  const take = Math.min(Math.max(0, Math.floor(n)), Math.floor(set.rows / 4));
  const byStep = new Map<number, number[]>();
  for (let r = 0; r < set.rows; r++) {
    const s = set.stepIndices[r];
    byStep.set(s, [...(byStep.get(s) ?? []), r]);
  }
  const queues = [...byStep.keys()].sort((a, b) => a - b).map((s) => rng.shuffle([...(byStep.get(s) as number[])]));
  const out: number[] = [];
  for (let k = 0; out.length < take; k++) {
    for (const q of queues) if (k < q.length && out.length < take) out.push(q[k]);
  }
  return out.sort((a, b) => a - b);
}
