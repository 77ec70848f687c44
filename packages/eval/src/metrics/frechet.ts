import { Matrix64, PsdOptions, traceSqrtProduct } from '@diffpress/core';
import { FeatureMatrix } from './features';

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
