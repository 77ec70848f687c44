import { Rng } from '@diffpress/core';
import { DiffusionMethod, DiffusionStageContext, DiffusionStageResult } from '@diffpress/diffusion';
import { heldOutRows } from '../calibration/calibration-set';
import { stageCalibrationSet } from '../calibration/stage-calibration-set';
import { activationCalibrationSummary, calibrateActivations, describeRangeCalibration, initWeightQuantizers } from '../common/calibrate';
import { calibrationSpec, resolveKeepFp } from '../common/config';
import { PhaseTimer } from '../common/phase-timer';
import { PhaseContext, reconstructActivations, reconstructWeights, reconstructionTable } from '../common/phases';
import { freeOnError, quantizedPipelineModel } from '../common/quantized-model';
import { cachedWeightPhase } from '../common/weight-cache';
import { shortcutRangeRatios } from '../diagnostics/shortcut-ranges';
import { standardDiagnostics } from '../diagnostics/standard';
import { QuantizeUNetSpec, quantizeUNet, releaseFpWeights, setQuantState } from '../quant/quantize-unet';
import { reconstructionUnits } from '../recon/units';
import { QDiffusionConfig, qDiffusionConfig } from './config';

function spec(config: QDiffusionConfig): QuantizeUNetSpec {
  return {
    weightBits: config.weightBits, activationBits: config.activationBits, softmaxBits: config.softmaxBits ?? config.activationBits,
    split: config.split, keepFp: resolveKeepFp(config.keepFp),
  };
}

async function apply(ctx: DiffusionStageContext, config: QDiffusionConfig): Promise<DiffusionStageResult> {
  const timer = new PhaseTimer();
  const set = stageCalibrationSet(ctx, calibrationSpec(config.calibration), timer);
  const q = quantizeUNet(ctx.model.unet, spec(config));
  return freeOnError(q, () => {
    const rng = new Rng(ctx.seed, 'q-diffusion');
    // Drawn once per calibration, shared by both phases: never optimised on, only measured on.
    const heldOut = heldOutRows(set, config.heldOutRows, rng.fork('held-out'));
    const phase: PhaseContext = { q, set, rng, heldOut, cacheLimitBytes: config.cacheLimitMiB * 2 ** 20, log: ctx.log };
    const units = reconstructionUnits(q.unet, q);
    // Keyed without the activation settings: W4A32 and W4A8 share their weight phase.
    const weightInputs = {
      method: 'q-diffusion', version: qDiffusion.version, calibration: set.key, seed: ctx.seed, weightBits: config.weightBits, split: config.split, keepFp: config.keepFp, weights: config.weights,
      heldOutRows: config.heldOutRows,
    };
    const weightReports = cachedWeightPhase(ctx.cacheDir, weightInputs, q, timer, 'weight init + reconstruction', () => {
      initWeightQuantizers(q, config.weights.init);
      return reconstructWeights(phase, units, config.weights);
    });
    const tables = [reconstructionTable('q-diffusion', 'weights', weightReports, heldOut.length)];
    if (config.activationBits < 32) {
      const a = config.activations;
      // EMA runs over the whole calibration set (every pass holding every step); min-max and MSE take one mixed-step
      // batch of initRows rows, as the reference code.
      const initRows = a.init === 'ema' ? undefined : rng.fork('init-rows').permutation(set.rows).slice(0, a.initRows);
      const init = { init: a.init, rows: initRows, rowsPerStep: initRows ? initRows.length : undefined };
      timer.run(`activation init (${describeRangeCalibration(a.init, activationCalibrationSummary(set, init))})`, () => calibrateActivations(q.unet, q, set, { ...init, rng: rng.fork('init') }));
      if (a.learn && a.iters > 0) {
        tables.push(reconstructionTable('q-diffusion', 'activations', timer.run('activation reconstruction', () => reconstructActivations(phase, units, a)), heldOut.length));
      }
    }
    // Measured while the FP weights are still at hand (the probe runs the network in FP).
    tables.push(shortcutRangeRatios('q-diffusion', q.unet, q, set, rng.fork('probe-rows').permutation(set.rows).slice(0, 64)));
    releaseFpWeights(q);
    setQuantState(q, { weights: true, activations: true });
    const model = quantizedPipelineModel(ctx.model, q, 'q-diffusion');
    const diagnostics = standardDiagnostics('q-diffusion', ctx, model, { trajectories: config.diagnostics.trajectories, timer, extra: tables });
    ctx.log(`W${config.weightBits}A${config.activationBits}${config.split ? ' split' : ''}: ${q.layers.length} layers, ${units.length} units, ${timer.summary()}`);
    return { model, bitWidths: q.bitWidths, state: null, diagnostics };
  });
}

/**
 * `q-diffusion` — Q-Diffusion (Li et al., ICCV 2023; ptq spec §3): time step-aware calibration (uniform over the
 * FP trajectory), BRECQ block reconstruction with AdaRound for the weights, split shortcut quantization of the
 * decoder blocks, and quantized inputs of every conv/linear and of the attention products whose step sizes are
 * learned unit by unit.
 *
 * @example
 * ```yaml
 * pipeline:
 *   - method: q-diffusion
 *     config: { weightBits: 4, activationBits: 8, weights: { iters: 1000, lr: 0.01 } }
 * ```
 */
export const qDiffusion: DiffusionMethod<QDiffusionConfig> = {
  id: 'q-diffusion',
  family: 'ptq',
  version: '0.1.0',
  description: 'Q-Diffusion: time step-aware calibration, BRECQ + AdaRound weights, split shortcuts, learned activation steps',
  paper: { title: 'Q-Diffusion: Quantizing Diffusion Models', arxiv: '2302.04304' },
  config: qDiffusionConfig,
  compatibility: { conflictsWith: ['ptq-naive', 'tfmq'] },
  apply,
  restore: async (ctx, config) => {
    const q = quantizeUNet(ctx.model.unet, spec(config));
    return { model: quantizedPipelineModel(ctx.model, q, 'q-diffusion'), bitWidths: q.bitWidths };
  },
};
