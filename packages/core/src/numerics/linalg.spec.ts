import {
  Matrix64,
  fromEigen,
  matmul64,
  matrix64,
  maxAbsDiff,
  sqrtmGeneral,
  sqrtmPsd,
  symmetricEigen,
  symmetricEigenvalues,
  toNested,
  trace64,
  traceSqrtProduct,
  transpose64,
  validateMatrix64,
} from './linalg';
import { eigs } from 'mathjs';

/** Seeded xorshift32 in [0, 1): enough to make test matrices reproducible. */
function uniform(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function randomMatrix(rows: number, cols: number, seed: number): Matrix64 {
  const next = uniform(seed);
  return matrix64(Array.from({ length: rows * cols }, () => 2 * next() - 1), rows, cols);
}

function randomSymmetric(n: number, seed: number): Matrix64 {
  const g = randomMatrix(n, n, seed);
  const gt = transpose64(g);
  return matrix64(g.data.map((x, k) => x + gt.data[k]), n, n);
}

/** G·Gᵀ / cols (+ ridge·I): positive definite for ridge > 0 or cols ≥ rows, rank `cols` otherwise. */
function randomPsd(n: number, cols: number, seed: number, ridge = 0): Matrix64 {
  const g = randomMatrix(n, cols, seed);
  const c = matmul64(g, transpose64(g));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) c.data[i * n + j] = c.data[i * n + j] / cols + (i === j ? ridge : 0);
  }
  return c;
}

function diagonal(d: readonly number[]): Matrix64 {
  return matrix64(d.map((x, i) => d.map((_, j) => (i === j ? x : 0))));
}

function identity(n: number): Matrix64 {
  return diagonal(new Array<number>(n).fill(1));
}

/** Householder reflection I − 2uuᵀ/(uᵀu): a known symmetric orthogonal matrix. */
function householder(u: readonly number[]): Matrix64 {
  const uu = u.reduce((s, x) => s + x * x, 0);
  return matrix64(u.map((ui, i) => u.map((uj, j) => (i === j ? 1 : 0) - (2 * ui * uj) / uu)));
}

function column(a: Matrix64, j: number): number[] {
  return Array.from({ length: a.rows }, (_, i) => a.data[i * a.cols + j]);
}

/** Signs v by the documented rule: the first largest-magnitude component positive. */
function signed(v: readonly number[]): number[] {
  const max = Math.max(...v.map(Math.abs));
  const pivot = v.findIndex((x) => Math.abs(x) >= max * (1 - 1e-8));
  return v.map((x) => (v[pivot] < 0 ? -x : x));
}

function maxAbs(a: Matrix64): number {
  return a.data.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(tol);
}

function orthonormalityError(v: Matrix64): number {
  return maxAbsDiff(matmul64(transpose64(v), v), identity(v.cols));
}

describe('matrix64 and helpers', () => {
  it('round-trips nested arrays and reads row-major flat data, including Float32Array', () => {
    const nested = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const a = matrix64(nested);
    expect([a.rows, a.cols]).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(toNested(a)).toEqual(nested);
    const b = matrix64(new Float32Array([1.5, -2, 0.25, 8]), 2, 2);
    expect(b.data).toBeInstanceOf(Float64Array);
    expect(toNested(b)).toEqual([
      [1.5, -2],
      [0.25, 8],
    ]);
  });

  it('copies its input', () => {
    const src = new Float64Array([1, 2, 3, 4]);
    const a = matrix64(src, 2, 2);
    src[0] = 99;
    expect(a.data[0]).toBe(1);
  });

  it('rejects ragged, mis-sized and empty input with the shapes in the message', () => {
    expect(() => matrix64([[1, 2], [3]])).toThrow('row 1 has 1 entries, row 0 has 2');
    expect(() => matrix64([1, 2, 3], 2, 2)).toThrow('3 entries do not make a 2×2 matrix');
    expect(() => matrix64([])).toThrow('shape 0×0 is not a non-empty matrix');
  });

  it('multiplies, transposes and traces against hand-computed results', () => {
    const a = matrix64([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const b = matrix64([
      [1, 0, -1],
      [2, 1, 0],
    ]);
    expect(toNested(matmul64(a, b))).toEqual([
      [5, 2, -1],
      [11, 4, -3],
      [17, 6, -5],
    ]);
    expect(toNested(transpose64(a))).toEqual([
      [1, 3, 5],
      [2, 4, 6],
    ]);
    expect(trace64(matmul64(a, b))).toBe(4);
    expect(() => matmul64(a, a)).toThrow('inner dimensions differ (3×2 · 3×2)');
    expect(() => maxAbsDiff(a, b)).toThrow('shapes 3×2 and 2×3 differ');
  });
});

describe('validation', () => {
  it('names the caller and the shape of a non-square matrix', () => {
    const a = matrix64([1, 2, 3, 4, 5, 6], 2, 3);
    expect(() => symmetricEigen(a)).toThrow('diffpress: symmetricEigen: expected a square matrix, got 2×3');
    expect(() => sqrtmGeneral(a)).toThrow('sqrtmGeneral: expected a square matrix, got 2×3');
    expect(() => trace64(a)).toThrow('trace64: expected a square matrix, got 2×3');
  });

  it('names the first non-finite entry', () => {
    expect(() => symmetricEigen(matrix64([1, 0, NaN, 1], 2, 2))).toThrow('entries must be finite, but [1][0] is NaN');
    expect(() => sqrtmPsd(matrix64([1, Infinity, Infinity, 1], 2, 2))).toThrow('but [0][1] is Infinity');
    expect(() => traceSqrtProduct(identity(2), matrix64([1, 0, 0, -Infinity], 2, 2))).toThrow(
      'traceSqrtProduct: s2: entries must be finite, but [1][1] is -Infinity',
    );
  });

  it('rejects asymmetry beyond the tolerance and accepts float32-level asymmetry', () => {
    const skew = matrix64([
      [1, 2],
      [2.1, 1],
    ]);
    expect(() => symmetricEigen(skew)).toThrow(
      'symmetricEigen: expected a symmetric matrix, but |[0][1] − [1][0]| = 1.000e-1 exceeds 1e-6 × max |entry| ' +
        '(2.100e+0)',
    );
    const strict = { symmetryTolerance: 0.01 };
    expect(() => validateMatrix64(skew, 'mine', strict)).toThrow('diffpress: mine: expected a symmetric');
    expect(() => validateMatrix64(skew, 'mine', { symmetryTolerance: 0.1 })).not.toThrow();
    // A float32 rounding of one triangle only: symmetric to ~6e-8 relative, which the default accepts.
    const c = randomPsd(6, 12, 11);
    const rounded = matrix64(c.data.map((x, k) => (k % 6 > Math.floor(k / 6) ? Math.fround(x) : x)), 6, 6);
    expect(maxAbsDiff(rounded, c)).toBeGreaterThan(0);
    expect(() => symmetricEigen(rounded)).not.toThrow();
  });

  it('rejects a mismatch of sizes and an indefinite matrix where PSD is required', () => {
    expect(() => traceSqrtProduct(identity(2), identity(3))).toThrow('s1 is 2×2 but s2 is 3×3');
    const indefinite = diagonal([1, -0.5]);
    expect(() => sqrtmPsd(indefinite)).toThrow('sqrtmPsd: not positive semi-definite: eigenvalue -0.5');
    expect(() => traceSqrtProduct(indefinite, identity(2))).toThrow('traceSqrtProduct: s1: not positive semi-definite');
    expect(() => traceSqrtProduct(identity(2), indefinite)).toThrow('√Σ1·Σ2·√Σ1: not positive semi-definite');
  });
});

describe('symmetricEigen', () => {
  it('solves [[2, 1], [1, 2]] in closed form: 1 ↦ (1, −1)/√2, 3 ↦ (1, 1)/√2', () => {
    const { values, vectors } = symmetricEigen(matrix64([[2, 1], [1, 2]]));
    expectClose(values, [1, 3], 1e-14);
    const r = Math.SQRT1_2;
    expectClose(column(vectors, 0), [r, -r], 1e-14);
    expectClose(column(vectors, 1), [r, r], 1e-14);
  });

  it('sorts a diagonal matrix ascending with unit coordinate vectors', () => {
    const { values, vectors } = symmetricEigen(diagonal([3, -1, 2, 0]));
    expect(Array.from(values)).toEqual([-1, 0, 2, 3]);
    expect(toNested(vectors)).toEqual([
      [0, 0, 0, 1],
      [1, 0, 0, 0],
      [0, 0, 1, 0],
      [0, 1, 0, 0],
    ]);
  });

  it('handles 1×1 and all-zero matrices', () => {
    const one = symmetricEigen(matrix64([[-5]]));
    expect(Array.from(one.values)).toEqual([-5]);
    expect(Array.from(one.vectors.data)).toEqual([1]);
    const zero = symmetricEigen(matrix64(new Float64Array(9), 3, 3));
    expect(Array.from(zero.values)).toEqual([0, 0, 0]);
    expect(orthonormalityError(zero.vectors)).toBe(0);
  });

  it('recovers d and the columns of Q from Q·diag(d)·Qᵀ with a Householder Q', () => {
    const q = householder([1, -2, 0.5, 3, -1.5, 2.5]);
    const d = [-2, 0.5, 1, 3, 4.5, 7];
    const a = matmul64(matmul64(q, diagonal(d)), transpose64(q));
    const { values, vectors } = symmetricEigen(a);
    expectClose(values, d, 1e-13);
    for (let j = 0; j < d.length; j++) expectClose(column(vectors, j), signed(column(q, j)), 1e-13);
  });

  it('is orthonormal, reconstructs, sorts and signs on a random symmetric 20×20', () => {
    const a = randomSymmetric(20, 1);
    const e = symmetricEigen(a);
    expect(orthonormalityError(e.vectors)).toBeLessThan(1e-10);
    expect(maxAbsDiff(fromEigen(e), a)).toBeLessThan(1e-9);
    for (let j = 1; j < 20; j++) expect(e.values[j]).toBeGreaterThanOrEqual(e.values[j - 1]);
    for (let j = 0; j < 20; j++) expect(column(e.vectors, j)).toEqual(signed(column(e.vectors, j)));
    // Tr A = Σλ and ‖A‖F² = Σλ², independent of the vectors.
    expect(e.values.reduce((s, l) => s + l, 0)).toBeCloseTo(trace64(a), 12);
    expect(e.values.reduce((s, l) => s + l * l, 0)).toBeCloseTo(a.data.reduce((s, x) => s + x * x, 0), 10);
  });

  it.each([1e-9, 1e9])('scales: eig(s·A) = s·eig(A) to 1e-12 relative at s = %s', (s) => {
    const a = randomSymmetric(12, 2);
    const e = symmetricEigen(a);
    const es = symmetricEigen(matrix64(a.data.map((x) => x * s), 12, 12));
    const top = Math.max(...e.values.map(Math.abs));
    expectClose(es.values.map((l) => l / s), e.values, 1e-12 * top);
    expect(maxAbsDiff(es.vectors, e.vectors)).toBeLessThan(1e-10);
  });

  it('decomposes the symmetric part (a + aᵀ)/2 of a nearly symmetric input', () => {
    const a = randomSymmetric(8, 3);
    const nudged = matrix64(a.data, 8, 8);
    nudged.data[1] += 1e-7;
    nudged.data[8] -= 1e-7;
    expectClose(symmetricEigen(nudged).values, symmetricEigen(a).values, 1e-14);
  });

  it('symmetricEigenvalues agrees with symmetricEigen', () => {
    const a = randomSymmetric(16, 4);
    expectClose(symmetricEigenvalues(a), symmetricEigen(a).values, 1e-12);
  });

  it('agrees with an independent solver (mathjs Jacobi) on a 48×48 covariance: values, and vectors up to sign', () => {
    const a = randomPsd(48, 64, 5);
    const ours = symmetricEigen(a);
    const ref = eigs(toNested(a), { eigenvectors: true, precision: 1e-14 * 48 });
    const pairs = ref.eigenvectors.map((e) => ({ value: e.value as number, vector: e.vector as number[] })).sort((x, y) => x.value - y.value);
    const top = ours.values[47];
    expectClose(ours.values, pairs.map((p) => p.value), 1e-12 * top);
    // The spectrum of a random covariance is simple: each eigenvector is unique up to sign.
    pairs.forEach((p, j) => {
      const dot = column(ours.vectors, j).reduce((s, x, i) => s + x * p.vector[i], 0);
      const norm = Math.sqrt(p.vector.reduce((s, x) => s + x * x, 0));
      expect(Math.abs(Math.abs(dot) / norm - 1)).toBeLessThan(1e-9);
    });
  });

  it('is orthonormal and reconstructs at n = 256, and on an eigenvalue of multiplicity n − 1 (I + uuᵀ)', () => {
    const a = randomSymmetric(256, 6);
    const e = symmetricEigen(a);
    const scale = maxAbs(a);
    expect(orthonormalityError(e.vectors)).toBeLessThan(1e-13);
    expect(maxAbsDiff(fromEigen(e), a) / scale).toBeLessThan(1e-13);
    const u = Array.from({ length: 40 }, (_, i) => Math.sin(i + 1));
    const uu = u.reduce((sum, x) => sum + x * x, 0);
    const r = matrix64(u.map((ui, i) => u.map((uj, j) => (i === j ? 1 : 0) + ui * uj)));
    const er = symmetricEigen(r);
    // Eigenvalues 1 (39 times) and 1 + ‖u‖², whose eigenvector is u/‖u‖.
    expectClose(er.values, [...new Array<number>(39).fill(1), 1 + uu], 1e-12 * uu);
    expect(orthonormalityError(er.vectors)).toBeLessThan(1e-13);
    expect(maxAbsDiff(fromEigen(er), r)).toBeLessThan(1e-12 * uu);
    expectClose(column(er.vectors, 39), signed(u.map((x) => x / Math.sqrt(uu))), 1e-12);
  });
});

describe('sqrtmPsd', () => {
  it('takes diag(4, 9) to diag(2, 3)', () => {
    expect(toNested(sqrtmPsd(diagonal([4, 9])))).toEqual([
      [2, 0],
      [0, 3],
    ]);
  });

  it('matches the closed form of [[2, 1], [1, 2]]: ½[[√3 + 1, √3 − 1], [√3 − 1, √3 + 1]]', () => {
    const s3 = Math.sqrt(3);
    const x = sqrtmPsd(matrix64([[2, 1], [1, 2]]));
    expectClose(x.data, [(s3 + 1) / 2, (s3 - 1) / 2, (s3 - 1) / 2, (s3 + 1) / 2], 1e-14);
  });

  it('squares back to a random SPD 20×20 and is symmetric', () => {
    const a = randomPsd(20, 40, 5);
    const x = sqrtmPsd(a);
    expect(maxAbsDiff(matmul64(x, x), a)).toBeLessThan(1e-9 * maxAbs(a));
    expect(maxAbsDiff(x, transpose64(x))).toBe(0);
    expect(symmetricEigenvalues(x)[0]).toBeGreaterThan(0);
  });

  it('clamps the round-off eigenvalues of a rank-deficient PSD matrix instead of returning NaN', () => {
    expect(toNested(sqrtmPsd(diagonal([4, -1e-9, 0])))).toEqual([
      [2, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    const a = randomPsd(12, 3, 6);
    const x = sqrtmPsd(a);
    expect(x.data.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(matmul64(x, x), a)).toBeLessThan(1e-9 * maxAbs(a));
  });

  it('agrees with the general Denman–Beavers sqrtm on a random SPD 10×10', () => {
    const a = randomPsd(10, 10, 7, 0.1);
    expect(maxAbsDiff(sqrtmPsd(a), sqrtmGeneral(a))).toBeLessThan(1e-9 * maxAbs(a));
  });
});

describe('sqrtmGeneral', () => {
  it('takes [[33, 24], [48, 57]] to [[5, 2], [4, 7]]', () => {
    // Denman–Beavers stops on a 1e-6 change of the iterate, which leaves ~1e-11 here.
    expectClose(sqrtmGeneral(matrix64([[33, 24], [48, 57]])).data, [5, 2, 4, 7], 1e-10);
  });
});

describe('traceSqrtProduct', () => {
  const sumSqrtProducts = (a: readonly number[], b: readonly number[]): number =>
    a.reduce((s, ai, i) => s + Math.sqrt(ai * b[i]), 0);

  it('gives Σ √(aᵢ·bᵢ) for diagonal covariances', () => {
    const a = [0.5, 2, 3, 7, 1e-3, 11];
    const b = [4, 0.25, 5, 1, 9, 2];
    const expected = sumSqrtProducts(a, b);
    expect(Math.abs(traceSqrtProduct(diagonal(a), diagonal(b)) - expected)).toBeLessThan(1e-12 * expected);
  });

  it('gives Σ √(aᵢ·bᵢ) for covariances sharing the eigenbasis of a Householder Q', () => {
    const q = householder([2, 1, -1, 0.5, 3]);
    const a = [1, 2, 3, 4, 5];
    const b = [5, 0.5, 2, 8, 1];
    const rotate = (d: number[]): Matrix64 => matmul64(matmul64(q, diagonal(d)), transpose64(q));
    const expected = sumSqrtProducts(a, b);
    expect(Math.abs(traceSqrtProduct(rotate(a), rotate(b)) - expected)).toBeLessThan(1e-12 * expected);
  });

  it('gives tr Σ when Σ1 = Σ2 = Σ', () => {
    const s = randomPsd(16, 32, 8);
    expect(Math.abs(traceSqrtProduct(s, s) - trace64(s))).toBeLessThan(1e-12 * trace64(s));
  });

  it('does not depend on the order of its arguments', () => {
    const s1 = randomPsd(24, 48, 9);
    const s2 = randomPsd(24, 30, 10, 0.05);
    const t12 = traceSqrtProduct(s1, s2);
    expect(Math.abs(t12 - traceSqrtProduct(s2, s1))).toBeLessThan(1e-8 * t12);
  });

  it('agrees with the trace of the general square root of the non-symmetric Σ1·Σ2', () => {
    const s1 = randomPsd(8, 16, 12, 0.1);
    const s2 = randomPsd(8, 16, 13, 0.1);
    const expected = trace64(sqrtmGeneral(matmul64(s1, s2)));
    expect(Math.abs(traceSqrtProduct(s1, s2) - expected)).toBeLessThan(1e-9 * expected);
  });

  it('stays finite on rank-deficient PSD covariances', () => {
    expect(traceSqrtProduct(diagonal([1, 0, 4, 0]), diagonal([9, 5, 0, 0]))).toBeCloseTo(3, 14);
    const s1 = randomPsd(12, 3, 14);
    const s2 = randomPsd(12, 4, 15);
    const t = traceSqrtProduct(s1, s2);
    expect(Number.isFinite(t)).toBe(true);
    expect(t).toBeGreaterThan(0);
    expect(Math.abs(t - traceSqrtProduct(s2, s1))).toBeLessThan(1e-8 * t);
    // The explicit symmetric form, with √Σ1 formed: same trace.
    const r1 = sqrtmPsd(s1);
    const explicit = symmetricEigenvalues(matmul64(matmul64(r1, s2), r1));
    const expected = explicit.reduce((s, l) => s + Math.sqrt(Math.max(l, 0)), 0);
    expect(Math.abs(t - expected)).toBeLessThan(1e-8 * t);
  });
});
