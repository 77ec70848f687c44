import * as tf from '@tensorflow/tfjs';
import { SamplerConfig, SamplingHook, beginHooks, composeHooks, endHooks, modelCall, perExample, sample, samplerTimes, toXEps } from '@diffpress/diffusion';
import { canonicalJson } from '../samples/digest';
import { SamplingModel } from '../samples/sample-store';

/** Final-sample agreement of two sample sets drawn from the same initial noise. */
export interface SampleFidelity {
  /** Mean squared difference over all values. */
  mse: number;
  /** 10·log10(range² / mse) in dB (∞ for identical sets). */
  psnr: number;
  /** Each sample's MSE, in sample order (when the sample count is given); their mean is `mse`. */
  perSample?: number[];
}

/**
 * MSE and PSNR between paired samples (row i of `a` and of `b` come from the same x_T), e.g. a compressed model's
 * samples against the FP model's.
 *
 * @param range - Peak-to-peak value range of the data (2 for images in [−1, 1]).
 * @param count - Number of samples the sets hold; when given, the result carries each sample's MSE (`perSample`).
 * @throws Error for empty or unequal sets, or a count that does not divide them.
 */
export function sampleFidelity(a: Float32Array, b: Float32Array, range = 2, count?: number): SampleFidelity {
  if (a.length !== b.length || a.length === 0) throw new Error(`sampleFidelity: sets must be non-empty and equally sized (${a.length} vs ${b.length})`);
  const rows = count ?? 1;
  if (!Number.isInteger(rows) || rows < 1 || a.length % rows !== 0) throw new Error(`sampleFidelity: ${a.length} values do not split into ${count} samples`);
  const per = a.length / rows;
  const perSample = new Array<number>(rows);
  // One running sum over all values in index order, as before per-sample values existed: `mse` keeps its bits.
  let ss = 0;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = r * per; i < (r + 1) * per; i++) {
      const d = (a[i] - b[i]) ** 2;
      ss += d;
      s += d;
    }
    perSample[r] = s / per;
  }
  const mse = ss / a.length;
  return { mse, psnr: 10 * Math.log10((range * range) / mse), ...(count !== undefined ? { perSample } : {}) };
}

/** ε-MSE of one bucket of sampler steps. */
export interface EpsMseBucket {
  /** First step index of the bucket (0 = noisiest). */
  fromStep: number;
  /** Last step index (inclusive). */
  toStep: number;
  /** Schedule times of the first and last step. */
  times: [number, number];
  /** Mean squared ε difference over the bucket's steps, samples and values. */
  mse: number;
}

/** Result of {@link teacherForcedEpsMse}. */
export interface EpsMseResult {
  /** Per bucket, noisiest first. */
  buckets: EpsMseBucket[];
  /** Mean over all steps. */
  mean: number;
  /** Mean over all steps of each trajectory, in sample-index order; their mean is `mean` (to float32 round-off). */
  perTrajectory: number[];
}

/** Options of {@link teacherForcedEpsMse}. */
export interface EpsMseOptions {
  /** The model under test (compressed). */
  model: SamplingModel;
  /** The reference (FP) model; its trajectory is followed. */
  reference: SamplingModel;
  /** Sampler whose steps are visited. */
  sampler: SamplerConfig;
  /** Experiment seed (keys the initial and per-step noise). */
  seed: number;
  /** Number of trajectories. */
  count: number;
  /** Shape of one sample. */
  shape: readonly number[];
  /** Number of step buckets (default 10, at most the number of steps). */
  buckets?: number;
  /** Samples per model call (default 64). */
  batchSize?: number;
  /** Sampling hooks the model under test is called through (sampling-time methods), outermost first; default none. */
  hooks?: readonly SamplingHook[];
}

/**
 * Paired, teacher-forced ε fidelity: the reference model samples as usual, and at every step the model under test
 * is called at the reference's own (z_t, t); both outputs are converted to ε̂ with their parameterizations and the
 * squared difference is averaged per bucket of steps. Because the inputs are the reference's, errors do not
 * compound: this isolates the per-call error (as in the PTQ papers' per-timestep analyses).
 *
 * @throws Error when the two models have different noise schedules (their times would not match).
 */
export function teacherForcedEpsMse(options: EpsMseOptions): EpsMseResult {
  const { model, reference, sampler } = options;
  if (canonicalJson(model.schedule.toConfig()) !== canonicalJson(reference.schedule.toConfig())) {
    throw new Error('teacherForcedEpsMse: the model and the reference have different noise schedules');
  }
  const times = samplerTimes(reference.schedule, sampler);
  const asked = options.buckets ?? 10;
  if (!Number.isInteger(asked) || asked < 1) throw new RangeError(`teacherForcedEpsMse: buckets must be a positive integer, got ${asked}`);
  const nb = Math.min(asked, times.length);
  const sums = new Float64Array(times.length);
  const counts = new Float64Array(times.length);
  const rowSums = new Float64Array(options.count);
  let perRow = 0;
  const student = options.hooks ?? [];
  const studentCall = composeHooks(student);
  const wasTraining = model.unet.training;
  model.unet.eval();
  // The reference samples as usual; at every step the student is called through its own hooks on the reference's
  // (z_t, t), so its per-batch hook state (caches) follows the reference trajectory. The student's beforeStep hooks
  // (prior-noise injection) are not applied: they would change the trajectory, and the measure is per call on the
  // reference's own states.
  const forced: SamplingHook = {
    name: 'teacher-forced-eps-mse',
    beginSample: (rows) => beginHooks(student, rows),
    endSample: () => endHooks(student),
    call: (c, next) => {
      const refOut = next(c);
      const [sq, rowSq] = tf.tidy(() => {
        const n = c.z.shape[0];
        const alpha = perExample(new Array<number>(n).fill(c.schedule.alpha(c.t)), c.z.rank);
        const sigma = perExample(new Array<number>(n).fill(c.schedule.sigma(c.t)), c.z.rank);
        const studentOut = studentCall(modelCall({ ...c, model: model.unet }));
        const e1 = toXEps(model.prediction, studentOut, c.z, alpha, sigma).eps;
        const e0 = toXEps(reference.prediction, refOut, c.z, alpha, sigma).eps;
        const d = tf.squaredDifference(e1, e0);
        // The total is still summed over the whole batch (not from the row sums), so `mean` keeps its float32 bits.
        return [tf.sum(d), tf.sum(d, Array.from({ length: c.z.rank - 1 }, (_, k) => k + 1))];
      });
      sums[c.stepIndex] += sq.dataSync()[0];
      counts[c.stepIndex] += c.z.size;
      const rowValues = rowSq.dataSync();
      c.indices.forEach((index, k) => {
        if (index >= options.count) throw new Error(`teacherForcedEpsMse: sample index ${index} outside the ${options.count} trajectories`);
        rowSums[index] += rowValues[k];
      });
      perRow = c.z.size / c.z.shape[0];
      sq.dispose();
      rowSq.dispose();
      return refOut;
    },
  };
  try {
    sample({
      model: reference.unet, schedule: reference.schedule, prediction: reference.prediction, shape: options.shape,
      count: options.count, seed: options.seed, sampler, batchSize: options.batchSize, hooks: [forced],
      onBatch: () => undefined,
    });
  } finally {
    if (wasTraining) model.unet.train();
  }
  const buckets: EpsMseBucket[] = [];
  for (let b = 0; b < nb; b++) {
    const from = Math.floor((b * times.length) / nb);
    const to = Math.floor(((b + 1) * times.length) / nb) - 1;
    let s = 0;
    let c = 0;
    for (let i = from; i <= to; i++) {
      s += sums[i];
      c += counts[i];
    }
    buckets.push({ fromStep: from, toStep: to, times: [times[from], times[to]], mse: s / c });
  }
  const mean = sums.reduce((a, b) => a + b, 0) / counts.reduce((a, b) => a + b, 0);
  // Every trajectory visits every step with equally many values.
  const perTrajectory = Array.from(rowSums, (s) => s / (times.length * perRow));
  return { buckets, mean, perTrajectory };
}
