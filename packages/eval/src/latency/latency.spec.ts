import * as tf from '@tensorflow/tfjs';
import { Module, engineInfo, initEngine } from '@diffpress/core';
import { NoiseSchedule, SamplingHook, samplerTimes, scheduleFromConfig } from '@diffpress/diffusion';
import { SamplingModel } from '../samples/sample-store';
import { measureLatency } from './latency';

/** ε̂ = z / 2, recording the batch shape, the model time and the mode of every call. */
class HalfDenoiser extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  readonly calls: Array<{ shape: number[]; t: number[]; training: boolean }> = [];

  forward(z: tf.Tensor, t: tf.Tensor): tf.Tensor {
    this.calls.push({ shape: z.shape, t: Array.from(t.dataSync()), training: this.training });
    return tf.mul(z, 0.5);
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

let schedule: NoiseSchedule;
let unet: HalfDenoiser;
let model: SamplingModel;

beforeAll(async () => {
  await initEngine({ backend: 'wasm', quiet: true });
  schedule = scheduleFromConfig({ type: 'linear-beta', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
  unet = new HalfDenoiser();
  model = { unet, schedule, prediction: 'eps' };
});

beforeEach(() => {
  unet.calls.length = 0;
  unet.train();
});

afterAll(() => unet.dispose());

describe('measureLatency', () => {
  it('refuses fewer than 5 repeats, before touching the model', async () => {
    const before = tf.memory().numTensors;
    await expect(measureLatency(model, { shape: [4, 4, 1], repeats: 4 })).rejects.toThrow(RangeError);
    await expect(measureLatency(model, { shape: [4, 4, 1], repeats: 5.5 })).rejects.toThrow(/integer ≥ 5, got 5.5/);
    expect(unet.calls).toHaveLength(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports medians of the timed calls and sampler runs, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const r = await measureLatency(model, { shape: [4, 4, 1], batchSize: 4, sampler: { kind: 'ddim', steps: 2 }, sampleBatch: 4 });
    expect(tf.memory().numTensors).toBe(before);

    expect(r.backend).toBe('wasm');
    expect(r.threads).toBe(engineInfo()?.threads);
    expect(r.batchSize).toBe(4);
    expect(r.callTimes).toHaveLength(5);
    r.callTimes.forEach((ms) => expect(ms).toBeGreaterThanOrEqual(0));
    expect(r.msPerCall).toBe(median(r.callTimes));
    expect(r.msPerCall).toBe([...r.callTimes].sort((a, b) => a - b)[2]);
    expect(r.msPerCallPerSample).toBeCloseTo(r.msPerCall / 4, 12);
    // One call holds at least its [4, 4, 4, 1] float32 output: 256 bytes.
    expect(r.peakBytes).toBeGreaterThanOrEqual(256);

    expect(r.sampler).toBe('ddim-2');
    expect(r.sampleTimes).toHaveLength(5);
    expect(r.msPerSample).toBe(median(r.sampleTimes ?? []));

    // Calls: 2 warm-up + 5 timed + 1 profiled UNet calls on the fixed batch at the noisiest time of a 2-step
    // sampler (t = 500), then (1 warm-up + 5 timed) sampler runs × 2 steps, all in eval mode.
    expect(unet.calls).toHaveLength(2 + 5 + 1 + 6 * 2);
    unet.calls.slice(0, 8).forEach((c) => {
      expect(c.shape).toEqual([4, 4, 4, 1]);
      expect(c.t).toEqual([500, 500, 500, 500]);
    });
    expect(unet.calls.slice(8).map((c) => c.t[0])).toEqual(Array.from({ length: 6 }, () => [500, 0]).flat());
    expect(unet.calls.every((c) => !c.training)).toBe(true);
    expect(unet.training).toBe(true); // restored

    // Tensors alive before the call are not the call's: an unrelated 1 MiB tensor leaves the figure unchanged.
    const unrelated = tf.zeros([262144]);
    const again = await measureLatency(model, { shape: [4, 4, 1], batchSize: 4 });
    unrelated.dispose();
    expect(again.peakBytes).toBe(r.peakBytes);
  });

  it('honours warmup, repeats and sampleBatch, and leaves out the sampler fields without a sampler', async () => {
    const r = await measureLatency(model, { shape: [2], batchSize: 3, warmup: 0, repeats: 7 });
    expect(r.callTimes).toHaveLength(7);
    expect(r.msPerCall).toBe(median(r.callTimes));
    expect(r.msPerCallPerSample).toBeCloseTo(r.msPerCall / 3, 12);
    expect(r.sampler).toBeUndefined();
    expect(r.sampleTimes).toBeUndefined();
    expect(r.msPerSample).toBeUndefined();
    expect(unet.calls).toHaveLength(7 + 1);
    expect(unet.calls[0].shape).toEqual([3, 2]);

    unet.calls.length = 0;
    unet.eval();
    const s = await measureLatency(model, { shape: [2], batchSize: 3, warmup: 1, sampler: { kind: 'ddpm', steps: 3 }, sampleBatch: 5 });
    expect(s.sampler).toBe('ddpm-3');
    expect(s.sampleTimes).toHaveLength(5);
    // 1 + 5 + 1 UNet calls of 3 samples, then (1 + 5) runs × 3 steps on batches of 5.
    expect(unet.calls.map((c) => c.shape[0])).toEqual([...new Array<number>(7).fill(3), ...new Array<number>(18).fill(5)]);
    expect(unet.training).toBe(false); // was in eval mode, stays there
  });

  it('calls the network through the hooks at the first step of the given sampler, and samples through them', async () => {
    const seen: Array<{ stepIndex: number; t: number; steps: number }> = [];
    const recorder: SamplingHook = {
      name: 'recorder',
      call: (c, next) => {
        seen.push({ stepIndex: c.stepIndex, t: c.t, steps: c.times.length });
        return next(c);
      },
    };
    await measureLatency(model, { shape: [2], batchSize: 3, warmup: 0, hooks: [recorder], stepSampler: { kind: 'ddim', steps: 20 }, sampler: { kind: 'ddim', steps: 2 }, sampleBatch: 2 });
    const first = samplerTimes(schedule, { kind: 'ddim', steps: 20 })[0];
    // 5 timed calls and the profiled one at step 0 of DDIM-20; then 5 sampler runs (no warm-up) of 2 steps.
    expect(seen.slice(0, 6)).toEqual(new Array(6).fill({ stepIndex: 0, t: first, steps: 20 }));
    expect(unet.calls[0].t[0]).toBeCloseTo(schedule.modelTime(first), 6);
    expect(seen.slice(6).map((c) => c.steps)).toEqual(new Array<number>(10).fill(2));
  });
});
