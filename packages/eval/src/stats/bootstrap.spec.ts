import { Rng } from '@diffpress/core';
import { pairedBootstrap } from './bootstrap';

/** `n` seeded standard-normal values. */
const normals = (n: number, stream: string, seed = 0): number[] => Array.from(new Rng(seed, stream).normalArray(n));

describe('pairedBootstrap', () => {
  const a = normals(50, 'a').map((v) => v + 0.3);
  const b = normals(50, 'b');
  const groups = [{ a, b }, { a: b, b: a }, { a, b: a.map((v) => v - 1) }];

  it('is deterministic under its seed and different under another seed', () => {
    const one = pairedBootstrap(groups, { resamples: 300, seed: 4 });
    expect(pairedBootstrap(groups, { resamples: 300, seed: 4 })).toEqual(one);
    const other = pairedBootstrap(groups, { resamples: 300, seed: 5 });
    expect(other.mean).toBe(one.mean);
    expect([other.lo, other.hi]).not.toEqual([one.lo, one.hi]);
  });

  it('reports the point estimate from the unresampled data, averaged over groups, and n', () => {
    const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
    const r = pairedBootstrap(groups, { resamples: 100 });
    // Group 2 has a − b = −(group 1's), so the groups average to group 3's difference / 3 = 1/3.
    expect(r.mean).toBeCloseTo((mean(a) - mean(b) + mean(b) - mean(a) + 1) / 3, 14);
    expect(r.mean).toBeCloseTo(1 / 3, 14);
    expect(r).toMatchObject({ method: 'bootstrap', seeds: 3, samples: 50, resamples: 100, level: 0.95 });
    expect(r.lo).toBeLessThan(r.mean);
    expect(r.hi).toBeGreaterThan(r.mean);
  });

  it('uses the given statistic on the resampled values (max of a constant-difference pair is exact)', () => {
    // a = b + 2 everywhere: any resample has max(a*) − max(b*) = 2, so the interval collapses on 2.
    const r = pairedBootstrap([{ a: b.map((v) => v + 2), b }], { statistic: (v) => Math.max(...Array.from(v)), resamples: 200 });
    expect([r.mean, r.lo, r.hi]).toEqual([2, 2, 2].map((x) => expect.closeTo(x, 12)));
    // A statistic that is not a mean gives a different point estimate than the mean would.
    const byMedian = pairedBootstrap([{ a: [0, 0, 9], b: [0, 0, 0] }], { statistic: (v) => Array.from(v).sort((x, y) => x - y)[1], resamples: 10 });
    expect(byMedian.mean).toBe(0);
  });

  it('covers the true mean difference at about its level on synthetic data', () => {
    // 60 data sets of 2 seeds × 40 paired samples, true difference 0.5, per-sample noise 1 plus a shared part.
    let covered = 0;
    const trials = 60;
    for (let k = 0; k < trials; k++) {
      const gs = [0, 1].map((g) => {
        const shared = normals(40, `shared-${g}`, k);
        const ea = normals(40, `ea-${g}`, k);
        const eb = normals(40, `eb-${g}`, k);
        return { a: shared.map((s, i) => 3 * s + 0.5 + ea[i]), b: shared.map((s, i) => 3 * s + eb[i]) };
      });
      const r = pairedBootstrap(gs, { resamples: 400, seed: k });
      if (r.lo <= 0.5 && 0.5 <= r.hi) covered++;
    }
    // Binomial(60, 0.95) lies in [52, 60] with probability > 0.99; a biased or mis-centred interval falls below.
    expect(covered).toBeGreaterThanOrEqual(52);
  });

  it('pairs a and b: shared per-sample noise cancels, unlike after breaking the pairing', () => {
    // Large shared noise (sd 10) and a small true difference 0.1 with sd-0.1 own noise.
    const shared = normals(100, 'shared').map((v) => 10 * v);
    const ea = normals(100, 'ea').map((v) => 0.1 * v);
    const eb = normals(100, 'eb').map((v) => 0.1 * v);
    const pa = shared.map((s, i) => s + 0.1 + ea[i]);
    const pb = shared.map((s, i) => s + eb[i]);
    const paired = pairedBootstrap([{ a: pa, b: pb }], { resamples: 500 });
    // The same samples with b's order permuted: the shared part no longer cancels (an unpaired comparison).
    const perm = new Rng(0, 'perm').permutation(100);
    const unpaired = pairedBootstrap([{ a: pa, b: perm.map((j) => pb[j]) }], { resamples: 500 });
    expect(paired.lo).toBeGreaterThan(0);
    expect(paired.hi - paired.lo).toBeLessThan((unpaired.hi - unpaired.lo) / 30);
    expect(unpaired.lo).toBeLessThan(0);
    // Paired width ≈ 2·1.96·0.1·√2/√100 = 0.055.
    expect(paired.hi - paired.lo).toBeGreaterThan(0.03);
    expect(paired.hi - paired.lo).toBeLessThan(0.08);
  });

  it('narrows with a lower level', () => {
    const wide = pairedBootstrap(groups, { resamples: 400 });
    const narrow = pairedBootstrap(groups, { resamples: 400, level: 0.5 });
    expect(narrow.hi - narrow.lo).toBeLessThan((wide.hi - wide.lo) / 2);
    expect(narrow.level).toBe(0.5);
  });

  it('refuses no groups, unpaired or unequal groups, bad options and NaN statistics', () => {
    expect(() => pairedBootstrap([], {})).toThrow(/no groups/);
    expect(() => pairedBootstrap([{ a: [1, 2], b: [1] }], {})).toThrow(/pairs 2 values of a with 1/);
    expect(() => pairedBootstrap([{ a: [1, 2], b: [1, 2] }, { a: [1], b: [1] }], {})).toThrow(/equally many/);
    expect(() => pairedBootstrap([{ a: [], b: [] }], {})).toThrow(/empty/);
    expect(() => pairedBootstrap(groups, { resamples: 0 })).toThrow(/resamples/);
    expect(() => pairedBootstrap(groups, { level: 95 })).toThrow(/level/);
    expect(() => pairedBootstrap([{ a: [Infinity], b: [Infinity] }], {})).toThrow(/NaN/);
  });
});
