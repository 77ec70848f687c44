import { ResultRow } from '../evaluate';
import { metricInfo } from '../metrics/registry';
import { pairedBootstrap } from './bootstrap';
import { Interval } from './interval';
import { tInterval } from './t';
import { Verdict, verdict } from './verdict';

/** One comparison of two table rows on one metric (evaluation spec §5). */
export interface Comparison {
  /** Metric name as reported (e.g. `sample-mse`, `fd-mnist-classifier-v1`). */
  metric: string;
  /** Row a's value, averaged over the paired seeds. */
  a: number;
  /** Row b's value, averaged over the paired seeds. */
  b: number;
  /** The difference a − b with its 95 % interval. */
  diff: Interval;
  /** Equivalence margin, when one was declared. */
  margin?: number;
  /** What the interval says (see {@link verdict}). */
  verdict: Verdict;
  /** Why the verdict could not be better informed (one seed, missing per-sample values, seeds dropped). */
  note?: string;
}

/** Options of {@link compareRows}. */
export interface CompareOptions {
  /** Equivalence margin in the metric's units, declared before running (absent: `equivalent` is never given). */
  margin?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
}

function bySeed(rows: readonly ResultRow[], side: string): Map<number, ResultRow> {
  const map = new Map<number, ResultRow>();
  for (const r of rows) {
    if (map.has(r.seed)) throw new Error(`compareRows: row ${side} has two '${r.metric}' rows for seed ${r.seed}; give one row per seed`);
    map.set(r.seed, r);
  }
  return map;
}

/**
 * Compares two table rows on one metric: `a` and `b` are the result rows of ONE metric name, one per seed, of the two
 * rows. They are paired by seed (seeds present in only one are left out, and the note says so). Per-sample paired
 * metrics — rows carrying per-sample values of equal length on both sides and a registry entry with an `aggregate` —
 * get a paired bootstrap over samples within seeds, pooled over seeds, with the metric's own aggregate as the
 * statistic (PSNR is not a mean of per-sample PSNRs). Other metrics get a t-interval over the per-seed differences;
 * with one paired seed it is (−∞, ∞) and the verdict `inconclusive`, with a note saying why.
 *
 * @example
 * ```ts
 * const c = compareRows(rows.filter((r) => r.subject === 'w8a8' && r.metric === 'sample-mse'),
 *   rows.filter((r) => r.subject === 'w4a8' && r.metric === 'sample-mse'), { margin: 1e-4 });
 * c.verdict; // 'better' when w8a8's MSE is significantly lower
 * ```
 * @throws Error when there are no rows, the rows are of different metrics or metric versions, a side has two rows
 *   for one seed, no seed is in both, or the sample counts n differ at a seed (FD depends on n: it is compared only
 *   at equal n).
 */
export function compareRows(a: readonly ResultRow[], b: readonly ResultRow[], options: CompareOptions = {}): Comparison {
  if (a.length === 0 || b.length === 0) throw new Error(`compareRows: no rows to compare (${a.length} vs ${b.length})`);
  const first = a[0];
  for (const r of [...a, ...b]) {
    if (r.metric !== first.metric) throw new Error(`compareRows: rows of different metrics ('${first.metric}' vs '${r.metric}')`);
    if (r.metricVersion !== first.metricVersion) throw new Error(`compareRows: '${r.metric}' rows of different metric versions (${first.metricVersion} vs ${r.metricVersion})`);
  }
  const info = metricInfo(first.metricId);
  const sa = bySeed(a, 'a');
  const sb = bySeed(b, 'b');
  const seeds = [...sa.keys()].filter((s) => sb.has(s)).sort((x, y) => x - y);
  if (seeds.length === 0) throw new Error(`compareRows: '${first.metric}': no seed in both rows (a: ${[...sa.keys()].join(', ')}; b: ${[...sb.keys()].join(', ')})`);
  const pairs = seeds.map((s) => [sa.get(s) as ResultRow, sb.get(s) as ResultRow] as const);
  for (const [ra, rb] of pairs) {
    if (ra.samples !== rb.samples) {
      throw new Error(`compareRows: '${first.metric}' at seed ${ra.seed} is from ${ra.samples} samples in a and ${rb.samples} in b; values that depend on n (FD) are compared only at equal n`);
    }
  }
  const notes: string[] = [];
  const dropped = [...sa.keys(), ...sb.keys()].filter((s) => !seeds.includes(s));
  if (dropped.length > 0) notes.push(`seeds ${[...new Set(dropped)].sort((x, y) => x - y).join(', ')} in one row only, left out`);

  const meanOf = (vs: number[]): number => vs.reduce((s, v) => s + v, 0) / vs.length;
  const valueA = meanOf(pairs.map(([ra]) => ra.value));
  const valueB = meanOf(pairs.map(([, rb]) => rb.value));
  let diff: Interval;
  const lengths = pairs.flatMap(([ra, rb]) => [ra.perSample?.length ?? -1, rb.perSample?.length ?? -1]);
  const aggregate = info.aggregate;
  const perSample = aggregate !== undefined && lengths.every((l) => l > 0 && l === lengths[0]);
  const groups = pairs.map(([ra, rb]) => ({ a: ra.perSample ?? [], b: rb.perSample ?? [] }));
  if (perSample && groups.some((g) => Number.isNaN(aggregate(g.a) - aggregate(g.b)))) {
    // Both sides infinite (the PSNR of two sets identical to the reference): ∞ − ∞ has no interval.
    diff = { mean: NaN, lo: -Infinity, hi: Infinity, level: 0.95, method: 'bootstrap', seeds: groups.length, samples: lengths[0], resamples: 0 };
    notes.push('the aggregate is infinite on both sides at a seed: no interval');
  } else if (perSample) {
    diff = pairedBootstrap(groups, { statistic: aggregate, resamples: options.resamples, seed: options.seed });
  } else {
    if (aggregate !== undefined && lengths.some((l) => l > 0)) notes.push('per-sample values missing or of unequal length: t-interval over seeds instead of the paired bootstrap');
    const diffs = pairs.map(([ra, rb]) => ra.value - rb.value);
    if (diffs.every(Number.isFinite)) {
      diff = tInterval(diffs);
    } else {
      // E.g. the PSNR of a model against itself is ∞; a difference with it has no interval.
      diff = { mean: meanOf(diffs), lo: -Infinity, hi: Infinity, level: 0.95, method: 't', seeds: diffs.length, df: diffs.length - 1 };
      notes.push('a per-seed difference is not finite: no interval');
    }
    if (seeds.length === 1) notes.push('one paired seed: no t-interval (a seed-level metric needs ≥ 2 seeds)');
  }
  return {
    metric: first.metric, a: valueA, b: valueB, diff, ...(options.margin !== undefined ? { margin: options.margin } : {}),
    verdict: verdict(diff, info.better, options.margin), ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}
