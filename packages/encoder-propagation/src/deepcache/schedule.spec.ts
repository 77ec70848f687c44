import { nonUniformFullSteps, uniformFullSteps } from './schedule';

describe('DeepCache schedules', () => {
  it('uniform: every N-th step from 0', () => {
    expect(uniformFullSteps(10, 3)).toEqual([0, 3, 6, 9]);
    expect(uniformFullSteps(20, 5)).toEqual([0, 5, 10, 15]);
    expect(uniformFullSteps(4, 1)).toEqual([0, 1, 2, 3]);
    expect(() => uniformFullSteps(10, 0)).toThrow(/positive integer/);
  });

  it('non-uniform: reproduces the reference\'s tables exactly, complex-power quirk included (spec §2.2)', () => {
    expect(nonUniformFullSteps(50, 10, 15, 1.4)).toEqual({ steps: [0, 5, 9, 13, 17, 21, 26, 31, 37, 43], power: 1.4 });
    expect(nonUniformFullSteps(50, 5, 15, 1.4)).toEqual({ steps: [0, 9, 17, 26, 37], power: 1.4 });
  });

  it('non-uniform: the points left of the center are real parts of complex powers, not a mirrored power law', () => {
    // The sign-preserving reading, −|x|^p left of the center, gives [0, 6, 11, 14, 15, 19, 24, 29, 35, 42] for the
    // same settings (computed by hand from the formula); the reference's complex arithmetic gives the table below.
    const { steps } = nonUniformFullSteps(50, 10, 15, 1.4);
    expect(steps).not.toEqual([0, 6, 11, 14, 15, 19, 24, 29, 35, 42]);
    expect(steps.filter((s) => s > 0 && s < 15)).toEqual([5, 9, 13]);
  });

  it('lowers the power until the count fits, and says when none does', () => {
    const r = nonUniformFullSteps(20, 10, 6, 1.4);
    expect(r.steps).toHaveLength(10);
    expect(r.power).toBeLessThanOrEqual(1.4);
    expect(() => nonUniformFullSteps(10, 10, 9, 1.4)).toThrow(/no power/);
  });
});
