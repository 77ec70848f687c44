import { DiffusionStageContext } from '@diffpress/diffusion';
import { PhaseTimer } from '../common/phase-timer';
import { CalibrationSet, CalibrationSpec, calibrationSet } from './calibration-set';

/**
 * The calibration set of a step: the FP model on the recipe's sampler, cached in the shared cache. Timed as the
 * phase `calibration set`, whose cost is the wall-clock of drawing it (recorded with the set, so a set read from the
 * cache — marked reused — costs what drawing it did).
 */
export function stageCalibrationSet(ctx: DiffusionStageContext, spec: CalibrationSpec, timer: PhaseTimer): CalibrationSet {
  const t0 = performance.now();
  const set = calibrationSet({ model: ctx.model, sampler: ctx.sampler, spec, seed: ctx.seed, cacheDir: ctx.cacheDir, log: ctx.log });
  const seconds = (performance.now() - t0) / 1000;
  // The cost is the wall-clock of drawing the set, stored with it: the same figure whether this run drew it or read it
  // from the store (the reuse time is not its cost; keying and storing it are not part of it either).
  const known = Number.isFinite(set.drawSeconds);
  timer.record({ name: 'calibration set', seconds, cost: known ? set.drawSeconds : seconds, reused: set.fromCache });
  return set;
}
