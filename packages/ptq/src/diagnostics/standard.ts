import { DiagnosticTable } from '@diffpress/core';
import { DiffusionStageContext, PipelineModel, SamplingHook } from '@diffpress/diffusion';
import { PhaseTimer } from '../common/phase-timer';
import { epsMsePerStep } from './eps-mse';
import { temporalFeatureCosine } from './temporal-cosine';
import { timingTable } from './timing';

/** Options of {@link standardDiagnostics}. */
export interface StandardDiagnosticsOptions {
  /** Trajectories of the per-step ε-MSE table (0: skip it). */
  trajectories: number;
  /** The sampling hook of the quantized model, if any. */
  hook?: SamplingHook;
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
  const tables: DiagnosticTable[] = [timingTable(id, options.timer.phases)];
  if (options.trajectories > 0) tables.push(epsMsePerStep(id, quant, ctx.model, ctx.sampler, ctx.seed, options.trajectories, options.hook));
  tables.push(...temporalFeatureCosine(id, quant, ctx.model, ctx.sampler), ...(options.extra ?? []));
  return tables;
}
