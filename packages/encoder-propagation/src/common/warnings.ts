import { SamplerConfig } from '@diffpress/diffusion';

/**
 * The validation warnings of a caching method at its position (encoder-propagation spec §3): a 1–4-step sampler (a
 * distilled student's) leaves almost nothing to reuse — DeepCache's users report it is pointless there —, a schedule
 * whose every step is a full step reuses nothing, and a schedule that cannot be resolved for the sampler says why.
 *
 * @param fullSteps - Resolves the steps that run the whole UNet for `sampler` (may throw).
 * @param noun - What the method calls those steps (`key step`, `full step`).
 */
export function cachingWarnings(id: string, sampler: SamplerConfig, fullSteps: () => readonly number[], noun: string): string[] {
  const out: string[] = [];
  if (sampler.steps <= 4) {
    out.push(`${id} over a ${sampler.steps}-step sampler (${sampler.kind}) has at most ${sampler.steps - 1} step(s) to reuse features at; caching after a few-step student is pointless, use it with the full sampler`);
  }
  try {
    if (fullSteps().length === sampler.steps) out.push(`${id}: every one of the ${sampler.steps} steps is a ${noun}, so nothing is reused`);
  } catch (err) {
    out.push(`${id}: ${(err as Error).message}`);
  }
  return out;
}
