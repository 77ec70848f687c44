import { DiffusionStageContext } from '@diffpress/diffusion';
import { PhaseTimer } from '../common/phase-timer';
import { CalibrationSet, CalibrationSpec, calibrationSet } from './calibration-set';

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
