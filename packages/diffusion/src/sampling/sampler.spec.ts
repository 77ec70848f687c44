import { spawnSync } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { callContext, seededNormal } from '@diffpress/core';
import { Prediction } from '../schedule/parameterization';
import { Oracle } from '../testing/oracle';
import { CosineLogSnrSchedule, LinearBetaSchedule, NoiseSchedule } from '../schedule/schedule';
import { digestModel, sampleDigest } from './fixtures/sample-digest';
import { ModelCall, SamplingHook, composeHooks, modelCall } from './hooks';
import { StepEvent, sample } from './sampler';
import { SamplerConfig, samplerTimes, samplerUpdate } from './samplers';

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

  it('calls the hook once per step and onStep after it, with the step index, time and x̂', () => {
    const model = new Oracle(tf.zeros([1, 2, 2, 1]), linear, 'eps');
    const calls: Array<Pick<ModelCall, 'stepIndex' | 't' | 'indices'>> = [];
    const events: Array<Pick<StepEvent, 'i' | 't' | 'tNext'>> = [];
    const batches: string[] = [];
    sample({
      model, schedule: linear, prediction: 'eps', shape: [2, 2, 1], count: 3, batchSize: 2, seed: 0,
      sampler: { kind: 'ddim', steps: 4 },
      hooks: [{
        name: 'record',
        beginSample: (ix) => batches.push(`begin ${ix.join(',')}`),
        call: (c, next) => {
          calls.push({ stepIndex: c.stepIndex, t: c.t, indices: c.indices });
          expect(c.times).toEqual([750, 500, 250, 0]);
          expect(c.rowSteps).toEqual(new Array(c.indices.length).fill(c.stepIndex));
          return next(c);
        },
        endSample: () => batches.push('end'),
      }],
      onStep: (e) => {
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
      hooks: [{
        name: 'peek',
        call: (c, next) => {
          if (c.stepIndex === 0) first = Array.from(c.z.dataSync());
          return next(c);
        },
      }],
      onBatch: () => undefined,
    });
    expect(first).toEqual(Array.from(seededNormal([2, 2, 1], { seed: 9, stream: 'x_T', index: 4 }).dataSync()));
    expect(tf.memory().numTensors).toBe(before + 1); // the seededNormal above
  });

  it('validates its configuration', () => {
    expect(() => samplerTimes(linear, { kind: 'ddim', steps: 0 })).toThrow(/positive integer/);
    expect(() => samplerTimes(linear, { kind: 'ddim', steps: 10, eta: -1 })).toThrow(/eta must be ≥ 0/);
    expect(() => samplerTimes(linear, { kind: 'heun', steps: 10 })).toThrow(/unknown sampler 'heun' \(expected one of: 'ddim', 'ddpm', 'renoise'/);
    expect(() => samplerTimes(linear, { kind: 'renoise', steps: 3, times: [999, 499] })).toThrow(/2 explicit times for 3 steps/);
  });
});

describe('sampling hooks', () => {
  let model: Oracle;
  let base: Parameters<typeof sample>[0];
  beforeAll(() => {
    model = new Oracle(tf.fill([1, 2, 2, 1], 0.25), linear, 'eps');
    base = { model, schedule: linear, prediction: 'eps' as const, shape: [2, 2, 1], count: 2, seed: 3, sampler: { kind: 'ddim', steps: 4 } };
  });
  const values = (t: tf.Tensor | null): number[] => Array.from((t as tf.Tensor).dataSync());

  it('chain in pipeline order: the earlier hook is outermost and the network innermost', () => {
    const order: string[] = [];
    const tracer = (name: string): SamplingHook => ({
      name,
      beginSample: () => order.push(`begin ${name}`),
      call: (c, next) => {
        order.push(`enter ${name}`);
        const out = next(c);
        order.push(`leave ${name}`);
        return out;
      },
      endSample: () => order.push(`end ${name}`),
    });
    sample({ ...base, sampler: { kind: 'ddim', steps: 1 }, hooks: [tracer('a'), tracer('b')] });
    expect(order).toEqual(['begin a', 'begin b', 'enter a', 'enter b', 'leave b', 'leave a', 'end b', 'end a']);
    expect(() => sample({ ...base, hooks: [tracer('a'), tracer('a')] })).toThrow(/two sampling hooks are named 'a'/);
  });

  it('a hook under a parent hook gives the output of the hand-composed reference', () => {
    // Parent: scales the network output; child: answers odd steps from the even step before (a toy cache).
    const scale: SamplingHook = { name: 'scale', call: (c, next) => tf.tidy(() => tf.mul(next(c), 0.5)) };
    let cached: tf.Tensor | null = null;
    const cache: SamplingHook = {
      name: 'cache',
      call: (c, next) => {
        if (c.stepIndex % 2 === 0) {
          cached?.dispose();
          cached = tf.keep(next(c));
        }
        return tf.clone(cached as tf.Tensor);
      },
      endSample: () => {
        cached?.dispose();
        cached = null;
      },
    };
    const chained = sample({ ...base, hooks: [scale, cache] });
    let reference: tf.Tensor | null = null;
    const composed: SamplingHook = {
      name: 'reference',
      call: (c) => {
        if (c.stepIndex % 2 === 0) {
          reference?.dispose();
          reference = tf.keep(tf.mul(c.model.forward(c.z, c.modelTime), 0.5));
        }
        return tf.clone(reference as tf.Tensor);
      },
    };
    const byHand = sample({ ...base, hooks: [composed] });
    (reference as tf.Tensor | null)?.dispose();
    expect(values(chained)).toEqual(values(byHand));
    expect(values(chained)).not.toEqual(values(sample(base)));
  });

  it('beforeStep may replace z (prior-noise injection) and sees the initial noise', () => {
    const inject: SamplingHook = {
      name: 'inject',
      beforeStep: ({ z, zT, stepIndex }) => (stepIndex >= 2 ? tf.add(z, tf.mul(zT, 0.003)) : undefined),
    };
    const seen: number[][] = [];
    const reference: SamplingHook = {
      name: 'reference',
      call: (c, next) => {
        seen.push(values(c.z));
        return next(c);
      },
    };
    const before = tf.memory().numTensors;
    sample({ ...base, count: 1, hooks: [inject, reference], onBatch: () => undefined });
    expect(tf.memory().numTensors).toBe(before);
    const plain: number[][] = [];
    sample({
      ...base, count: 1, onBatch: () => undefined,
      onStep: (e) => { if (e.i < 3) plain.push(values(e.x)); },
      hooks: [{ name: 'inject', beforeStep: inject.beforeStep }],
    });
    const zT = values(seededNormal([2, 2, 1], { seed: 3, stream: 'x_T', index: 0 }));
    // Step 2 enters with the z that step 1 produced, plus 0.003·z_T.
    seen[2].forEach((v, k) => expect(v).toBeCloseTo(plain[1][k] + 0.003 * zT[k], 6));
    expect(seen[1]).toEqual(plain[0]);
  });

  it('run() exposes the rows’ steps to the layers through the call context', () => {
    const seenSteps: Array<readonly number[] | undefined> = [];
    const probe: SamplingHook = {
      name: 'probe',
      call: (c, next) => {
        c.run(() => seenSteps.push(callContext()?.stepIndices), [7, 8]);
        seenSteps.push(callContext()?.stepIndices);
        return next(c);
      },
    };
    const inner = (c: ModelCall): tf.Tensor => c.run(() => {
      seenSteps.push(callContext()?.stepIndices);
      return c.model.forward(c.z, c.modelTime);
    });
    const call = modelCall({ model, z: tf.zeros([2, 2, 2, 1]), t: 500, modelTime: tf.fill([2], 500), stepIndex: 1, times: [750, 500], indices: [0, 1], schedule: linear });
    composeHooks([probe], inner)(call);
    expect(seenSteps).toEqual([[7, 8], undefined, [1, 1]]);
    expect(call.unet).toBeNull();
    // A call rebuilt with other rows must give their steps and times.
    const tiled = tf.zeros([4, 2, 2, 1]);
    expect(() => modelCall({ ...call, z: tiled })).toThrow('z has 4 rows but rowSteps 2 and modelTime 2');
    expect(modelCall({ ...call, z: tiled, modelTime: tf.fill([4], 500), rowSteps: [1, 1, 2, 2] }).rowSteps).toEqual([1, 1, 2, 2]);
  });

  it('the renoise sampler re-noises x̂ to the next explicit time with the step’s seeded noise', () => {
    const times = [750, 250];
    const x = sample({ ...base, count: 1, sampler: { kind: 'renoise', steps: 2, times, clipDenoised: false } }) as tf.Tensor;
    // Oracle ε-model with x0 = 0.25 everywhere: x̂ is exactly 0.25, so the last step returns it.
    values(x).forEach((v) => expect(v).toBeCloseTo(0.25, 5));
    const seen: number[][] = [];
    sample({
      ...base, count: 1, sampler: { kind: 'renoise', steps: 2, times, clipDenoised: false }, onBatch: () => undefined,
      onStep: (e) => { if (e.i === 0) seen.push(values(e.x)); },
    });
    const noise = values(seededNormal([2, 2, 1], { seed: 3, stream: 'sampler-step', index: 0, substream: 0 }));
    seen[0].forEach((v, k) => expect(v).toBeCloseTo(linear.alpha(250) * 0.25 + linear.sigma(250) * noise[k], 5));
  });
});
