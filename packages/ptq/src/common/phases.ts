import { DiagnosticTable, Rng } from '@diffpress/core';
import { CalibrationSet, calibrationBatch } from '../calibration/calibration-set';
import { QuantizedUNet, setQuantState } from '../quant/quantize-unet';
import { HostTensor, captureOutputs, rowSize } from '../recon/capture';
import { UnitReport, reconstructUnit } from '../recon/reconstruct';
import { ReconUnit, unitActivationQuantizers, unitHasWeights } from '../recon/units';

/** Weight-reconstruction settings shared by Q-Diffusion and TFMQ-DM (see `weightReconSchema`). */
export interface WeightPhaseSettings {
  /** Steps per unit. */
  iters: number;
  /** Rows per step. */
  batchSize: number;
  /** Adam learning rate. */
  lr: number;
  /** Regulariser weight. */
  lambda: number;
  /** Warm-up share. */
  warmup: number;
  /** β after the warm-up. */
  betaStart: number;
  /** Final β. */
  betaEnd: number;
  /** Loss exponent. */
  p: number;
}

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
  /** Cache bound in bytes. */
  cacheLimitBytes: number;
  /** Progress lines. */
  log: (line: string) => void;
  /** FP outputs of every unit for all rows, once captured (null: they would not fit, each unit captures its own). */
  targets?: Map<string, HostTensor> | null;
}

/**
 * The FP outputs of all units for all calibration rows, from one FP pass over the set — shared by every unit and
 * both phases, which would otherwise each run the network up to the unit once more. Null when they would take more
 * than half the cache bound.
 */
export function fpTargets(ctx: PhaseContext, units: readonly ReconUnit[]): Map<string, HostTensor> | null {
  if (ctx.targets !== undefined) return ctx.targets;
  const paths = units.map((u) => u.path);
  const source = (idx: number[]): ReturnType<typeof calibrationBatch> => calibrationBatch(ctx.set, idx);
  setQuantState(ctx.q, { weights: false, activations: false });
  try {
    const probe = captureOutputs(ctx.q.unet, paths, 1, source, 1);
    const bytes = [...probe.values()].reduce((s, h) => s + rowSize(h), 0) * 4 * ctx.set.rows;
    ctx.targets = bytes <= ctx.cacheLimitBytes / 2 ? captureOutputs(ctx.q.unet, paths, ctx.set.rows, source, 32) : null;
    ctx.log(ctx.targets ? `FP targets of ${paths.length} units: ${(bytes / 2 ** 20).toFixed(0)} MiB` : `FP targets would take ${(bytes / 2 ** 20).toFixed(0)} MiB; each unit captures its own`);
  } finally {
    setQuantState(ctx.q, { weights: true, activations: false });
  }
  return ctx.targets;
}

/**
 * BRECQ + AdaRound over `units` in order (ptq spec §1): activations off, each unit reconstructed against the FP
 * network with its inputs taken from the network whose earlier units are already hard-rounded.
 */
export function reconstructWeights(ctx: PhaseContext, units: readonly ReconUnit[], s: WeightPhaseSettings): UnitReport[] {
  const reports: UnitReport[] = [];
  const todo = units.filter(unitHasWeights);
  if (s.iters === 0) {
    setQuantState(ctx.q, { weights: true, activations: false });
    return reports;
  }
  const targets = fpTargets(ctx, todo);
  setQuantState(ctx.q, { weights: true, activations: false });
  todo.forEach((unit, i) => {
    ctx.log(`weights: unit ${i + 1}/${todo.length} ${unit.path}`);
    reports.push(
      reconstructUnit(ctx.q.unet, ctx.q, unit, ctx.set.rows, (idx) => calibrationBatch(ctx.set, idx), {
        phase: 'weights', iters: s.iters, batchSize: s.batchSize, lr: s.lr, p: s.p, lambda: s.lambda,
        beta: { warmup: s.warmup, startBeta: s.betaStart, endBeta: s.betaEnd }, rng: ctx.rng.fork(`weights:${unit.path}`),
        cacheLimitBytes: ctx.cacheLimitBytes, log: ctx.log, targets: targets?.get(unit.path),
      }),
    );
  });
  return reports;
}

/** Learns the activation step sizes unit by unit (Q-Diffusion, ptq spec §3.4), weights quantized throughout. */
export function reconstructActivations(ctx: PhaseContext, units: readonly ReconUnit[], s: ActivationPhaseSettings): UnitReport[] {
  const todo = units.filter((u) => unitActivationQuantizers(u).length > 0);
  const reports: UnitReport[] = [];
  const targets = fpTargets(ctx, units);
  setQuantState(ctx.q, { weights: true, activations: true });
  todo.forEach((unit, i) => {
    ctx.log(`activations: unit ${i + 1}/${todo.length} ${unit.path}`);
    reports.push(
      reconstructUnit(ctx.q.unet, ctx.q, unit, ctx.set.rows, (idx) => calibrationBatch(ctx.set, idx), {
        phase: 'activations', iters: s.iters, batchSize: s.batchSize, lr: s.lr, p: s.p, rng: ctx.rng.fork(`activations:${unit.path}`),
        cacheLimitBytes: ctx.cacheLimitBytes, log: ctx.log, targets: targets?.get(unit.path),
      }),
    );
  });
  setQuantState(ctx.q, { weights: true, activations: true });
  return reports;
}

/** The per-unit reconstruction losses as a report table. */
export function reconstructionTable(id: string, phase: string, reports: readonly UnitReport[]): DiagnosticTable {
  return {
    id: `${id}.reconstruction-${phase}`,
    title: `Block reconstruction (${phase})`,
    description: 'Reconstruction loss of each unit on its first and last mini-batch, and its wall-clock seconds (of which capturing its inputs).',
    columns: ['unit', 'loss first', 'loss last', 'seconds', 'capture s'],
    rows: reports.map((r) => [r.path, r.lossStart, r.lossEnd, r.seconds, r.captureSeconds]),
  };
}
