import { DiagnosticTable } from '@diffpress/core';
import { DiffusionMethod, DiffusionStageContext, DiffusionStageResult } from '@diffpress/diffusion';
import { costTable, unetMacsByPart, totalMacs } from '../common/cost';
import { featureChange, premiseTables } from '../common/premise';
import { cachingWarnings } from '../common/warnings';
import { FasterDiffusionConfig, fasterDiffusionConfig } from './config';
import { fasterDiffusionHook } from './hook';
import { resolveKeySteps } from './key-steps';

const ID = 'faster-diffusion';

function build(ctx: DiffusionStageContext, config: FasterDiffusionConfig, withDiagnostics: boolean): DiffusionStageResult {
  const steps = ctx.sampler.steps;
  const keySteps = resolveKeySteps(config.keySteps, steps);
  const encoder = config.propagate === 'encoder';
  const hook = fasterDiffusionHook({
    name: ID,
    keySteps,
    steps,
    propagate: config.propagate,
    parallel: config.parallel && encoder,
    priorNoise: config.priorNoise === false ? null : config.priorNoise,
  });
  if (!withDiagnostics) return { hook };
  const parts = unetMacsByPart(ctx.model.unet);
  const full = totalMacs(parts);
  const schedule = `key steps ${keySteps.join(', ')} of ${steps} (${config.propagate} propagation${encoder && config.parallel ? ', parallel decoding' : ''})`;
  ctx.log(`${ID}: ${schedule}`);
  const diagnostics: DiagnosticTable[] = [
    costTable(ID, ctx.model.unet, { steps, full: keySteps.length, fullMacs: full, partialMacs: encoder ? parts.time + parts.decoder : 0 }, schedule),
  ];
  if (config.premiseSamples > 0) {
    const fc = featureChange(ctx.model, ctx.sampler, ctx.seed, config.premiseSamples, ctx.hooks);
    diagnostics.unshift(...premiseTables(ID, fc, config.premiseSamples));
  }
  return { hook, diagnostics };
}

/**
 * Faster Diffusion (Li et al., NeurIPS 2024; encoder-propagation spec §1): key steps run the whole UNet and keep the
 * encoder skips and middle output; non-key steps run only the decoder on them with their own time embedding, in
 * one batch after each key step when `parallel`; prior noise injection late in sampling. Changes no weights: the
 * step contributes a sampling hook, which composes after quantizers (per-step ones see each decoder call's step).
 * Diagnostics: the premise check (feature change per block between adjacent steps) and the analytic cost with the
 * predicted saving.
 */
export const fasterDiffusion: DiffusionMethod<FasterDiffusionConfig> = {
  id: ID,
  family: 'encoder-propagation',
  version: '0.1.0',
  description: 'Faster Diffusion encoder propagation: non-key steps decode cached encoder features (optionally in parallel)',
  paper: { title: 'Faster Diffusion: Rethinking the Role of the Encoder for Diffusion Model Inference', arxiv: '2312.09608' },
  config: fasterDiffusionConfig,
  // The key steps are resolved for the sampler's step count.
  reads: ['sampler'],
  warnings: (config, at) => cachingWarnings(ID, at.sampler, () => resolveKeySteps(config.keySteps, at.sampler.steps), 'key step'),
  apply: async (ctx, config) => build(ctx, config, true),
  restore: async (ctx, config) => build(ctx, config, false),
};
