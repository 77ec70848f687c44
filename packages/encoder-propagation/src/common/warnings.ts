import { SamplerConfig } from '@diffpress/diffusion';

/**
 * The validation warning of caching over very few steps (encoder-propagation spec §3): a 1–4-step sampler (a
 * distilled student's) leaves almost nothing to reuse, and DeepCache's users report it is pointless there.
 */
export function fewStepsWarnings(id: string, sampler: SamplerConfig): string[] {
  if (sampler.steps > 4) return [];
  return [`${id} over a ${sampler.steps}-step sampler (${sampler.kind}) has at most ${sampler.steps - 1} step(s) to reuse features at; caching after a few-step student is pointless, use it with the full sampler`];
}
