import { DiagnosticTable } from '@diffpress/core';
import { DiffusionStageContext, PipelineModel, SamplingHook } from '@diffpress/diffusion';
import { CalibrationSet, CalibrationSpec, calibrationSet } from '../calibration/calibration-set';
import { QuantizedUNet, releaseFpWeights } from '../quant/quantize-unet';
import { epsMsePerStep, temporalFeatureCosine, timingTable } from './diagnostics';

/** One timed phase of a calibration. */
export interface Phase {
  /** Name. */
  name: string;
  /** Wall-clock seconds in this run. */
  seconds: number;
  /** Seconds the phase costs when computed: `seconds`, or the original run's for a phase reused from the cache. */
  cost: number;
}

/** Wall-clock seconds of named phases, in order. */
export class PhaseTimer {
  /** Phases measured so far. */
  readonly phases: Phase[] = [];

  /** Runs `f`, recording its wall-clock seconds under `name`. */
  run<T>(name: string, f: () => T): T {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      const seconds = (performance.now() - t0) / 1000;
      this.phases.push({ name, seconds, cost: seconds });
    }
  }

  /** Records a phase whose cost differs from its wall-clock here (reused from the cache). */
  record(phase: Phase): void {
    this.phases.push(phase);
  }

  /** Total wall-clock seconds. */
  total(): number {
    return this.phases.reduce((s, p) => s + p.seconds, 0);
  }
}

/**
 * The calibration set of a step: the FP model on the recipe's sampler, cached in the shared cache. Timed as the
 * phase `calibration set`, whose cost is the original draw time when the set comes from the cache.
 */
export function stageCalibrationSet(ctx: DiffusionStageContext, spec: CalibrationSpec, timer: PhaseTimer): CalibrationSet {
  const t0 = performance.now();
  const set = calibrationSet({ model: ctx.model, sampler: ctx.sampler, spec, seed: ctx.seed, cacheDir: ctx.cacheDir, log: ctx.log });
  const seconds = (performance.now() - t0) / 1000;
  timer.record({ name: set.fromCache ? 'calibration set (cached)' : 'calibration set', seconds, cost: set.fromCache && Number.isFinite(set.drawSeconds) ? set.drawSeconds : seconds });
  return set;
}

/** The pipeline model around a quantized network. */
export function quantizedPipelineModel(parent: PipelineModel, q: QuantizedUNet, methodId: string): PipelineModel {
  return { ...parent, id: `${parent.id}+${methodId}`, unet: q.unet };
}

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

/**
 * Runs the calibration `f` of a freshly built quantized network and frees the network if `f` throws, so that a
 * failed step leaves no tensors behind in a long-running process.
 */
export function freeOnError<T>(q: QuantizedUNet, f: () => T): T {
  try {
    return f();
  } catch (err) {
    releaseFpWeights(q);
    q.unet.dispose();
    throw err;
  }
}
