import * as tf from '@tensorflow/tfjs';
import { Module, initEngine } from '@diffpress/core';
import { NoiseSchedule, SamplingHook, SamplerConfig, sample, samplerTimes, scheduleFromConfig } from '@diffpress/diffusion';
import { SamplingModel } from '../samples/sample-store';
import { EpsMseOptions, sampleFidelity, teacherForcedEpsMse } from './fidelity';

beforeAll(() => initEngine({ backend: 'cpu', quiet: true }));

/** Parameter-free test denoiser: output = scale · z + shift, whatever the time. */
class Affine extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  constructor(
    private readonly scale: number,
    private readonly shift = 0,
  ) {
    super();
  }

  forward(z: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(tf.mul(z, this.scale), this.shift));
  }
}

/**
 * An x-parameterized network implying exactly the ε̂ = 0.5·z of `new Affine(0.5)` under a discrete schedule (model
 * time = schedule time): x̂ = (z − σ_t·0.5z)/α_t.
 */
class XEquivalentOfHalf extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  constructor(private readonly schedule: NoiseSchedule) {
    super();
  }

  forward(z: tf.Tensor, t: tf.Tensor): tf.Tensor {
    const time = t.dataSync()[0];
    const a = this.schedule.alpha(time);
    const s = this.schedule.sigma(time);
    return tf.tidy(() => tf.div(tf.sub(z, tf.mul(z, 0.5 * s)), a));
  }
}

const LINEAR = { type: 'linear-beta', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 } as const;
const DDIM10: SamplerConfig = { kind: 'ddim', steps: 10 };

function epsModel(unet: Module<[tf.Tensor, tf.Tensor], tf.Tensor>): SamplingModel {
  // A fresh schedule object per model: equality must be by configuration, not identity.
  return { unet, schedule: scheduleFromConfig(LINEAR), prediction: 'eps' };
}

function run(model: SamplingModel, reference: SamplingModel, extra: Partial<EpsMseOptions> = {}): ReturnType<typeof teacherForcedEpsMse> {
  return teacherForcedEpsMse({ model, reference, sampler: DDIM10, shape: [2], count: 8, seed: 0, ...extra });
}

describe('sampleFidelity', () => {
  it('gives mse 0.01 and psnr 10·log10(4/0.01) for zeros against 0.1 everywhere', () => {
    const a = new Float32Array(12);
    const b = new Float32Array(12).fill(0.1);
    const { mse, psnr } = sampleFidelity(a, b);
    // b holds float32(0.1) = 0.1 + 1.5e-9, so mse = 0.01 + 3e-10: exact against the rounded value, 1e-9 against 0.01.
    expect(mse).toBe(Math.fround(0.1) ** 2);
    expect(Math.abs(mse - 0.01)).toBeLessThan(1e-9);
    expect(Math.abs(psnr - 10 * Math.log10(4 / 0.01))).toBeLessThan(1e-6);
  });

  it('uses the given peak-to-peak range and averages over all values (hand example)', () => {
    // Differences 1, −1, 2, 0 → squares 1, 1, 4, 0 → mse 1.5; range 3 → psnr = 10·log10(9/1.5).
    const { mse, psnr } = sampleFidelity(Float32Array.from([1, 0, 2, 5]), Float32Array.from([0, 1, 0, 5]), 3);
    expect(mse).toBe(1.5);
    expect(psnr).toBeCloseTo(10 * Math.log10(6), 12);
  });

  it('gives mse 0 and infinite psnr for identical sets', () => {
    const a = Float32Array.from([0.3, -0.7, 1]);
    expect(sampleFidelity(a, Float32Array.from(a))).toEqual({ mse: 0, psnr: Infinity });
  });

  it('gives each sample’s MSE when the sample count is given, keeping the overall mse bit for bit', () => {
    // Two samples of two values: squared differences (1, 1) and (4, 0) → per-sample MSEs 1 and 2, overall 1.5.
    const a = Float32Array.from([1, 0, 2, 5]);
    const b = Float32Array.from([0, 1, 0, 5]);
    const r = sampleFidelity(a, b, 3, 2);
    expect(r.perSample).toEqual([1, 2]);
    expect(r.mse).toBe(sampleFidelity(a, b, 3).mse);
    expect(sampleFidelity(a, b, 3).perSample).toBeUndefined();
    expect(() => sampleFidelity(a, b, 2, 3)).toThrow(/do not split into 3 samples/);
  });

  it('throws for mismatched lengths and for empty sets', () => {
    expect(() => sampleFidelity(new Float32Array(3), new Float32Array(4))).toThrow(/3 vs 4/);
    expect(() => sampleFidelity(new Float32Array(0), new Float32Array(0))).toThrow(/non-empty/);
  });
});

describe('teacherForcedEpsMse', () => {
  it('gives mean 0 and every bucket 0 for identical models', () => {
    const res = run(epsModel(new Affine(0.5)), epsModel(new Affine(0.5)));
    expect(res.mean).toBe(0);
    expect(res.buckets).toHaveLength(10);
    for (const b of res.buckets) expect(b.mse).toBe(0);
  });

  it('gives mse 0.01 in every bucket when the eps prediction is off by exactly 0.1', () => {
    const res = run(epsModel(new Affine(0.5, 0.1)), epsModel(new Affine(0.5)));
    // ε̂ differs by float32(0.1) everywhere; float32 rounding of (0.5z + 0.1) − 0.5z for |z| ≲ 4 is ≲ 2.4e-7,
    // moving the square by ≲ 5e-8: 1e-6 is safe.
    expect(Math.abs(res.mean - 0.01)).toBeLessThan(1e-6);
    for (const b of res.buckets) expect(Math.abs(b.mse - 0.01)).toBeLessThan(1e-6);
  });

  it('matches a brute-force per-step mean of (ε̂_model − ε̂_ref)² along the recorded reference trajectory', () => {
    const reference = epsModel(new Affine(0.5));
    // Student ε̂ = z, reference ε̂ = 0.5 z → squared difference 0.25 z² at the reference's own z_t.
    const res = run(epsModel(new Affine(1)), reference, { buckets: 4 });
    const perStep = new Array<number>(10).fill(0);
    const counts = new Array<number>(10).fill(0);
    const recorder: SamplingHook = {
      name: 'recorder',
      call: (c, next) => {
        for (const v of c.z.dataSync()) perStep[c.stepIndex] += 0.25 * v * v;
        counts[c.stepIndex] += c.z.size;
        return next(c);
      },
    };
    sample({ model: reference.unet, schedule: reference.schedule, prediction: 'eps', shape: [2], count: 8, seed: 0, sampler: DDIM10, hooks: [recorder], onBatch: () => undefined });
    const mseOf = (from: number, to: number): number => {
      let s = 0;
      let c = 0;
      for (let i = from; i <= to; i++) {
        s += perStep[i];
        c += counts[i];
      }
      return s / c;
    };
    // The function sums in float32 (tf.sum), the reference in float64: 1e-5 relative.
    for (const b of res.buckets) expect(Math.abs(b.mse - mseOf(b.fromStep, b.toStep)) / mseOf(b.fromStep, b.toStep)).toBeLessThan(1e-5);
    expect(Math.abs(res.mean - mseOf(0, 9)) / mseOf(0, 9)).toBeLessThan(1e-5);
    // The trajectory is really being followed: the error is not constant over steps (z shrinks towards the data).
    expect(Math.max(...res.buckets.map((b) => b.mse))).toBeGreaterThan(2 * Math.min(...res.buckets.map((b) => b.mse)));
  });

  it('gives each trajectory’s mean over all steps, in sample order, averaging to the mean', () => {
    const reference = epsModel(new Affine(0.5));
    // Student ε̂ = z: per-trajectory error 0.25·mean z² over the trajectory's own steps and values.
    const res = run(epsModel(new Affine(1)), reference, { batchSize: 3 });
    const perRow = new Array<number>(8).fill(0);
    const recorder: SamplingHook = {
      name: 'recorder',
      call: (c, next) => {
        const z = c.z.dataSync();
        c.indices.forEach((index, k) => {
          for (let j = 0; j < 2; j++) perRow[index] += 0.25 * z[k * 2 + j] ** 2;
        });
        return next(c);
      },
    };
    sample({ model: reference.unet, schedule: reference.schedule, prediction: 'eps', shape: [2], count: 8, seed: 0, sampler: DDIM10, hooks: [recorder], onBatch: () => undefined });
    expect(res.perTrajectory).toHaveLength(8);
    // 10 steps × 2 values per trajectory; float32 sums against float64: 1e-5 relative.
    res.perTrajectory.forEach((v, i) => expect(Math.abs(v - perRow[i] / 20) / (perRow[i] / 20)).toBeLessThan(1e-5));
    // Trajectories differ (the per-sample values are not one number repeated), and their mean is the mean.
    expect(new Set(res.perTrajectory.map((v) => v.toPrecision(4))).size).toBeGreaterThan(4);
    const avg = res.perTrajectory.reduce((s, v) => s + v, 0) / 8;
    expect(Math.abs(avg - res.mean) / res.mean).toBeLessThan(1e-6);
  });

  it('does not depend on the batch size (sample i has the same noise in any batch)', () => {
    const a = run(epsModel(new Affine(1)), epsModel(new Affine(0.5)));
    const b = run(epsModel(new Affine(1)), epsModel(new Affine(0.5)), { batchSize: 3 });
    // Only the float32 summation grouping differs.
    expect(Math.abs(a.mean - b.mean) / a.mean).toBeLessThan(1e-5);
    a.buckets.forEach((bucket, i) => expect(Math.abs(bucket.mse - b.buckets[i].mse) / bucket.mse).toBeLessThan(1e-5));
  });

  it('converts each model with its own parameterization (an x-model implying the same ε̂ gives ≈ 0)', () => {
    const schedule = scheduleFromConfig(LINEAR);
    const student: SamplingModel = { unet: new XEquivalentOfHalf(schedule), schedule, prediction: 'x' };
    const res = run(student, epsModel(new Affine(0.5)));
    // ε̂ = (z − α x̂)/σ cancels to 0.5 z; float32 cancellation at σ_0 = 0.01 leaves errors ~1e-5 · |z|, squares ~1e-10.
    expect(res.mean).toBeLessThan(1e-8);
    for (const b of res.buckets) expect(b.mse).toBeLessThan(1e-8);
    // Sanity: the same network read as ε-prediction is far off.
    expect(run({ ...student, prediction: 'eps' }, epsModel(new Affine(0.5))).mean).toBeGreaterThan(1);
  });

  it.each([1, 3, 4, 7, 10, 25])('splits the steps into contiguous buckets covering 0 … steps − 1 (buckets = %d)', (buckets) => {
    const res = run(epsModel(new Affine(0.5, 0.1)), epsModel(new Affine(0.5)), { buckets });
    const times = samplerTimes(scheduleFromConfig(LINEAR), DDIM10);
    expect(res.buckets).toHaveLength(Math.min(buckets, 10));
    expect(res.buckets[0].fromStep).toBe(0);
    expect(res.buckets[res.buckets.length - 1].toStep).toBe(9);
    res.buckets.forEach((b, i) => {
      expect(b.toStep).toBeGreaterThanOrEqual(b.fromStep);
      if (i > 0) expect(b.fromStep).toBe(res.buckets[i - 1].toStep + 1);
      expect(b.times).toEqual([times[b.fromStep], times[b.toStep]]);
    });
  });

  it('throws when the model and the reference have different noise schedules', () => {
    const other: SamplingModel = { unet: new Affine(0.5), schedule: scheduleFromConfig({ ...LINEAR, betaEnd: 0.03 }), prediction: 'eps' };
    expect(() => run(other, epsModel(new Affine(0.5)))).toThrow(/different noise schedules/);
    const cosine: SamplingModel = { unet: new Affine(0.5), schedule: scheduleFromConfig({ type: 'cosine-logsnr', logSnrMin: -20, logSnrMax: 20 }), prediction: 'eps' };
    expect(() => run(cosine, epsModel(new Affine(0.5)))).toThrow(/different noise schedules/);
  });

  it('restores the training mode of the model under test and leaks no tensors', () => {
    const training = epsModel(new Affine(0.5, 0.1));
    const frozen = epsModel(new Affine(0.5, 0.1));
    frozen.unet.eval();
    const before = tf.memory().numTensors;
    run(training, epsModel(new Affine(0.5)));
    run(frozen, epsModel(new Affine(0.5)));
    expect(tf.memory().numTensors).toBe(before);
    expect(training.unet.training).toBe(true);
    expect(frozen.unet.training).toBe(false);
  });
});
