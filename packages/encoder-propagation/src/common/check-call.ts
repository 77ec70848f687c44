import { ModelCall } from '@diffpress/diffusion';

/** Throws unless the call's sampler has the step count a hook's schedule was resolved for, and its rows are the cached ones. */
export function checkCall(name: string, c: ModelCall, steps: number, cachedRows: number | null): void {
  if (c.times.length !== steps) {
    throw new Error(`${name}: its schedule was resolved for a ${steps}-step sampler, but this call comes from a ${c.times.length}-step one; the step's sampler is the one it is built for (teacher-forced metrics on another sampler's trajectory do not apply)`);
  }
  if (cachedRows != null && c.z.shape[0] !== cachedRows) {
    throw new Error(`${name}: ${c.z.shape[0]} rows at step ${c.stepIndex}, but its cache holds ${cachedRows}; a batch keeps its rows from the first step to the last`);
  }
}
