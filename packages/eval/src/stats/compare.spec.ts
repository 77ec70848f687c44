import { ResultRow } from '../evaluate';
import { METRICS } from '../metrics/registry';
import { compareRows } from './compare';
import { tInterval } from './t';

/** A result row of `metric` for one seed, with what the comparison reads; the rest is filler. */
function row(metricId: string, seed: number, value: number, extra: Partial<ResultRow> = {}): ResultRow {
  return {
    recipeHash: null, cell: {}, subject: 'm', modelDigest: null, seed, samples: 256, sampler: 'ddim-20', metric: metricId, metricId,
    metricVersion: METRICS[metricId].version, value, reference: null, featureNet: null, backend: 'cpu', sampleBackends: [], samplingSeconds: 0,
    metricSeconds: 0, libraryVersion: '0', date: '', ...extra,
  };
}

const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;

/** Rows of a per-sample MSE metric whose value is the mean of its per-sample values. */
function mseRows(metricId: string, perSeed: number[][], value = (v: number[]) => mean(v)): ResultRow[] {
  return perSeed.map((v, seed) => row(metricId, seed, value(v), { perSample: v }));
}

describe('compareRows', () => {
  it('compares a seed-level metric by a t-interval over the per-seed differences', () => {
    const a = [row('fd', 0, 11), row('fd', 1, 12), row('fd', 2, 13)];
    const b = [row('fd', 2, 10), row('fd', 0, 10), row('fd', 1, 10)];
    const c = compareRows(a, b);
    // Paired by seed, whatever the order: differences [1, 2, 3] → 2, [−0.484, 4.484].
    expect(c.diff).toEqual(tInterval([1, 2, 3]));
    expect(c).toMatchObject({ metric: 'fd', a: 12, b: 10, verdict: 'inconclusive' });
    expect(c.note).toBeUndefined();
    expect(compareRows(a, b, { margin: 5 })).toMatchObject({ margin: 5, verdict: 'equivalent' });
    // FD: lower is better, so a consistently higher a is worse.
    expect(compareRows([row('fd', 0, 12), row('fd', 1, 12.5), row('fd', 2, 13)], b).verdict).toBe('worse');
  });

  it('compares per-sample paired metrics by the paired bootstrap with the metric’s aggregate', () => {
    const per = (shift: number, seed: number): number[] => Array.from({ length: 40 }, (_, i) => 0.01 * (1 + ((i * 7 + seed * 3) % 11)) + shift);
    const a = mseRows('sample-psnr', [0, 1, 2].map((s) => per(0.002, s)), (v) => 10 * Math.log10(4 / mean(v)));
    const b = mseRows('sample-psnr', [0, 1, 2].map((s) => per(0, s)), (v) => 10 * Math.log10(4 / mean(v)));
    const c = compareRows(a, b, { resamples: 500 });
    expect(c.diff).toMatchObject({ method: 'bootstrap', seeds: 3, samples: 40, resamples: 500 });
    // Point estimate: the mean over seeds of PSNR(a) − PSNR(b) from the per-sample MSEs, i.e. of the rows' values.
    expect(c.diff.mean).toBeCloseTo(mean([0, 1, 2].map((s) => a[s].value - b[s].value)), 12);
    // a's MSEs are higher everywhere: lower PSNR, worse; and the interval is that of PSNRs, not of MSE means.
    expect(c.verdict).toBe('worse');
    expect(c.diff.hi).toBeLessThan(0);
    expect(c.diff.mean).toBeLessThan(-0.1);
    // Deterministic under the seed option.
    expect(compareRows(a, b, { resamples: 500 })).toEqual(c);
    expect(compareRows(a, b, { resamples: 500, seed: 1 }).diff.lo).not.toBe(c.diff.lo);
  });

  it('falls back to the t-interval, with a note, when per-sample values are missing on one side', () => {
    const a = mseRows('sample-mse', [[1, 2], [2, 3], [3, 4]]);
    const b = [row('sample-mse', 0, 0), row('sample-mse', 1, 0), row('sample-mse', 2, 0)];
    const c = compareRows(a, b);
    expect(c.diff).toEqual(tInterval([1.5, 2.5, 3.5]));
    expect(c.note).toMatch(/per-sample values missing/);
  });

  it('gives an inconclusive verdict and says why for one paired seed of a seed-level metric', () => {
    const c = compareRows([row('fd', 0, 50)], [row('fd', 0, 10), row('fd', 1, 11)], { margin: 100 });
    expect(c.diff).toMatchObject({ mean: 40, lo: -Infinity, hi: Infinity, seeds: 1, df: 0 });
    expect(c.verdict).toBe('inconclusive');
    expect(c.note).toMatch(/one paired seed/);
    expect(c.note).toMatch(/seeds 1 in one row only/);
  });

  it('refuses rows of unequal sample counts (FD is compared only at equal n)', () => {
    const a = [row('fd', 0, 150, { samples: 1000 }), row('fd', 1, 151, { samples: 1000 })];
    const b = [row('fd', 0, 200), row('fd', 1, 201)];
    expect(() => compareRows(a, b)).toThrow(/1000 samples in a and 256 in b.*equal n/);
  });

  it('refuses rows of different metrics, versions, duplicate seeds, no common seed and no rows', () => {
    expect(() => compareRows([row('fd', 0, 1)], [row('kid', 0, 1)])).toThrow(/different metrics/);
    expect(() => compareRows([row('fd', 0, 1)], [row('fd', 0, 1, { metricVersion: 99 })])).toThrow(/metric versions/);
    expect(() => compareRows([row('fd', 0, 1), row('fd', 0, 2)], [row('fd', 0, 1)])).toThrow(/two 'fd' rows for seed 0/);
    expect(() => compareRows([row('fd', 0, 1)], [row('fd', 1, 1)])).toThrow(/no seed in both/);
    expect(() => compareRows([], [row('fd', 1, 1)])).toThrow(/no rows/);
  });

  it('gives no interval when both PSNRs are infinite at a seed, and ranks an infinite-PSNR reference', () => {
    const zeros = [[0, 0], [0, 0]];
    const psnr = (v: number[]): number => 10 * Math.log10(4 / mean(v));
    const same = compareRows(mseRows('sample-psnr', zeros, psnr), mseRows('sample-psnr', zeros, psnr));
    expect(same.verdict).toBe('inconclusive');
    expect(same.note).toMatch(/infinite on both sides/);
    // Against a row identical to the reference (PSNR ∞), any error is worse.
    const worse = compareRows(mseRows('sample-psnr', [[0.1, 0.2], [0.1, 0.3]], psnr), mseRows('sample-psnr', zeros, psnr), { resamples: 50 });
    expect(worse.verdict).toBe('worse');
  });
});
