import { Rng } from '@diffpress/core';
import { DiffusionMethod, DiffusionStageContext, DiffusionStageResult } from '@diffpress/diffusion';
import { stageCalibrationSet } from '../calibration/stage-calibration-set';
import { calibrateActivations, initWeightQuantizers } from '../common/calibrate';
import { calibrationSpec, resolveKeepFp } from '../common/config';
import { PhaseTimer } from '../common/phase-timer';
import { freeOnError, quantizedPipelineModel } from '../common/quantized-model';
import { standardDiagnostics } from '../diagnostics/standard';
import { QuantizeUNetSpec, quantizeUNet, setQuantState } from '../quant/quantize-unet';
import { PtqNaiveConfig, ptqNaiveConfig } from './config';

function spec(config: PtqNaiveConfig): QuantizeUNetSpec {
  return {
    weightBits: config.weightBits, activationBits: config.activationBits, softmaxBits: config.softmaxBits ?? config.activationBits,
    split: false, keepFp: resolveKeepFp(config.keepFp),
  };
}

async function apply(ctx: DiffusionStageContext, config: PtqNaiveConfig): Promise<DiffusionStageResult> {
  const timer = new PhaseTimer();
  const set = config.activationBits < 32 ? stageCalibrationSet(ctx, calibrationSpec(config.calibration), timer) : null;
  const q = quantizeUNet(ctx.model.unet, spec(config));
  freeOnError(q, () => {
    timer.run('weights (min-max, round-to-nearest)', () => initWeightQuantizers(q, 'minmax'));
    if (set) timer.run('activation ranges (min-max)', () => calibrateActivations(q.unet, q, set, { init: 'minmax', rng: new Rng(ctx.seed, 'ptq-naive.batches') }));
  });
  setQuantState(q, { weights: true, activations: true });
  const model = quantizedPipelineModel(ctx.model, q, 'ptq-naive');
  ctx.log(`W${config.weightBits}A${config.activationBits}: ${q.layers.length} layers quantized`);
  return { model, bitWidths: q.bitWidths, state: null, diagnostics: standardDiagnostics('ptq-naive', ctx, model, { trajectories: config.diagnostics.trajectories, timer }) };
}

/**
 * `ptq-naive` — the "Linear Quant" baseline every PTQ table compares against (ptq spec §2): weights per output
 * channel, asymmetric, min-max, round-to-nearest; activations (inputs of every conv/linear, attention q/k/v and
 * softmax) per tensor, min-max from one batch at one timestep. No reconstruction, no split.
 *
 * @example
 * ```yaml
 * pipeline:
 *   - method: ptq-naive
 *     config: { weightBits: 4, activationBits: 8 }
 * ```
 */
export const ptqNaive: DiffusionMethod<PtqNaiveConfig> = {
  id: 'ptq-naive',
  family: 'ptq',
  version: '0.1.0',
  description: 'naive PTQ ("Linear Quant"): per-channel min-max round-to-nearest weights, per-tensor min-max activations from one timestep',
  config: ptqNaiveConfig,
  compatibility: { conflictsWith: ['q-diffusion', 'tfmq'] },
  apply,
  restore: async (ctx, config) => {
    const q = quantizeUNet(ctx.model.unet, spec(config));
    setQuantState(q, { weights: true, activations: true });
    return { model: quantizedPipelineModel(ctx.model, q, 'ptq-naive'), bitWidths: q.bitWidths };
  },
};
