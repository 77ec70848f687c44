import { DiagnosticTable, StageSampler } from '@diffpress/core';
import { DiffusionStageContext, ModelCallPolicy, PipelineModel, SamplerConfig } from '@diffpress/diffusion';
import { CalibrationSet, CalibrationSpec, calibrationSet } from '../calibration/calibration-set';
import { QuantizedUNet } from '../quant/quantize-unet';
import { epsMsePerStep, temporalFeatureCosine, timingTable } from './diagnostics';

/** The recipe's sampler as the diffusion sampler takes it. */
export function samplerConfig(s: StageSampler): SamplerConfig {
  if (s.kind !== 'ddim' && s.kind !== 'ddpm') throw new Error(`ptq: unsupported sampler '${s.kind}' (ddim or ddpm)`);
  return s as SamplerConfig;
}

/** Wall-clock seconds of named phases, in order. */
export class PhaseTimer {
  /** Phases measured so far. */
  readonly phases: Array<[string, number]> = [];

  /** Runs `f`, recording its wall-clock seconds under `name`. */
  run<T>(name: string, f: () => T): T {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      this.phases.push([name, (performance.now() - t0) / 1000]);
    }
  }
}

/** The calibration set of a step: the FP model on the recipe's sampler, cached in the shared cache. */
export function stageCalibrationSet(ctx: DiffusionStageContext, spec: CalibrationSpec): CalibrationSet {
  return calibrationSet({ model: ctx.model, sampler: samplerConfig(ctx.sampler), spec, seed: ctx.seed, cacheDir: ctx.cacheDir, log: ctx.log });
}

/** The pipeline model around a quantized network. */
export function quantizedPipelineModel(parent: PipelineModel, q: QuantizedUNet, methodId: string): PipelineModel {
  return { ...parent, id: `${parent.id}+${methodId}`, unet: q.unet };
}

/** Options of {@link standardDiagnostics}. */
export interface StandardDiagnosticsOptions {
  /** Trajectories of the per-step ε-MSE table (0: skip it). */
  trajectories: number;
  /** The sampler policy of the quantized model, if any. */
  policy?: ModelCallPolicy;
  /** Phases of the calibration. */
  timer: PhaseTimer;
  /** Extra tables (e.g. the shortcut range ratios). */
  extra?: DiagnosticTable[];
}

/**
 * The report tables every PTQ method adds (ptq spec §6): per-step ε-MSE against FP (teacher-forced), the
 * temporal-feature cosine of TFMQ-DM's Fig. 2, and the calibration wall-clock.
 */
export function standardDiagnostics(id: string, ctx: DiffusionStageContext, quant: PipelineModel, options: StandardDiagnosticsOptions): DiagnosticTable[] {
  const sampler = samplerConfig(ctx.sampler);
  const tables: DiagnosticTable[] = [timingTable(id, options.timer.phases)];
  if (options.trajectories > 0) tables.push(epsMsePerStep(id, quant, ctx.model, sampler, ctx.seed, options.trajectories, options.policy));
  tables.push(...temporalFeatureCosine(id, quant, ctx.model, sampler), ...(options.extra ?? []));
  return tables;
}
