import { Interval } from './interval';

/**
 * The words of a comparison (evaluation spec §5), and no others: `better` / `worse` — the interval of a − b excludes
 * 0; `equivalent` — it lies inside the margin declared before running; `inconclusive` — neither.
 */
export type Verdict = 'better' | 'worse' | 'equivalent' | 'inconclusive';

/**
 * The verdict on a − b from its interval, in this order of precedence:
 * 1. `equivalent` when a margin is given and [lo, hi] ⊂ (−margin, margin). With a 95 % t-interval this is exactly
 *    TOST ({@link tost}) at α = 0.025 per side: both one-sided tests reject iff the interval lies inside the margin.
 *    It takes precedence over 2: a difference that is significant but smaller than the margin is equivalent.
 * 2. `better` / `worse` when the interval excludes 0 (lo > 0 or hi < 0): `better` when a lies on the `better` side of
 *    b (below it for `lower`, above it for `higher`), else `worse`.
 * 3. `inconclusive` otherwise, also for an interval that cannot be computed (±Infinity from one seed, NaN).
 *
 * @param diff - The interval of a − b ({@link tInterval}, {@link pairedBootstrap}).
 * @param better - The metric's better direction.
 * @param margin - Equivalence margin in the metric's units (positive), declared before running.
 * @throws RangeError for a margin that is not a positive finite number.
 */
export function verdict(diff: Interval, better: 'lower' | 'higher', margin?: number): Verdict {
  if (margin !== undefined && !(margin > 0 && Number.isFinite(margin))) throw new RangeError(`verdict: margin must be a positive finite number, got ${margin}`);
  const { lo, hi } = diff;
  if (margin !== undefined && lo > -margin && hi < margin) return 'equivalent';
  if (lo > 0) return better === 'higher' ? 'better' : 'worse';
  if (hi < 0) return better === 'lower' ? 'better' : 'worse';
  return 'inconclusive';
}
