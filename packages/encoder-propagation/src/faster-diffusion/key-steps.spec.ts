import { KEY_STEP_PRESETS, keyStepGroups, resolveKeySteps, scaleKeySteps } from './key-steps';

describe('Faster Diffusion key steps', () => {
  it('keeps the paper\'s sets at their own step counts (the reference\'s 0-based indices: 50 − {50, 49, …, 15})', () => {
    expect(resolveKeySteps('ddim-50', 50)).toEqual([0, 1, 2, 3, 5, 10, 15, 25, 35]);
    expect([50, 49, 48, 47, 45, 40, 35, 25, 15].map((k) => 50 - k)).toEqual(KEY_STEP_PRESETS['ddim-50'].keys);
    expect(resolveKeySteps('dpm-solver-20', 20)).toEqual([0, 1, 2, 3, 5, 10, 15]);
    // 41 of the 50 DDIM steps are non-key (spec §1.2).
    expect(50 - resolveKeySteps('ddim-50', 50).length).toBe(41);
  });

  it('scales a preset proportionally: round(i · to / from), duplicates merged, step 0 kept', () => {
    // 0, 0.4, 0.8, 1.2, 2, 4, 6, 10, 14 → 0, 0, 1, 1, 2, 4, 6, 10, 14
    expect(scaleKeySteps([0, 1, 2, 3, 5, 10, 15, 25, 35], 50, 20)).toEqual([0, 1, 2, 4, 6, 10, 14]);
    expect(resolveKeySteps('ddim-50', 100)).toEqual([0, 2, 4, 6, 10, 20, 30, 50, 70]);
    expect(resolveKeySteps('dpm-solver-20', 10)).toEqual([0, 1, 2, 3, 5, 8]);
  });

  it('uniform-k is every k-th step; lists are checked', () => {
    expect(resolveKeySteps('uniform-3', 10)).toEqual([0, 3, 6, 9]);
    expect(resolveKeySteps([5, 0, 2, 2], 10)).toEqual([0, 2, 5]);
    expect(() => resolveKeySteps([1, 2], 10)).toThrow(/must contain step 0/);
    expect(() => resolveKeySteps([0, 10], 10)).toThrow(/10 not a step of the 10-step sampler/);
    expect(() => resolveKeySteps('ddim-25', 10)).toThrow(/unknown set 'ddim-25'/);
  });

  it('groups each key step with the non-key steps up to the next key', () => {
    expect(keyStepGroups([0, 1, 4], 6)).toEqual([[0], [1, 2, 3], [4, 5]]);
    expect(keyStepGroups([0], 3)).toEqual([[0, 1, 2]]);
  });
});
