import { DiagnosticTable, Rng } from '@diffpress/core';
import { CalibrationSet, calibrationBatch } from '../calibration/calibration-set';
import { QuantizedUNet, setQuantState } from '../quant/quantize-unet';
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
}

/**
 * BRECQ + AdaRound over `units` in order (ptq spec §1): activations off, each unit reconstructed against the FP
 * network with its inputs taken from the network whose earlier units are already hard-rounded.
 */
export function reconstructWeights(ctx: PhaseContext, units: readonly ReconUnit[], s: WeightPhaseSettings): UnitReport[] {
  const reports: UnitReport[] = [];
  const todo = units.filter(unitHasWeights);
  setQuantState(ctx.q, { weights: true, activations: false });
  if (s.iters === 0) return reports;
  todo.forEach((unit, i) => {
    ctx.log(`weights: unit ${i + 1}/${todo.length} ${unit.path}`);
    reports.push(
      reconstructUnit(ctx.q.unet, ctx.q, unit, ctx.set.rows, (idx) => calibrationBatch(ctx.set, idx), {
        phase: 'weights', iters: s.iters, batchSize: s.batchSize, lr: s.lr, p: s.p, lambda: s.lambda,
        beta: { warmup: s.warmup, startBeta: s.betaStart, endBeta: s.betaEnd }, rng: ctx.rng.fork(`weights:${unit.path}`),
        cacheLimitBytes: ctx.cacheLimitBytes, log: ctx.log,
      }),
    );
  });
  return reports;
}

/** Learns the activation step sizes unit by unit (Q-Diffusion, ptq spec §3.4), weights quantized throughout. */
export function reconstructActivations(ctx: PhaseContext, units: readonly ReconUnit[], s: ActivationPhaseSettings): UnitReport[] {
  const todo = units.filter((u) => unitActivationQuantizers(u).length > 0);
  const reports: UnitReport[] = [];
  todo.forEach((unit, i) => {
    ctx.log(`activations: unit ${i + 1}/${todo.length} ${unit.path}`);
    reports.push(
      reconstructUnit(ctx.q.unet, ctx.q, unit, ctx.set.rows, (idx) => calibrationBatch(ctx.set, idx), {
        phase: 'activations', iters: s.iters, batchSize: s.batchSize, lr: s.lr, p: s.p, rng: ctx.rng.fork(`activations:${unit.path}`),
        cacheLimitBytes: ctx.cacheLimitBytes, log: ctx.log,
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
    description: 'Reconstruction loss of each unit on its first and last mini-batch, and its wall-clock seconds.',
    columns: ['unit', 'loss first', 'loss last', 'seconds'],
    rows: reports.map((r) => [r.path, r.lossStart, r.lossEnd, r.seconds]),
  };
}
