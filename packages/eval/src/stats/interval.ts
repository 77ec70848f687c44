/**
 * A difference a − b between two rows on one metric, with its confidence interval: what every comparison of the
 * evaluation spec (§5) reports. Built by {@link tInterval} (per-seed differences) or {@link pairedBootstrap}
 * (per-sample paired metrics), read by {@link verdict}.
 */
export interface Interval {
  /** Point estimate of the difference a − b. */
  mean: number;
  /** Lower end of the interval; −Infinity when it cannot be computed (a t-interval from one seed). */
  lo: number;
  /** Upper end of the interval; +Infinity when it cannot be computed. */
  hi: number;
  /** Confidence level, e.g. 0.95. */
  level: number;
  /** `t`: Student-t interval over per-seed differences; `bootstrap`: paired percentile bootstrap over samples. */
  method: 't' | 'bootstrap';
  /** Number of paired seeds used. */
  seeds: number;
  /** Bootstrap: paired samples per seed (equal across seeds). */
  samples?: number;
  /** t: degrees of freedom, seeds − 1. */
  df?: number;
  /** Bootstrap: number of resamples. */
  resamples?: number;
}
