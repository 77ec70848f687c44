import { DiagnosticTable } from '@diffpress/core';
import { PipelineModel, SamplerConfig, SamplingHook, samplerTimes } from '@diffpress/diffusion';
import { teacherForcedEpsMse } from '@diffpress/eval';

/**
 * Teacher-forced ε-MSE of the quantized model against the FP model at every sampler step (ptq spec §6): both see
 * the FP trajectory's `(x_t, t)`, so errors do not compound and the table shows where in the trajectory the
 * quantization error sits.
 */
export function epsMsePerStep(id: string, quant: PipelineModel, fp: PipelineModel, sampler: SamplerConfig, seed: number, trajectories: number, hook?: SamplingHook): DiagnosticTable {
  const c = fp.unet.plan.config;
  const r = teacherForcedEpsMse({
    model: quant, reference: fp, sampler, seed, count: trajectories, shape: [c.imageSize[0], c.imageSize[1], c.inChannels],
    buckets: samplerTimes(fp.schedule, sampler).length, hooks: hook ? [hook] : [], batchSize: 32,
  });
  return {
    id: `${id}.eps-mse-per-step`,
    title: 'ε-MSE vs FP per sampler step (teacher-forced)',
    description: `Mean squared difference of the predicted noise against the FP model's at the FP trajectory's inputs, ${trajectories} trajectories; step 0 is the noisiest. Mean over steps: ${r.mean.toExponential(3)}.`,
    columns: ['step', 't', 'ε-MSE'],
    rows: r.buckets.map((b) => [b.fromStep, b.times[0], b.mse]),
  };
}
