import { JsonValue, Rng } from '@diffpress/core';
import { DiffusionMethod, DiffusionStageContext, DiffusionStageResult, PipelineModel, samplerTimes } from '@diffpress/diffusion';
import { samplerLabel } from '@diffpress/eval';
import { heldOutRows } from '../calibration/calibration-set';
import { stageCalibrationSet } from '../calibration/stage-calibration-set';
import { activationCalibrationSummary, calibrateActivations, describeRangeCalibration, initWeightQuantizers } from '../common/calibrate';
import { calibrationSpec, resolveKeepFp } from '../common/config';
import { PhaseTimer } from '../common/phase-timer';
import { PhaseContext, reconstructWeights, reconstructionTable } from '../common/phases';
import { freeOnError, quantizedPipelineModel } from '../common/quantized-model';
import { cachedWeightPhase } from '../common/weight-cache';
import { standardDiagnostics } from '../diagnostics/standard';
import { QuantizeUNetSpec, quantizeUNet, releaseFpWeights, setQuantState } from '../quant/quantize-unet';
import { UnitReport } from '../recon/reconstruct';
import { reconstructionUnits } from '../recon/units';
import { TfmqConfig, tfmqConfig } from './config';
import { CalibratedSteps, perStepHook } from './step-hook';
import { TIB_LAYERS, reconstructTib } from './tiar';

/** The sampler steps of the stage, which FSC calibrates for. */
function stageSteps(ctx: DiffusionStageContext): CalibratedSteps {
  const times = samplerTimes(ctx.model.schedule, ctx.sampler);
  return { label: samplerLabel(ctx.sampler), times, modelTimes: times.map((t) => ctx.model.schedule.modelTime(t)) };
}

function spec(config: TfmqConfig, steps: CalibratedSteps | null): QuantizeUNetSpec {
  return {
    weightBits: config.weightBits, activationBits: config.activationBits, softmaxBits: config.softmaxBits ?? config.activationBits,
    split: config.split, keepFp: resolveKeepFp(config.keepFp),
    perStep: steps ? { steps, scope: config.fscScope } : undefined,
  };
}

/** Whether the config keeps per-step activation parameters. */
function perStep(config: TfmqConfig): boolean {
  return config.fsc && config.activationBits < 32;
}

function result(parent: PipelineModel, q: ReturnType<typeof quantizeUNet>, steps: CalibratedSteps | null): DiffusionStageResult {
  const model = quantizedPipelineModel(parent, q, 'tfmq');
  return { model, bitWidths: q.bitWidths, hook: steps ? perStepHook('tfmq', steps) : undefined };
}

async function apply(ctx: DiffusionStageContext, config: TfmqConfig): Promise<DiffusionStageResult> {
  const timer = new PhaseTimer();
  const set = stageCalibrationSet(ctx, calibrationSpec(config.calibration), timer);
  const steps = perStep(config) ? stageSteps(ctx) : null;
  const q = quantizeUNet(ctx.model.unet, spec(config, steps));
  return freeOnError(q, () => {
    const rng = new Rng(ctx.seed, 'tfmq');
    // Drawn once per calibration: the reconstruction never optimises on these rows, it measures on them.
    const heldOut = heldOutRows(set, config.heldOutRows, rng.fork('held-out'));
    const phase: PhaseContext = { q, set, rng, heldOut, cacheLimitBytes: config.cacheLimitMiB * 2 ** 20, log: ctx.log };
    // Keyed without the activation settings: W4A32 and W4A8, and FSC on and off, share their weight phase.
    const weightInputs = { method: 'tfmq', version: tfmq.version, calibration: set.key, seed: ctx.seed, weightBits: config.weightBits, split: config.split, keepFp: config.keepFp, weights: config.weights, tiar: config.tiar, heldOutRows: config.heldOutRows };
    // With TIAR, the temporal layers are done and frozen; without it they are reconstructed with their blocks (BRECQ).
    const units = reconstructionUnits(q.unet, q, config.tiar ? TIB_LAYERS : []);
    const reports = cachedWeightPhase(ctx.cacheDir, weightInputs, q, timer, `weight init + ${config.tiar ? 'TIAR + ' : ''}reconstruction`, () => {
      initWeightQuantizers(q, config.weights.init);
      const out: UnitReport[] = [];
      if (config.tiar && config.weights.iters > 0) {
        const times = [...new Set(Array.from(set.modelTimes))].sort((a, b) => b - a);
        out.push(reconstructTib(q, times, config.weights, rng.fork('tiar'), ctx.log));
      }
      out.push(...reconstructWeights(phase, units, config.weights));
      return out;
    });
    if (config.activationBits < 32) {
      // Every pass holds emaBatch rows of each step: per-step ranges get one EMA update per pass from their own step's
      // rows, single ranges one from all steps at once (not a running average dominated by one random step).
      const options = { init: 'ema' as const, momentum: config.activations.momentum, rowsPerStep: config.activations.emaBatch };
      const how = describeRangeCalibration('ema', activationCalibrationSummary(set, options));
      timer.run(steps ? `activation ranges per step (FSC, ${config.fscScope}): ${how}` : `activation ranges: ${how}`, () => calibrateActivations(q.unet, q, set, { ...options, rng: rng.fork('activations') }));
    }
    releaseFpWeights(q);
    setQuantState(q, { weights: true, activations: true });
    const out = result(ctx.model, q, steps);
    const diagnostics = standardDiagnostics('tfmq', ctx, out.model as PipelineModel, {
      trajectories: config.diagnostics.trajectories, hook: out.hook, timer, extra: [reconstructionTable('tfmq', 'weights', reports, heldOut.length)],
    });
    ctx.log(`W${config.weightBits}A${config.activationBits}${config.tiar ? ' TIAR' : ''}${steps ? ` FSC(${config.fscScope}, ${steps.label})` : ''}: ${q.layers.length} layers, ${timer.summary()}`);
    return { ...out, state: steps ? ({ steps } as unknown as JsonValue) : null, diagnostics };
  });
}

/**
 * `tfmq` — TFMQ-DM (Huang et al., CVPR 2024; ptq spec §4): the temporal information block (time MLP and every
 * residual block's time projection) is reconstructed first as one unit (TIAR), the other units by BRECQ + AdaRound
 * with those projections frozen, and activation ranges are calibrated by EMA min-max, with one (Δ, z) per sampler
 * step under finite set calibration (FSC). Sampling through its hook picks each step's parameters; a sampler
 * whose steps differ from the calibrated ones is refused.
 *
 * @example
 * ```yaml
 * pipeline:
 *   - method: tfmq
 *     config: { weightBits: 4, activationBits: 8, fscScope: temporal }
 * ```
 */
export const tfmq: DiffusionMethod<TfmqConfig> = {
  id: 'tfmq',
  family: 'ptq',
  version: '0.1.0',
  description: 'TFMQ-DM: temporal-feature aware reconstruction (TIAR) and per-step activation ranges (FSC)',
  paper: { title: 'TFMQ-DM: Temporal Feature Maintenance Quantization for Diffusion Models', arxiv: '2311.16503' },
  config: tfmqConfig,
  compatibility: { conflictsWith: ['ptq-naive', 'q-diffusion'] },
  apply,
  restore: async (ctx, config, state) => {
    const saved = (state as { steps?: CalibratedSteps } | null)?.steps ?? null;
    const steps = perStep(config) ? (saved ?? stageSteps(ctx)) : null;
    return result(ctx.model, quantizeUNet(ctx.model.unet, spec(config, steps)), steps);
  },
};
