import { Rng } from '@diffpress/core';
import { arrayMean, checkLevel } from './internal';
import { Interval } from './interval';

/** One seed's paired per-sample values: entry i of `a` and of `b` come from the same sample (same x_T). */
export interface PairedGroup {
  /** Per-sample values of row a. */
  a: ArrayLike<number>;
  /** Per-sample values of row b, in the same sample order. */
  b: ArrayLike<number>;
}

/** Options of {@link pairedBootstrap}. */
export interface BootstrapOptions {
  /** Statistic of a group's per-sample values (default the mean); e.g. a metric's own aggregate (PSNR is not a mean). */
  statistic?: (values: ArrayLike<number>) => number;
  /** Number of resamples (default 2000, the evaluation spec's minimum). */
  resamples?: number;
  /** Seed of the resampling (default 0): the same seed gives the same interval. */
  seed?: number;
  /** Confidence level (default 0.95). */
  level?: number;
}


/** Quantile of sorted values with linear interpolation between order statistics (Hyndman & Fan type 7, R's default). */
function sortedQuantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  // Equal neighbours (±Infinity included) need no interpolation, which would give ∞ − ∞ = NaN.
  return sorted[lo] === sorted[hi] ? sorted[lo] : sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Paired percentile bootstrap of a difference a − b from per-sample values within seeds (evaluation spec §5). Each
 * resample draws, per group (seed), sample indices with replacement and uses the SAME indices for a and b, so noise
 * the two rows share (the same x_T) cancels; it computes statistic(a*) − statistic(b*) per group and averages over
 * groups. The interval is the (1 ± level)/2 percentiles of the resampled differences; the point estimate is the same
 * average on the unresampled data. Groups must hold equally many samples (reported as `samples`). Deterministic
 * under `seed`: resample r of every call with one seed draws the same indices.
 *
 * @example
 * ```ts
 * // Per-sample MSEs of two compressed models against FP, two seeds:
 * pairedBootstrap([{ a: mseA0, b: mseB0 }, { a: mseA1, b: mseB1 }], { resamples: 2000, seed: 0 });
 * ```
 * @throws RangeError for no groups, empty or unequal groups, bad options, or a statistic that gives NaN.
 */
export function pairedBootstrap(groups: ReadonlyArray<PairedGroup>, options: BootstrapOptions = {}): Interval {
  const statistic = options.statistic ?? arrayMean;
  const resamples = options.resamples ?? 2000;
  const seed = options.seed ?? 0;
  const level = options.level ?? 0.95;
  checkLevel(level, 'pairedBootstrap');
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`pairedBootstrap: resamples must be a positive integer, got ${resamples}`);
  if (groups.length === 0) throw new RangeError('pairedBootstrap: no groups');
  const m = groups[0].a.length;
  groups.forEach((g, i) => {
    if (g.a.length !== g.b.length) throw new RangeError(`pairedBootstrap: group ${i} pairs ${g.a.length} values of a with ${g.b.length} of b`);
    if (g.a.length !== m) throw new RangeError(`pairedBootstrap: groups must hold equally many samples (group 0: ${m}, group ${i}: ${g.a.length})`);
  });
  if (m === 0) throw new RangeError('pairedBootstrap: groups are empty');
  const checked = (v: number): number => {
    if (Number.isNaN(v)) throw new RangeError('pairedBootstrap: the statistic gave NaN (e.g. ∞ − ∞ for two infinite PSNRs)');
    return v;
  };
  const point = groups.reduce((s, g) => s + checked(statistic(g.a) - statistic(g.b)), 0) / groups.length;
  const rng = new Rng(seed, 'eval/paired-bootstrap');
  const ra = new Float64Array(m);
  const rb = new Float64Array(m);
  const diffs = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (const g of groups) {
      for (let i = 0; i < m; i++) {
        const j = rng.int(m);
        ra[i] = g.a[j];
        rb[i] = g.b[j];
      }
      s += checked(statistic(ra) - statistic(rb));
    }
    diffs[r] = s / groups.length;
  }
  diffs.sort();
  return {
    mean: point, lo: sortedQuantile(diffs, (1 - level) / 2), hi: sortedQuantile(diffs, (1 + level) / 2), level, method: 'bootstrap',
    seeds: groups.length, samples: m, resamples,
  };
}
