import * as tf from '@tensorflow/tfjs';
import { Denoiser, ModelCall, PipelineModel, SamplerConfig, SamplingHook, modelCall, sample, samplerTimes } from '@diffpress/diffusion';

/**
 * Samples `count` tiny-model samples (seed 0) through `hooks`; returns them as a flat array. `network` replaces the
 * model's UNet in the calls (a runtime's UNet).
 */
export function drawTiny(m: PipelineModel, sampler: SamplerConfig, hooks: SamplingHook[], count = 4, network: Denoiser = m.unet): Float32Array {
  const c = m.unet.plan.config;
  const x = sample({ model: network, schedule: m.schedule, prediction: m.prediction, shape: [c.imageSize[0], c.imageSize[1], c.inChannels], count, seed: 0, sampler, hooks, batchSize: count }) as tf.Tensor;
  const out = x.dataSync() as Float32Array;
  x.dispose();
  return out;
}

/** Largest absolute difference of two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The network call of step `i` of `sampler` on `z`, as the sampler builds it (for calling a hook directly). */
export function stepCall(m: PipelineModel, sampler: SamplerConfig, z: tf.Tensor, i: number): ModelCall {
  const times = samplerTimes(m.schedule, sampler);
  const n = z.shape[0];
  return modelCall({ model: m.unet, z, t: times[i], modelTime: tf.fill([n], m.schedule.modelTime(times[i])), stepIndex: i, times, indices: Array.from({ length: n }, (_, k) => k), schedule: m.schedule });
}
