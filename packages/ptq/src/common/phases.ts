import { DiagnosticTable, Rng } from '@diffpress/core';
import { CalibrationSet, calibrationBatch } from '../calibration/calibration-set';
import { QuantState, QuantizedUNet, setQuantState } from '../quant/quantize-unet';
import { HostTensor, captureOutputs, rowSize } from '../recon/capture';
import { ReconOptions, UnitReport, reconstructUnit } from '../recon/reconstruct';
import { ReconUnit, unitActivationQuantizers, unitHasWeights } from '../recon/units';
import { WeightReconSetting } from './config';

/** Activation step-size learning settings. */
export interface ActivationPhaseSettings {
  /** Steps per unit. */
  iters: number;
  /** Rows per step. */
  batchSize: number;
  /** Adam learning rate (cosine decay). */
  lr: number;
  /** Loss exponent. */
  p: number;
}

/** Shared inputs of the reconstruction phases. */
export interface PhaseContext {
  /** The quantized network. */
  q: QuantizedUNet;
  /** Calibration rows. */
  set: CalibrationSet;
  /** Mini-batch generator. */
  rng: Rng;
  /** Held-out rows of the calibration (see `heldOutRows`): measured on by every unit, never optimised on. */
  heldOut: readonly number[];
  /** Cache bound in bytes. */
  cacheLimitBytes: number;
  /** Progress lines. */
  log: (line: string) => void;
  /** FP outputs of every unit for all rows, once captured (null: they would not fit, each unit captures its own). */
  targets?: Map<string, HostTensor> | null;
}

/**
 * The FP outputs of the units for all calibration rows, from one FP pass over the set — shared by every unit and
 * both phases, which would otherwise each run the network up to the unit once more. Null when they would take more
 * than half the cache bound (each unit then captures its own).
 */
export function fpTargets(ctx: PhaseContext, units: readonly ReconUnit[]): Map<string, HostTensor> | null {
  if (ctx.targets === null) return null;
  const missing = units.map((u) => u.path).filter((p) => !ctx.targets?.has(p));
  if (missing.length === 0) return ctx.targets ?? new Map();
  const source = (idx: number[]): ReturnType<typeof calibrationBatch> => calibrationBatch(ctx.set, idx);
  setQuantState(ctx.q, { weights: false, activations: false });
  try {
    const probe = captureOutputs(ctx.q.unet, missing, 1, source, 1);
    const bytes = [...probe.values()].reduce((s, h) => s + rowSize(h), 0) * 4 * ctx.set.rows;
    if (bytes > ctx.cacheLimitBytes / 2) {
      ctx.log(`FP targets would take ${(bytes / 2 ** 20).toFixed(0)} MiB; each unit captures its own`);
      ctx.targets = null;
      return null;
    }
    const captured = captureOutputs(ctx.q.unet, missing, ctx.set.rows, source, 32);
    ctx.log(`FP targets of ${missing.length} units: ${(bytes / 2 ** 20).toFixed(0)} MiB`);
    ctx.targets = new Map([...(ctx.targets ?? []), ...captured]);
    return ctx.targets;
  } finally {
    setQuantState(ctx.q, { weights: true, activations: false });
  }
}

/**
 * BRECQ + AdaRound over `units` in order (ptq spec §1): activations off, each unit reconstructed against the FP
 * network with its inputs taken from the network whose earlier units are already hard-rounded.
 */
export function reconstructWeights(ctx: PhaseContext, units: readonly ReconUnit[], s: Omit<WeightReconSetting, 'init'>): UnitReport[] {
  const todo = units.filter(unitHasWeights);
  setQuantState(ctx.q, { weights: true, activations: false });
  if (s.iters === 0) return [];
  return runUnits(ctx, todo, { weights: true, activations: false }, (unit) => ({
    phase: 'weights', iters: s.iters, batchSize: s.batchSize, lr: s.lr, p: s.p, lambda: s.lambda,
    beta: { warmup: s.warmup, startBeta: s.betaStart, endBeta: s.betaEnd }, rng: ctx.rng.fork(`weights:${unit.path}`),
  }));
}

/** Learns the activation step sizes unit by unit (Q-Diffusion, ptq spec §3.4), weights quantized throughout. */
export function reconstructActivations(ctx: PhaseContext, units: readonly ReconUnit[], s: ActivationPhaseSettings): UnitReport[] {
  const todo = units.filter((u) => unitActivationQuantizers(u).length > 0);
  const reports = runUnits(ctx, todo, { weights: true, activations: true }, (unit) => ({
    phase: 'activations', iters: s.iters, batchSize: s.batchSize, lr: s.lr, p: s.p, rng: ctx.rng.fork(`activations:${unit.path}`),
  }));
  setQuantState(ctx.q, { weights: true, activations: true });
  return reports;
}

/** Reconstructs `todo` in order with the shared FP targets, the network in `state` between units. */
function runUnits(ctx: PhaseContext, todo: readonly ReconUnit[], state: QuantState, options: (unit: ReconUnit) => ReconOptions): UnitReport[] {
  const targets = fpTargets(ctx, todo);
  setQuantState(ctx.q, state);
  return todo.map((unit, i) => {
    const o = options(unit);
    ctx.log(`${o.phase}: unit ${i + 1}/${todo.length} ${unit.path}`);
    return reconstructUnit(ctx.q.unet, ctx.q, unit, ctx.set.rows, (idx) => calibrationBatch(ctx.set, idx), {
      ...o, heldOut: ctx.heldOut, cacheLimitBytes: ctx.cacheLimitBytes, log: ctx.log, targets: targets?.get(unit.path),
    });
  });
}

/**
 * The per-unit reconstruction report as a table (id `<id>.reconstruction-<phase>`): per unit the optimisation steps,
 * the share of AdaRound's `h(α)` not yet saturated (inside (0.01, 0.99)) before and after, the reconstruction loss
 * on the held-out rows with hard rounding before (round-to-nearest for weights, initial step sizes for activations)
 * and after, the soft training loss of the first and last mini-batch, and the wall-clock.
 */
export function reconstructionTable(id: string, phase: string, reports: readonly UnitReport[], heldOut: number): DiagnosticTable {
  const weights = reports.some((r) => r.unsaturatedAfter != null);
  return {
    id: `${id}.reconstruction-${phase}`,
    title: `Block reconstruction (${phase})`,
    description:
      `Per unit: optimisation steps; ${weights ? "share of AdaRound's h(α) inside (0.01, 0.99), i.e. not yet rounded, at the start and the end (0 at convergence); " : ''}` +
      `reconstruction loss of the unit as deployed (${weights ? 'hard rounding; at the start that is round-to-nearest' : 'initial, then learned step sizes'}) on ${heldOut} held-out calibration rows (drawn once per calibration, never optimised on${weights ? '; the temporal block of TIAR: on all its calibration times' : ''}) before and after; ` +
      `the training loss (${weights ? 'soft rounding, ' : ''}one random mini-batch) at the first and last step; wall-clock seconds, of which capturing the unit's inputs.`,
    columns: ['unit', 'steps', ...(weights ? ['h(α) unsaturated start', 'h(α) unsaturated end'] : []), 'held-out loss before', 'held-out loss after', 'train loss first', 'train loss last', 'seconds', 'capture s'],
    rows: reports.map((r) => [
      r.path, r.iters, ...(weights ? [nullIfNaN(r.unsaturatedBefore), nullIfNaN(r.unsaturatedAfter)] : []), nullIfNaN(r.heldOutBefore), nullIfNaN(r.heldOutAfter), nullIfNaN(r.lossStart), nullIfNaN(r.lossEnd), r.seconds, r.captureSeconds,
    ]),
  };
}

/** JSON has no NaN: a missing figure is null (shown as a dash). */
function nullIfNaN(x: number | null): number | null {
  return x != null && Number.isFinite(x) ? x : null;
}
