import { Rng } from '@diffpress/core';
import { FeatureMatrix, checkSameSpace } from './features';

function sqDist(a: Float32Array, i: number, b: Float32Array, j: number, dim: number): number {
  let s = 0;
  for (let c = 0; c < dim; c++) s += (a[i * dim + c] - b[j * dim + c]) ** 2;
  return s;
}

/** Median of the pairwise distances between two sets (the usual RBF bandwidth heuristic), from up to 500 × 500 pairs. */
export function medianDistance(x: FeatureMatrix, y: FeatureMatrix): number {
  const d: number[] = [];
  const nx = Math.min(x.n, 500);
  const ny = Math.min(y.n, 500);
  for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) d.push(Math.sqrt(sqDist(x.data, i, y.data, j, x.dim)));
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)];
}

/**
 * Unbiased squared MMD with the Gaussian kernel k(x, y) = exp(−‖x − y‖² / (2·bandwidth²)) (Gretton et al. 2012):
 * 0 in expectation for two samples of one distribution.
 *
 * @param bandwidth - Kernel width; default the median pairwise distance between the sets.
 */
export function mmdRbf(x: FeatureMatrix, y: FeatureMatrix, bandwidth?: number): number {
  checkSameSpace(x, y, 'mmdRbf');
  if (x.n < 2 || y.n < 2) throw new Error('mmdRbf: need at least 2 points per set');
  const h = bandwidth ?? medianDistance(x, y);
  if (!(h > 0)) throw new RangeError(`mmdRbf: the bandwidth must be positive, got ${h}${bandwidth === undefined ? ' (the median distance: the points coincide; pass a bandwidth)' : ''}`);
  const g = 1 / (2 * h * h);
  const k = (a: FeatureMatrix, i: number, b: FeatureMatrix, j: number): number => Math.exp(-g * sqDist(a.data, i, b.data, j, a.dim));
  let sxx = 0;
  for (let i = 0; i < x.n; i++) for (let j = i + 1; j < x.n; j++) sxx += 2 * k(x, i, x, j);
  let syy = 0;
  for (let i = 0; i < y.n; i++) for (let j = i + 1; j < y.n; j++) syy += 2 * k(y, i, y, j);
  let sxy = 0;
  for (let i = 0; i < x.n; i++) for (let j = 0; j < y.n; j++) sxy += k(x, i, y, j);
  return sxx / (x.n * (x.n - 1)) + syy / (y.n * (y.n - 1)) - (2 * sxy) / (x.n * y.n);
}

/** The q-quantile (linear interpolation) of sorted values. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Sliced Wasserstein-2 distance: the root mean over `projections` random unit directions (seeded) of the squared
 * 1-D Wasserstein-2 distance between the projected sets, computed from their quantile functions at
 * max(n, m) evenly spaced levels (exact for equal sizes).
 */
export function slicedWasserstein(x: FeatureMatrix, y: FeatureMatrix, projections = 128, seed = 0): number {
  checkSameSpace(x, y, 'slicedWasserstein');
  const rng = new Rng(seed, 'sliced-wasserstein');
  const levels = Math.max(x.n, y.n);
  let total = 0;
  for (let p = 0; p < projections; p++) {
    const dir = Float64Array.from(rng.normalArray(x.dim));
    const norm = Math.hypot(...dir);
    for (let c = 0; c < x.dim; c++) dir[c] /= norm;
    const project = (m: FeatureMatrix): Float64Array => {
      const out = new Float64Array(m.n);
      for (let i = 0; i < m.n; i++) for (let c = 0; c < m.dim; c++) out[i] += m.data[i * m.dim + c] * dir[c];
      return out.sort();
    };
    const px = project(x);
    const py = project(y);
    let w = 0;
    for (let l = 0; l < levels; l++) {
      const q = levels === 1 ? 0.5 : l / (levels - 1);
      w += (quantile(px, q) - quantile(py, q)) ** 2;
    }
    total += w / levels;
  }
  return Math.sqrt(total / projections);
}

/** Result of {@link modeCoverage}. */
export interface ModeCoverage {
  /** Fraction of modes that are covered. */
  coverage: number;
  /** Share of generated points assigned to each mode. */
  shares: number[];
  /** Share of reference points in each mode. */
  referenceShares: number[];
}

/**
 * Per-mode coverage against labelled reference data (e.g. the eight Gaussians' centres, the swiss roll's arc
 * buckets): each generated point takes the mode label of its nearest reference point, and a mode counts as covered
 * when it receives at least `minRatio` (default 0.5) of its reference share.
 *
 * @param labels - Mode label (0 … modes − 1) of each reference point.
 */
export function modeCoverage(reference: FeatureMatrix, labels: Int32Array, generated: FeatureMatrix, modes: number, minRatio = 0.5): ModeCoverage {
  checkSameSpace(reference, generated, 'modeCoverage');
  if (labels.length !== reference.n) throw new Error(`modeCoverage: ${labels.length} labels for ${reference.n} reference points`);
  const refCounts = new Array<number>(modes).fill(0);
  for (const l of labels) refCounts[l]++;
  const counts = new Array<number>(modes).fill(0);
  for (let i = 0; i < generated.n; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < reference.n; j++) {
      const d = sqDist(generated.data, i, reference.data, j, generated.dim);
      if (d < bestD) {
        bestD = d;
        best = j;
      }
    }
    counts[labels[best]]++;
  }
  const shares = counts.map((c) => c / generated.n);
  const referenceShares = refCounts.map((c) => c / reference.n);
  const covered = shares.filter((s, k) => referenceShares[k] > 0 && s >= minRatio * referenceShares[k]).length;
  const present = referenceShares.filter((s) => s > 0).length;
  return { coverage: covered / present, shares, referenceShares };
}
