import { Matrix64, PsdOptions, traceSqrtProduct } from '@diffpress/core';
import { FeatureMatrix, seededSubset, selectRows } from './features';

/** Gaussian fit of a feature set, in float64. */
export interface GaussianStats {
  /** Number of vectors the fit is from. */
  n: number;
  /** Mean vector. */
  mean: Float64Array;
  /** Unbiased covariance (divisor n − 1), `dim × dim`. */
  cov: Matrix64;
}

/**
 * Mean and unbiased covariance of a feature set, accumulated in float64 from the centred features (so large means
 * do not cancel the covariance's digits, as the one-pass E[xxᵀ] − μμᵀ would in float32).
 *
 * @throws RangeError for fewer than two vectors.
 */
export function gaussianStats(f: FeatureMatrix): GaussianStats {
  const { n, dim, data } = f;
  if (n < 2) throw new RangeError(`gaussianStats: need at least 2 feature vectors, got ${n}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += data[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) row[j] = data[i * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      const base = a * dim;
      for (let b = a; b < dim; b++) cov[base + b] += ra * row[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b] / (n - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  return { n, mean, cov: { rows: dim, cols: dim, data: cov } };
}

/**
 * Fréchet distance between two Gaussians, ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2·tr sqrtm(√Σ1·Σ2·√Σ1) — FID when the
 * features are InceptionV3's pool features (Heusel et al. 2017). The cross term uses the symmetric form via
 * float64 eigen-decompositions (`traceSqrtProduct` of core), so it is real and stable for singular covariances.
 * Clamped at 0 (round-off can push identical inputs a hair below).
 *
 * @example
 * ```ts
 * frechetDistance(gaussianStats(generated), gaussianStats(reference));
 * ```
 */
export function frechetDistance(a: GaussianStats, b: GaussianStats, opts: PsdOptions = {}): number {
  const dim = a.mean.length;
  if (b.mean.length !== dim) throw new Error(`frechetDistance: dimensions differ (${dim} vs ${b.mean.length})`);
  let meanTerm = 0;
  for (let j = 0; j < dim; j++) meanTerm += (a.mean[j] - b.mean[j]) ** 2;
  let tr = 0;
  for (let j = 0; j < dim; j++) tr += a.cov.data[j * dim + j] + b.cov.data[j * dim + j];
  const cross = traceSqrtProduct(a.cov, b.cov, opts);
  return Math.max(0, meanTerm + tr - 2 * cross);
}

/** FD measured at one sample count: a point of the fit of {@link fdInfinityFit}. */
export interface FdPoint {
  /** Number of samples the FD is from. */
  n: number;
  /** The FD at that count (mean over draws, where several were drawn). */
  fd: number;
}

/** The least-squares line FD(n) = intercept + slope / n of {@link fdInfinityFit}. */
export interface FdLine {
  /** FD extrapolated to infinitely many samples (FD∞). */
  intercept: number;
  /** The 1/n coefficient: how much of the FD at n is sample-size bias (slope / n). */
  slope: number;
}

/**
 * Ordinary least-squares fit of FD against 1/n (Chong & Forsyth 2020): FD's bias is linear in 1/n to first order, so
 * the intercept estimates the FD of infinitely many samples. Every point weighs the same.
 *
 * @throws RangeError for fewer than two distinct sample counts, or counts that are not positive.
 */
export function fdInfinityFit(points: readonly FdPoint[]): FdLine {
  for (const p of points) if (!(p.n > 0)) throw new RangeError(`fdInfinityFit: sample counts must be positive, got ${p.n}`);
  if (new Set(points.map((p) => p.n)).size < 2) throw new RangeError(`fdInfinityFit: need at least two distinct sample counts, got ${points.map((p) => p.n).join(', ') || 'none'}`);
  const k = points.length;
  const xs = points.map((p) => 1 / p.n);
  const mx = xs.reduce((a, x) => a + x, 0) / k;
  const my = points.reduce((a, p) => a + p.fd, 0) / k;
  let sxy = 0;
  let sxx = 0;
  points.forEach((p, i) => {
    sxy += (xs[i] - mx) * (p.fd - my);
    sxx += (xs[i] - mx) ** 2;
  });
  const slope = sxy / sxx;
  return { intercept: my - slope * mx, slope };
}

/**
 * The sample counts FD∞ measures at: `count` counts evenly spaced in 1/n from n (1/n) to n/4 (4/n), rounded, largest
 * first — even spacing in the fit's own variable gives every point the same leverage, and n/4 keeps the smallest
 * subsets large enough that the first-order 1/n bias model holds roughly (Chong & Forsyth fit from 5k to 50k images).
 *
 * @throws RangeError when n is too small for `count` distinct counts of at least 2.
 */
export function fdSubsetSizes(n: number, count = 5): number[] {
  if (!Number.isInteger(count) || count < 2) throw new RangeError(`fdSubsetSizes: count must be an integer ≥ 2, got ${count}`);
  const sizes = Array.from({ length: count }, (_, k) => Math.round(n / (1 + (3 * k) / (count - 1))));
  if (new Set(sizes).size !== count || sizes[count - 1] < 2) {
    throw new RangeError(`fdSubsetSizes: ${n} samples do not give ${count} distinct subset sizes of at least 2 (got ${sizes.join(', ')})`);
  }
  return sizes;
}

/** Options of {@link fdInfinity}. */
export interface FdInfinityOptions {
  /** Number of sample counts (default 5, evenly spaced in 1/n between n/4 and n: see {@link fdSubsetSizes}). */
  sizes?: number;
  /** Random subsets drawn per count below n, their FDs averaged (default 3; the full set is one draw). */
  draws?: number;
  /** Experiment seed: the subsets are drawn from (seed, `eval/fd-inf/<size>/<draw>`). */
  seed?: number;
}

/** Result of {@link fdInfinity}. */
export interface FdInfinityResult extends FdLine {
  /** The sample counts measured, largest (all samples) first. */
  sizes: number[];
  /** FD at each count, averaged over the draws. */
  fds: number[];
  /** Subsets drawn per count below n. */
  draws: number;
}

/**
 * FD∞ (Chong & Forsyth 2020, "Effectively unbiased FID and Inception Score and where to find them"): FD of seeded
 * random subsets of the samples (without replacement) against the fixed reference statistics at several counts,
 * then {@link fdInfinityFit} of FD against 1/n; the intercept is an FD estimate free of the first-order sample-size
 * bias, so it can be read across sample counts (FD itself only at equal n). It is an extrapolation: it can come out
 * slightly below 0 when the true distance is ~0, and it is not clamped. The reference statistics' own finite-size
 * bias is not removed (their n is usually much larger).
 *
 * @example
 * ```ts
 * const { intercept, sizes, fds } = fdInfinity(sampleFeatures, referenceStats, { seed: 0 });
 * ```
 * @throws RangeError when there are too few samples for the counts (see {@link fdSubsetSizes}).
 */
export function fdInfinity(samples: FeatureMatrix, reference: GaussianStats, options: FdInfinityOptions = {}): FdInfinityResult {
  const draws = options.draws ?? 3;
  if (!Number.isInteger(draws) || draws < 1) throw new RangeError(`fdInfinity: draws must be a positive integer, got ${draws}`);
  const seed = options.seed ?? 0;
  const sizes = fdSubsetSizes(samples.n, options.sizes ?? 5);
  const fds = sizes.map((size) => {
    // All n samples form one subset only: more draws would repeat it.
    if (size === samples.n) return frechetDistance(gaussianStats(samples), reference);
    let sum = 0;
    for (let d = 0; d < draws; d++) sum += frechetDistance(gaussianStats(selectRows(samples, seededSubset(samples.n, size, seed, `eval/fd-inf/${size}/${d}`))), reference);
    return sum / draws;
  });
  return { ...fdInfinityFit(sizes.map((n, i) => ({ n, fd: fds[i] }))), sizes, fds, draws };
}
