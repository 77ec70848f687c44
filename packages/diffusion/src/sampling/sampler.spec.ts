import { spawnSync } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { seededNormal } from '@diffpress/core';
import { Prediction } from '../schedule/parameterization';
import { Oracle } from '../testing/oracle';
import { CosineLogSnrSchedule, LinearBetaSchedule, NoiseSchedule } from '../schedule/schedule';
import { digestModel, sampleDigest } from './fixtures/sample-digest';
import { ModelCall, SamplerConfig, StepEvent, sample, samplerTimes, samplerUpdate } from './sampler';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const linear = new LinearBetaSchedule();
const cosine = new CosineLogSnrSchedule();
const schedules: Record<string, NoiseSchedule> = { 'linear β': linear, cosine };

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('sampler update', () => {
  it.each([
    ['linear β', 999, 899],
    ['linear β', 500, 20],
    ['cosine', 1, 0.75],
    ['cosine', 0.4, 0.1],
  ] as Array<[string, number, number]>)('a DDIM η = 0 step from the true x lands on the forward-process point (%s, %d → %d)', (name, t, s) => {
    const schedule = schedules[name];
    const x = tf.randomUniform([2, 4, 4, 1], -1, 1, 'float32', 1);
    const eps = tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 2);
    // Given z_t = α_t x + σ_t ε and the exact (x, ε), DDIM must give z_s = α_s x + σ_s ε.
    const zs = samplerUpdate(schedule, { kind: 'ddim', steps: 1 }, t, s, x, eps, null);
    const want = tf.add(tf.mul(x, schedule.alpha(s)), tf.mul(eps, schedule.sigma(s)));
    expect(maxAbs(zs, want)).toBeLessThan(1e-6);
  });

  it('DDPM ancestral update is the posterior q(z_s | z_t, x): mean and variance by hand', () => {
    const t = 600;
    const s = 500;
    const [at, st, as, ss] = [linear.alpha(t), linear.sigma(t), linear.alpha(s), linear.sigma(s)];
    const x = tf.tensor1d([0.3, -0.7]);
    const eps = tf.tensor1d([1.2, 0.4]);
    const z = tf.add(tf.mul(x, at), tf.mul(eps, st));
    // Posterior: α_{t|s} = α_t/α_s, σ²_{t|s} = σ_t² − α_{t|s}² σ_s²;
    // mean = α_{t|s} σ_s²/σ_t² · z + α_s σ²_{t|s}/σ_t² · x; variance = σ²_{t|s} σ_s²/σ_t².
    const ats = at / as;
    const s2ts = st * st - ats * ats * ss * ss;
    const mean = tf.add(tf.mul(z, (ats * ss * ss) / (st * st)), tf.mul(x, (as * s2ts) / (st * st)));
    const std = Math.sqrt((s2ts * ss * ss) / (st * st));
    const noise = tf.tensor1d([0.5, -2]);
    const got = samplerUpdate(linear, { kind: 'ddpm', steps: 1 }, t, s, x, eps, noise);
    expect(maxAbs(got, tf.add(mean, tf.mul(noise, std)))).toBeLessThan(1e-6);
    // DDIM with η = 1 is the same update.
    expect(maxAbs(samplerUpdate(linear, { kind: 'ddim', steps: 1, eta: 1 }, t, s, x, eps, noise), got)).toBeLessThan(1e-6);
    // 'large' variance: noise std √(1 − α_t²/α_s²).
    const large = samplerUpdate(linear, { kind: 'ddpm', steps: 1, ddpmVariance: 'large' }, t, s, x, eps, tf.tensor1d([1, 1]));
    const zero = samplerUpdate(linear, { kind: 'ddpm', steps: 1, ddpmVariance: 'large' }, t, s, x, eps, tf.tensor1d([0, 0]));
    expect(tf.sub(large, zero).dataSync()[0]).toBeCloseTo(Math.sqrt(1 - ats * ats), 5);
  });

  it('the last step returns x̂ (clean time) and stochastic updates without noise are an error', () => {
    const x = tf.tensor1d([0.1, 0.2]);
    expect(Array.from(samplerUpdate(linear, { kind: 'ddpm', steps: 1 }, 10, -1, x, tf.zerosLike(x), null).dataSync())).toEqual([0.1, 0.2].map(Math.fround));
    expect(() => samplerUpdate(linear, { kind: 'ddpm', steps: 1 }, 10, 5, x, x, null)).toThrow(/needs noise/);
  });
});

describe('sample', () => {
  it.each([
    ['linear β', 'eps'],
    ['linear β', 'x'],
    ['cosine', 'v'],
    ['cosine', 'both'],
  ] as Array<[string, Prediction]>)('with a perfect denoiser every sampler lands on the data point (%s, %s)', (name, prediction) => {
    const schedule = schedules[name];
    const x0 = tf.tensor([0.5, -0.25, 0.75, -1], [1, 2, 2, 1]);
    const model = new Oracle(x0, schedule, prediction);
    for (const sampler of [{ kind: 'ddim', steps: 10 }, { kind: 'ddim', steps: 4, eta: 0.5, spacing: 'quadratic' }, { kind: 'ddpm', steps: 20 }] as SamplerConfig[]) {
      const x = sample({ model, schedule, prediction, shape: [2, 2, 1], count: 3, seed: 0, sampler }) as tf.Tensor;
      expect(maxAbs(x, tf.broadcastTo(x0, [3, 2, 2, 1]))).toBeLessThan(1e-4);
    }
  });

  it('sample i is the same whatever batch it is drawn in, and the same seed repeats exactly', () => {
    // A real (tiny, untrained) UNet: batched convolutions and norms must not mix samples.
    const damped = digestModel();
    const opts = { model: damped, schedule: linear, prediction: 'eps' as const, shape: [8, 8, 1], seed: 7, sampler: { kind: 'ddpm', steps: 5 } as SamplerConfig };
    const all = sample({ ...opts, count: 5, batchSize: 5 }) as tf.Tensor;
    const split = sample({ ...opts, count: 5, batchSize: 2 }) as tf.Tensor;
    const alone = sample({ ...opts, indices: [3], batchSize: 1 }) as tf.Tensor;
    expect(maxAbs(all, split)).toBeLessThan(1e-6);
    expect(maxAbs(tf.slice(all, [3], [1]), alone)).toBeLessThan(1e-6);
    expect(Array.from((sample({ ...opts, count: 5, batchSize: 5 }) as tf.Tensor).dataSync())).toEqual(Array.from(all.dataSync()));
    expect(maxAbs(all, sample({ ...opts, count: 5, seed: 8 }) as tf.Tensor)).toBeGreaterThan(1e-3);
  });

  it('gives bit-identical samples in another process', () => {
    const script = path.join(__dirname, 'fixtures', 'sample-digest.ts');
    const root = path.resolve(__dirname, '..', '..', '..', '..');
    const child = spawnSync(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', script], {
      cwd: root,
      env: { ...process.env, TS_NODE_PROJECT: path.join(root, 'tools', 'tsconfig.json'), TS_NODE_TRANSPILE_ONLY: 'true' },
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(child.stdout.trim()).toBe(sampleDigest());
  }, 60_000);

  it('calls the policy once per step and the hook after it, with the step index, time and x̂', () => {
    const model = new Oracle(tf.zeros([1, 2, 2, 1]), linear, 'eps');
    const calls: Array<Pick<ModelCall, 'stepIndex' | 't' | 'indices'>> = [];
    const events: Array<Pick<StepEvent, 'i' | 't' | 'tNext'>> = [];
    const batches: string[] = [];
    sample({
      model, schedule: linear, prediction: 'eps', shape: [2, 2, 1], count: 3, batchSize: 2, seed: 0,
      sampler: { kind: 'ddim', steps: 4 },
      policy: {
        beginBatch: (ix) => batches.push(`begin ${ix.join(',')}`),
        call: (c) => {
          calls.push({ stepIndex: c.stepIndex, t: c.t, indices: c.indices });
          expect(c.times).toEqual([750, 500, 250, 0]);
          return c.model.forward(c.z, c.modelTime);
        },
        endBatch: () => batches.push('end'),
      },
      hook: (e) => {
        events.push({ i: e.i, t: e.t, tNext: e.tNext });
        expect(e.xHat.shape).toEqual([e.indices.length, 2, 2, 1]);
      },
    });
    expect(batches).toEqual(['begin 0,1', 'end', 'begin 2', 'end']);
    expect(calls.map((c) => c.stepIndex)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect(events.slice(0, 4)).toEqual([
      { i: 0, t: 750, tNext: 500 },
      { i: 1, t: 500, tNext: 250 },
      { i: 2, t: 250, tNext: 0 },
      { i: 3, t: 0, tNext: -1 },
    ]);
  });

  it('starts from the documented initial noise and keeps memory bounded', () => {
    const model = new Oracle(tf.zeros([1, 2, 2, 1]), linear, 'eps');
    let first: number[] = [];
    const before = tf.memory().numTensors;
    sample({
      model, schedule: linear, prediction: 'eps', shape: [2, 2, 1], indices: [4], seed: 9, sampler: { kind: 'ddim', steps: 2 },
      policy: {
        call: (c) => {
          if (c.stepIndex === 0) first = Array.from(c.z.dataSync());
          return c.model.forward(c.z, c.modelTime);
        },
      },
      onBatch: () => undefined,
    });
    expect(first).toEqual(Array.from(seededNormal([2, 2, 1], { seed: 9, stream: 'x_T', index: 4 }).dataSync()));
    expect(tf.memory().numTensors).toBe(before + 1); // the seededNormal above
  });

  it('validates its configuration', () => {
    expect(() => samplerTimes(linear, { kind: 'ddim', steps: 0 })).toThrow(/positive integer/);
    expect(() => samplerTimes(linear, { kind: 'ddim', steps: 10, eta: -1 })).toThrow(/eta must be ≥ 0/);
    expect(() => samplerTimes(linear, { kind: 'heun' as 'ddim', steps: 10 })).toThrow(/unknown sampler 'heun'/);
  });
});
