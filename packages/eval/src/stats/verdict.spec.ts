import { Rng } from '@diffpress/core';
import { Interval } from './interval';
import { tInterval, tost } from './t';
import { verdict } from './verdict';

const iv = (lo: number, hi: number): Interval => ({ mean: (lo + hi) / 2, lo, hi, level: 0.95, method: 't', seeds: 3, df: 2 });

describe('verdict', () => {
  it('gives better / worse by the direction when the interval excludes 0', () => {
    expect(verdict(iv(-2, -0.1), 'lower')).toBe('better');
    expect(verdict(iv(-2, -0.1), 'higher')).toBe('worse');
    expect(verdict(iv(0.1, 2), 'lower')).toBe('worse');
    expect(verdict(iv(0.1, 2), 'higher')).toBe('better');
  });

  it('gives inconclusive when the interval contains 0 and no margin holds it', () => {
    expect(verdict(iv(-1, 1), 'lower')).toBe('inconclusive');
    expect(verdict(iv(-2, 0.5), 'lower', 1)).toBe('inconclusive');
    // An interval touching 0 does not exclude it.
    expect(verdict(iv(0, 1), 'higher')).toBe('inconclusive');
  });

  it('gives equivalent when the interval lies inside the margin, before better / worse', () => {
    expect(verdict(iv(-0.5, 0.5), 'lower', 1)).toBe('equivalent');
    // Significant but smaller than the margin: equivalent takes precedence.
    expect(verdict(iv(0.1, 0.2), 'lower', 1)).toBe('equivalent');
    expect(verdict(iv(0.1, 0.2), 'lower')).toBe('worse');
    // Significant and reaching past the margin: the direction.
    expect(verdict(iv(0.1, 2), 'lower', 1)).toBe('worse');
    // The margin is open: an end on it is not inside.
    expect(verdict(iv(-1, 0.5), 'lower', 1)).toBe('inconclusive');
  });

  it('gives inconclusive for an interval that could not be computed, even with a margin', () => {
    expect(verdict(iv(-Infinity, Infinity), 'lower', 1)).toBe('inconclusive');
    expect(verdict({ ...iv(0, 0), lo: NaN, hi: NaN }, 'lower', 1)).toBe('inconclusive');
  });

  it('refuses a margin that is not a positive finite number', () => {
    expect(() => verdict(iv(0, 1), 'lower', 0)).toThrow(/margin/);
    expect(() => verdict(iv(0, 1), 'lower', -1)).toThrow(/margin/);
    expect(() => verdict(iv(0, 1), 'lower', Infinity)).toThrow(/margin/);
  });

  it('says equivalent exactly when TOST at α = 0.025 per side does (random 3- and 5-seed cases)', () => {
    const rng = new Rng(0, 'verdict-tost');
    let equivalent = 0;
    for (let trial = 0; trial < 200; trial++) {
      const n = trial % 2 === 0 ? 3 : 5;
      const shift = Array.from(rng.normalArray(1))[0];
      const diffs = Array.from(rng.normalArray(n), (v) => 0.3 * v + 0.5 * shift);
      const margin = 0.5 + rng.int(20) / 10;
      const v = verdict(tInterval(diffs), 'lower', margin);
      expect(v === 'equivalent').toBe(tost(diffs, margin).equivalent);
      if (v === 'equivalent') equivalent++;
    }
    // Both outcomes occur, so the agreement is not vacuous.
    expect(equivalent).toBeGreaterThan(20);
    expect(equivalent).toBeLessThan(180);
  });
});
