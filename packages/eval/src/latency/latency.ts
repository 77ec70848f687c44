import * as tf from '@tensorflow/tfjs';
import { engineInfo } from '@diffpress/core';
import { SamplerConfig, SamplingHook, beginHooks, composeHooks, endHooks, modelCall, runtimeLabel, runtimeOf, sample, samplerTimes } from '@diffpress/diffusion';
import { SamplingModel, samplerLabel } from '../samples/sample-store';

/** Options of {@link measureLatency}. */
export interface LatencyOptions {
  /** Shape of one sample, e.g. `[28, 28, 1]`. */
  shape: readonly number[];
  /** Batch of the timed UNet calls (default 64). */
  batchSize?: number;
  /** Timed repeats (default 5; fewer is refused — a median of fewer is not a measurement). */
  repeats?: number;
  /** Untimed warm-up runs before timing (default 2). */
  warmup?: number;
  /** Also time whole sampler runs of `sampleBatch` samples with this sampler (ms per sample). */
  sampler?: SamplerConfig;
  /** Samples per timed sampler run (default `batchSize`). */
  sampleBatch?: number;
  /**
   * Sampling hooks the network is called through (sampling-time methods, per-step quantizers), outermost first;
   * default a plain forward. The timed calls are made as the first step of `stepSampler`, and sampler runs use the
   * hooks too.
   */
  hooks?: readonly SamplingHook[];
  /** The sampler whose first step the timed calls stand for (default `sampler`, else DDIM with 2 steps). */
  stepSampler?: SamplerConfig;
}

/** Result of {@link measureLatency}. */
export interface LatencyReport {
  /** Backend the timings were taken on. */
  backend: string;
  /** Its thread count. */
  threads: number;
  /** Batch of the UNet calls. */
  batchSize: number;
  /** Median wall-clock of one UNet call on `batchSize` samples, output read back (ms). */
  msPerCall: number;
  /** The same per sample (ms). */
  msPerCallPerSample: number;
  /** All timed calls (ms). */
  callTimes: number[];
  /** Peak tensor memory one call adds on top of what was allocated before it (bytes, from `tf.profile`; weights excluded). */
  peakBytes: number;
  /** Sampler of the per-sample timing, e.g. `ddim-20`. */
  sampler?: string;
  /** Median wall-clock of drawing one sample with the sampler (ms), from runs of `sampleBatch` samples. */
  msPerSample?: number;
  /** All timed sampler runs, per sample (ms). */
  sampleTimes?: number[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Measures a model's latency on the current backend: the median of `repeats` timed UNet calls after `warmup`
 * untimed ones (reading the output back, so asynchronous backends are timed honestly), the peak tensor memory of one
 * call, and optionally the per-sample time of a whole sampler run. Timing belongs in benchmark scripts, not tests.
 *
 * @example
 * ```ts
 * const r = await measureLatency(loadDiffusionModel('unet-mnist-s-eps'), { shape: [28, 28, 1], sampler: { kind: 'ddim', steps: 20 } });
 * ```
 */
export async function measureLatency(model: SamplingModel, options: LatencyOptions): Promise<LatencyReport> {
  const batchSize = options.batchSize ?? 64;
  const repeats = options.repeats ?? 5;
  const warmup = options.warmup ?? 2;
  if (!Number.isInteger(repeats) || repeats < 5) throw new RangeError(`measureLatency: repeats must be an integer ≥ 5, got ${repeats}`);
  const x = tf.randomNormal([batchSize, ...options.shape], 0, 1, 'float32', 0);
  const times = samplerTimes(model.schedule, options.stepSampler ?? options.sampler ?? { kind: 'ddim', steps: 2 });
  const t = tf.fill([batchSize], model.schedule.modelTime(times[0]));
  const indices = Array.from({ length: batchSize }, (_, i) => i);
  const hooks = options.hooks ?? [];
  const callNetwork = composeHooks(hooks);
  const wasTraining = model.unet.training;
  model.unet.eval();
  try {
    const call = (): void => {
      tf.tidy(() => {
        callNetwork(modelCall({ model: model.unet, z: x, t: times[0], modelTime: t, stepIndex: 0, times, indices, schedule: model.schedule })).dataSync();
      });
    };
    const callTimes: number[] = [];
    let before: number;
    let prof: { peakBytes: number };
    beginHooks(hooks, indices);
    try {
      for (let i = 0; i < warmup; i++) call();
      for (let i = 0; i < repeats; i++) {
        const t0 = performance.now();
        call();
        callTimes.push(performance.now() - t0);
      }
      before = tf.memory().numBytes;
      prof = await tf.profile(call);
    } finally {
      // Hooks free their per-batch state (caches) also when a call fails.
      endHooks(hooks);
    }
    const info = engineInfo();
    const runtime = runtimeOf(model.unet);
    const report: LatencyReport = {
      backend: runtime ? runtimeLabel(runtime) : (info?.backend ?? tf.getBackend()),
      threads: runtime ? runtime.threads : (info?.threads ?? 1),
      batchSize,
      msPerCall: median(callTimes),
      msPerCallPerSample: median(callTimes) / batchSize,
      callTimes,
      peakBytes: prof.peakBytes - before,
    };
    if (options.sampler) {
      const n = options.sampleBatch ?? batchSize;
      const run = (): void => {
        const s = sample({ model: model.unet, schedule: model.schedule, prediction: model.prediction, shape: options.shape, count: n, seed: 0, sampler: options.sampler as SamplerConfig, batchSize: n, hooks });
        s?.dispose();
      };
      for (let i = 0; i < Math.min(1, warmup); i++) run();
      const sampleTimes: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const t0 = performance.now();
        run();
        sampleTimes.push((performance.now() - t0) / n);
      }
      report.sampler = samplerLabel(options.sampler);
      report.msPerSample = median(sampleTimes);
      report.sampleTimes = sampleTimes;
    }
    return report;
  } finally {
    tf.dispose([x, t]);
    if (wasTraining) model.unet.train();
  }
}
