import { DiffusionMethod, DiffusionStageContext, DiffusionStageResult } from '@diffpress/diffusion';
import { costTable, shallowPathMacs, totalMacs, unetMacsByPart } from '../common/cost';
import { cachingWarnings } from '../common/warnings';
import { DeepcacheConfig, deepcacheConfig } from './config';
import { deepCacheHook } from './hook';
import { nonUniformFullSteps, uniformFullSteps } from './schedule';

const ID = 'deepcache';

/** What {@link deepcacheFullSteps} resolves. */
export interface DeepcacheSchedule {
  /** Full steps, ascending, with 0. */
  fullSteps: number[];
  /** The schedule in words, for logs and the cost table. */
  label: string;
}

/** The full steps of a config at `steps` sampler steps, and a description of the schedule. */
export function deepcacheFullSteps(config: DeepcacheConfig, steps: number): DeepcacheSchedule {
  if (config.schedule === 'uniform') {
    const fullSteps = uniformFullSteps(steps, config.interval);
    return { fullSteps, label: `uniform N = ${config.interval}: full steps ${fullSteps.join(', ')} of ${steps}` };
  }
  const center = config.center ?? Math.round(0.3 * steps);
  // The reference's count: ⌈T / N⌉ (its T // N, plus one when N does not divide T).
  const r = nonUniformFullSteps(steps, Math.ceil(steps / config.interval), center, config.power);
  return { fullSteps: r.steps, label: `non-uniform N = ${config.interval}, center ${center}, power ${r.power.toFixed(2)}: full steps ${r.steps.join(', ')} of ${steps}` };
}

function build(ctx: DiffusionStageContext, config: DeepcacheConfig, withDiagnostics: boolean): DiffusionStageResult {
  const steps = ctx.sampler.steps;
  const { fullSteps, label } = deepcacheFullSteps(config, steps);
  const unet = ctx.model.unet;
  const branch = unet.skipIndex(config.branch);
  const hook = deepCacheHook({ name: ID, fullSteps, steps, branch, zeroCache: config.zeroCache });
  if (!withDiagnostics) return { hook };
  const schedule = `${label}; branch ${branch} (${unet.plan.skips[branch].name})${config.zeroCache ? '; zeroed cache' : ''}`;
  ctx.log(`${ID}: ${schedule}`);
  const full = totalMacs(unetMacsByPart(unet));
  return { hook, diagnostics: [costTable(ID, unet, { steps, full: fullSteps.length, fullMacs: full, partialMacs: shallowPathMacs(unet, branch) }, schedule)] };
}

/**
 * DeepCache (Ma et al., CVPR 2024; encoder-propagation spec §2): full UNet calls on a uniform or non-uniform schedule
 * cache the deep decoder feature at a skip branch; the other steps run only the shallow encoder and decoder around
 * it. `zeroCache` is the paper's ablation. Changes no weights: the step contributes a sampling hook.
 */
export const deepcache: DiffusionMethod<DeepcacheConfig> = {
  id: ID,
  family: 'encoder-propagation',
  version: '0.1.0',
  description: 'DeepCache: full UNet every N steps (or on a non-uniform schedule), shallow path on the cached deep feature between',
  paper: { title: 'DeepCache: Accelerating Diffusion Models for Free', arxiv: '2312.00858' },
  config: deepcacheConfig,
  // The schedule is resolved for the sampler's step count.
  reads: ['sampler'],
  warnings: (config, at) => cachingWarnings(ID, at.sampler, () => deepcacheFullSteps(config, at.sampler.steps).fullSteps, 'full step'),
  apply: async (ctx, config) => build(ctx, config, true),
  restore: async (ctx, config) => build(ctx, config, false),
};
