import { Rng } from '@diffpress/core';

/** `n` feature vectors of width `dim`, row-major: the input of every feature-space metric. */
export interface FeatureMatrix {
  /** `n × dim` values. */
  data: Float32Array;
  /** Number of vectors. */
  n: number;
  /** Width of each vector. */
  dim: number;
}

/**
 * Wraps row-major values as a {@link FeatureMatrix}, checking the size.
 *
 * @throws RangeError when `data.length !== n · dim`.
 */
export function featureMatrix(data: Float32Array, n: number, dim: number): FeatureMatrix {
  if (!Number.isInteger(n) || !Number.isInteger(dim) || n < 0 || dim < 1) throw new RangeError(`featureMatrix: bad size ${n} × ${dim}`);
  if (data.length !== n * dim) throw new RangeError(`featureMatrix: ${data.length} values for ${n} × ${dim}`);
  return { data, n, dim };
}

/** Rows `indices` of a feature matrix, as a new matrix. */
export function selectRows(m: FeatureMatrix, indices: readonly number[]): FeatureMatrix {
  const out = new Float32Array(indices.length * m.dim);
  indices.forEach((r, j) => {
    if (r < 0 || r >= m.n) throw new RangeError(`selectRows: row ${r} outside [0, ${m.n})`);
    out.set(m.data.subarray(r * m.dim, (r + 1) * m.dim), j * m.dim);
  });
  return { data: out, n: indices.length, dim: m.dim };
}

/** Throws unless two feature matrices have the same width (they must come from one feature space). */
export function checkSameSpace(a: FeatureMatrix, b: FeatureMatrix, who: string): void {
  if (a.dim !== b.dim) throw new Error(`${who}: feature widths differ (${a.dim} vs ${b.dim}); both sets must be embedded by the same network`);
}

/**
 * Rows `0 … n − 1` of a permutation of `total` rows drawn from (seed, stream): a deterministic subset, e.g. of a
 * reference set ordered by class.
 */
export function seededSubset(total: number, n: number, seed: number, stream: string): number[] {
  return new Rng(seed, stream).permutation(total).slice(0, Math.min(n, total));
}
