import { FeatureMatrix, checkSameSpace } from './features';

/** Result of {@link precisionRecall}. */
export interface PrecisionRecall {
  /** Fraction of generated samples inside the real manifold (quality). */
  precision: number;
  /** Fraction of real samples inside the generated manifold (coverage). */
  recall: number;
  /** The k used. */
  k: number;
}

function squaredDistances(a: FeatureMatrix, b: FeatureMatrix): Float64Array {
  const out = new Float64Array(a.n * b.n);
  const na = new Float64Array(a.n);
  const nb = new Float64Array(b.n);
  for (let i = 0; i < a.n; i++) for (let c = 0; c < a.dim; c++) na[i] += a.data[i * a.dim + c] ** 2;
  for (let j = 0; j < b.n; j++) for (let c = 0; c < b.dim; c++) nb[j] += b.data[j * b.dim + c] ** 2;
  for (let i = 0; i < a.n; i++) {
    for (let j = 0; j < b.n; j++) {
      let dot = 0;
      for (let c = 0; c < a.dim; c++) dot += a.data[i * a.dim + c] * b.data[j * b.dim + c];
      out[i * b.n + j] = Math.max(0, na[i] + nb[j] - 2 * dot);
    }
  }
  return out;
}

/** Squared distance of every vector to its k-th nearest neighbour in the same set (itself excluded). */
export function kthNeighbourRadii(x: FeatureMatrix, k: number): Float64Array {
  if (!Number.isInteger(k) || k < 1 || k >= x.n) throw new RangeError(`kthNeighbourRadii: k must be an integer in [1, ${x.n - 1}], got ${k}`);
  const d = squaredDistances(x, x);
  const radii = new Float64Array(x.n);
  const row = new Float64Array(x.n - 1);
  for (let i = 0; i < x.n; i++) {
    let w = 0;
    for (let j = 0; j < x.n; j++) if (j !== i) row[w++] = d[i * x.n + j];
    radii[i] = row.sort()[k - 1];
  }
  return radii;
}

function coverage(points: FeatureMatrix, centres: FeatureMatrix, radii: Float64Array): number {
  const d = squaredDistances(points, centres);
  let inside = 0;
  for (let i = 0; i < points.n; i++) {
    for (let j = 0; j < centres.n; j++) {
      if (d[i * centres.n + j] <= radii[j]) {
        inside++;
        break;
      }
    }
  }
  return inside / points.n;
}

/**
 * Improved precision and recall (Kynkäänniemi et al. 2019): each set's manifold is the union of balls around its
 * vectors with radius the distance to the k-th nearest neighbour (k = 3 by default). Precision is the share of
 * generated vectors inside the real manifold, recall the share of real vectors inside the generated one. The radii
 * grow as sets shrink, so compare sets of equal size (as `evaluate` does).
 *
 * @example
 * ```ts
 * const { precision, recall } = precisionRecall(realFeatures, generatedFeatures);
 * ```
 */
export function precisionRecall(real: FeatureMatrix, generated: FeatureMatrix, k = 3): PrecisionRecall {
  checkSameSpace(real, generated, 'precisionRecall');
  return {
    precision: coverage(generated, real, kthNeighbourRadii(real, k)),
    recall: coverage(real, generated, kthNeighbourRadii(generated, k)),
    k,
  };
}
