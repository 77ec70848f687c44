/**
 * Faster Diffusion's key-step sets: the steps that run the whole UNet. Step indices count from the noisy end,
 * 0 = the first (noisiest) step, as the sampler numbers them.
 */

/** A named key-step set of the paper (encoder-propagation spec §1.2). */
export type KeyStepPreset = 'ddim-50' | 'dpm-solver-20';

/** One preset: the step count it was made for and its key steps there. */
export interface KeyStepSet {
  /** Sampler steps of the preset. */
  steps: number;
  /** Key steps (0-based, 0 = noisiest). */
  keys: readonly number[];
}

/**
 * The paper's sets as the reference code lists them (0-based step indices). The paper writes them counted down from
 * the step count — DDIM-50 `{50, 49, 48, 47, 45, 40, 35, 25, 15}`, DPM-Solver-20 `{20, 19, 18, 17, 15, 10, 5}` —
 * which is `steps − index`.
 */
export const KEY_STEP_PRESETS: Readonly<Record<KeyStepPreset, KeyStepSet>> = {
  'ddim-50': { steps: 50, keys: [0, 1, 2, 3, 5, 10, 15, 25, 35] },
  'dpm-solver-20': { steps: 20, keys: [0, 1, 2, 3, 5, 10, 15] },
};

/**
 * How a recipe gives the key steps: a preset name (`ddim-50`, `dpm-solver-20`; scaled to the sampler), `uniform-<k>`
 * (every k-th step from 0), or an explicit list of step indices (0 = noisiest; must contain 0).
 */
export type KeyStepSpec = string | readonly number[];

/** The preset names and the `uniform-<k>` form {@link resolveKeySteps} accepts. */
export const KEY_STEP_NAME = /^(ddim-50|dpm-solver-20|uniform-[1-9][0-9]*)$/;

/**
 * Scales a key set of `from` steps to `to` steps: index i becomes `round(i · to / from)`, duplicates are dropped
 * and step 0 is always kept. Proportional scaling keeps the set's shape (dense at the noisy end, sparse later);
 * for `to < from` neighbouring early keys can merge (the DDIM-50 preset at 20 steps has 7 keys, not 9).
 *
 * @example
 * ```ts
 * scaleKeySteps([0, 1, 2, 3, 5, 10, 15, 25, 35], 50, 20); // [0, 1, 2, 4, 6, 10, 14]
 * ```
 */
export function scaleKeySteps(keys: readonly number[], from: number, to: number): number[] {
  if (to === from) return [...keys];
  const scaled = keys.map((i) => Math.min(to - 1, Math.round((i * to) / from)));
  return [...new Set([0, ...scaled])].sort((a, b) => a - b);
}

/**
 * The key steps of an `n`-step sampler, sorted. A preset is scaled to `n` by {@link scaleKeySteps}; `uniform-<k>`
 * is every k-th step from 0; a list is checked and sorted.
 *
 * @throws RangeError for an unknown name, or a list that misses step 0 (nothing would be cached for the first
 *   non-key step) or names a step outside `0 … n−1`.
 */
export function resolveKeySteps(spec: KeyStepSpec, n: number): number[] {
  if (typeof spec === 'string') {
    if (!KEY_STEP_NAME.test(spec)) throw new RangeError(`keySteps: unknown set '${spec}' (ddim-50, dpm-solver-20, uniform-<k>, or a list of step indices)`);
    if (spec.startsWith('uniform-')) {
      const k = Number(spec.slice('uniform-'.length));
      return Array.from({ length: Math.ceil(n / k) }, (_, i) => i * k);
    }
    const p = KEY_STEP_PRESETS[spec as KeyStepPreset];
    return scaleKeySteps(p.keys, p.steps, n);
  }
  const keys = [...new Set(spec)].sort((a, b) => a - b);
  const outside = keys.filter((i) => !Number.isInteger(i) || i < 0 || i >= n);
  if (outside.length) throw new RangeError(`keySteps: ${outside.join(', ')} not a step of the ${n}-step sampler (0 … ${n - 1}, 0 = noisiest)`);
  if (keys[0] !== 0) throw new RangeError('keySteps must contain step 0: the first step has no cached encoder features to propagate');
  return keys;
}

/**
 * The groups parallel decoding batches: each key step with the non-key steps after it, up to the next key step.
 *
 * @example
 * ```ts
 * keyStepGroups([0, 1, 4], 6); // [[0], [1, 2, 3], [4, 5]]
 * ```
 */
export function keyStepGroups(keys: readonly number[], n: number): number[][] {
  return keys.map((k, j) => Array.from({ length: (j + 1 < keys.length ? keys[j + 1] : n) - k }, (_, i) => k + i));
}
