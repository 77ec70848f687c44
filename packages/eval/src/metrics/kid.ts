import { FeatureMatrix, checkSameSpace } from './features';

/** Result of {@link kernelInceptionDistance}. */
export interface KidResult {
  /** Unbiased estimate of MMD² with the cubic polynomial kernel (can be slightly negative). */
  value: number;
  /** Its standard error: two-sample delete-one jackknife over both sets. */
  stderr: number;
}

/** Per-set kernel sums reused across comparisons with the same reference. */
interface SelfSums {
  /** Σ_{i≠j} k(x_i, x_j). */
  total: number;
  /** Off-diagonal row sums Σ_{j≠i} k(x_i, x_j). */
  rows: Float64Array;
}

const selfCache = new WeakMap<FeatureMatrix, SelfSums>();

/**
 * k(x, y) = (xᵀy / d + 1)³, the kernel of KID (Bińkowski et al. 2018), between row `i` of `a` and row `j` of `b`
 * (row-major, `dim` wide). Exported for analyses of the estimator (e.g. its expectation under a given sampling design).
 */
export function kidKernel(a: Float32Array, i: number, b: Float32Array, j: number, dim: number): number {
  let dot = 0;
  const ia = i * dim;
  const jb = j * dim;
  for (let c = 0; c < dim; c++) dot += a[ia + c] * b[jb + c];
  const v = dot / dim + 1;
  return v * v * v;
}

function selfSums(x: FeatureMatrix): SelfSums {
  const hit = selfCache.get(x);
  if (hit) return hit;
  const rows = new Float64Array(x.n);
  let total = 0;
  for (let i = 0; i < x.n; i++) {
    for (let j = i + 1; j < x.n; j++) {
      const k = kidKernel(x.data, i, x.data, j, x.dim);
      rows[i] += k;
      rows[j] += k;
      total += 2 * k;
    }
  }
  const sums = { total, rows };
  selfCache.set(x, sums);
  return sums;
}

/**
 * Kernel Inception Distance (Bińkowski et al. 2018): the unbiased U-statistic estimate of the squared MMD between
 * two feature sets with the kernel k(x, y) = (xᵀy/d + 1)³,
 * `Σ_{i≠j} k(x_i,x_j)/(n(n−1)) + Σ_{i≠j} k(y_i,y_j)/(m(m−1)) − 2·Σ k(x_i,y_j)/(nm)`.
 * Unlike FD it has no bias at small sample counts: its expectation is 0 when both sets come from one distribution.
 * The standard error is the two-sample jackknife (delete one x, then one y; variances added), computed exactly from
 * kernel row sums in O((n + m)²·d). Sums are accumulated in float64 because KID is a small difference of large
 * kernel means. The reference set's self-sums are cached per {@link FeatureMatrix} object.
 *
 * @throws Error when a set has fewer than 3 vectors (the jackknife needs 2 after deletion) or widths differ.
 */
export function kernelInceptionDistance(x: FeatureMatrix, y: FeatureMatrix): KidResult {
  checkSameSpace(x, y, 'kernelInceptionDistance');
  const { n } = x;
  const m = y.n;
  if (n < 3 || m < 3) throw new Error(`kernelInceptionDistance: need at least 3 vectors per set, got ${n} and ${m}`);
  const sx = selfSums(x);
  const sy = selfSums(y);
  const cx = new Float64Array(n);
  const cy = new Float64Array(m);
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const k = kidKernel(x.data, i, y.data, j, x.dim);
      cx[i] += k;
      cy[j] += k;
      sxy += k;
    }
  }
  const mmd = (sxx: number, nx: number, syy: number, ny: number, cross: number): number => sxx / (nx * (nx - 1)) + syy / (ny * (ny - 1)) - (2 * cross) / (nx * ny);
  const value = mmd(sx.total, n, sy.total, m, sxy);
  const jackVar = (count: number, loo: (i: number) => number): number => {
    const vals = new Float64Array(count);
    let mean = 0;
    for (let i = 0; i < count; i++) {
      vals[i] = loo(i);
      mean += vals[i];
    }
    mean /= count;
    let ss = 0;
    for (let i = 0; i < count; i++) ss += (vals[i] - mean) ** 2;
    return ((count - 1) / count) * ss;
  };
  const varX = jackVar(n, (i) => mmd(sx.total - 2 * sx.rows[i], n - 1, sy.total, m, sxy - cx[i]));
  const varY = jackVar(m, (j) => mmd(sx.total, n, sy.total - 2 * sy.rows[j], m - 1, sxy - cy[j]));
  return { value, stderr: Math.sqrt(varX + varY) };
}
