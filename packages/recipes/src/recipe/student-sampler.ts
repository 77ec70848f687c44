import { samplerLabel } from '@diffpress/eval';
import { RegisteredMethod } from '../registry/registry';

/**
 * Why a recipe's sampler conflicts with the student sampler a step declares (`studentSampler`), or `null`. A step
 * that returns a student (a 4-step progressive-distillation student, ADD's re-noising sampler) is evaluated with it,
 * and the recipe's sampler samples the FP baseline: for the last student of a pipeline the two must take the same
 * number of steps, so the final row is compared with the teacher at equal steps (PD-N with DDIM-N). Earlier students
 * of a chain (8 → 4 → 2) are sampled with their own samplers at their positions.
 *
 * @param rawConfig - The step's config as written (nothing is reported when it does not parse: the schema says why).
 * @param rawSample - The recipe's `sample` section as written.
 */
export function studentSamplerConflict(method: RegisteredMethod, rawConfig: unknown, rawSample: unknown): string | null {
  if (!method.studentSampler) return null;
  const parsed = method.config.safeParse(rawConfig);
  if (!parsed.success) return null;
  const student = method.studentSampler(parsed.data);
  const steps = (rawSample as { steps?: unknown } | undefined)?.steps;
  if (typeof steps !== 'number' || steps === student.steps) return null;
  return `${method.id} samples its student with its own ${student.steps}-step sampler (${samplerLabel(student)}), but sample.steps is ${steps}: set sample.steps to ${student.steps} so the positions before it are sampled at the same step count`;
}
