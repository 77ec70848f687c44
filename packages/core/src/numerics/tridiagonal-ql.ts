/**
 * The symmetric eigen-solver behind {@link symmetricEigen}: Householder reduction to tridiagonal form, then the
 * implicit QL iteration with Wilkinson-type shifts, accumulating the transformations (the EISPACK tred2/tql2 pair,
 * as in Golub & Van Loan §8.3 and JAMA). O(n³): about 4/3·n³ flops for the reduction and ~3n³ for the rotations,
 * against the n⁴ growth of a Jacobi method that searches the whole triangle for each pivot.
 */

/** Eigenvalues (unsorted) and the matching unit eigenvectors, `vectors[i * n + j]` = component i of vector j. */
export interface RawEigen {
  /** The n eigenvalues, in the order the iteration leaves them. */
  values: Float64Array;
  /** n×n row-major; column j is the eigenvector of `values[j]`. */
  vectors: Float64Array;
}

/**
 * Eigen-decomposition of the symmetric n×n matrix `a` (row-major; only its lower triangle is read). Accurate to
 * round-off: ‖V·diag(λ)·Vᵀ − A‖ and ‖VᵀV − I‖ ≈ n·1e-16 relative.
 *
 * @param a - Row-major entries; not modified.
 * @param n - The order.
 * @param withVectors - False skips rotating the eigenvectors in the QL phase (its O(n³) part); `vectors` is then
 *   meaningless and the values are the same.
 */
export function tridiagonalQlEigen(a: ArrayLike<number>, n: number, withVectors = true): RawEigen {
  // v holds the matrix, then the accumulated orthogonal transformation; d and e the tridiagonal form, then λ.
  const v = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  householderTridiagonal(v, d, e, n);
  implicitQl(v, d, e, n, withVectors);
  return { values: d, vectors: v };
}

/** Reduces v (symmetric) to tridiagonal form: diagonal d, sub-diagonal e[1..n−1]; v becomes the transformation. */
function householderTridiagonal(v: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = v[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    // Scale to avoid under- and overflow of the Householder vector's norm.
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = v[(i - 1) * n + j];
        v[i * n + j] = 0;
        v[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      // p = A·u / h into e, using the lower triangle only.
      for (let j = 0; j < i; j++) {
        f = d[j];
        v[j * n + i] = f;
        g = e[j] + v[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += v[k * n + j] * d[k];
          e[k] += v[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      // A ← A − u·qᵀ − q·uᵀ on the lower triangle.
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) v[k * n + j] -= f * e[k] + g * d[k];
        d[j] = v[(i - 1) * n + j];
        v[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the Householder reflections into v.
  for (let i = 0; i < n - 1; i++) {
    v[(n - 1) * n + i] = v[i * n + i];
    v[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[k * n + i + 1] * v[k * n + j];
        for (let k = 0; k <= i; k++) v[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) v[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[(n - 1) * n + j];
    v[(n - 1) * n + j] = 0;
  }
  v[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** Diagonalizes the tridiagonal (d, e) by implicit QL steps, rotating the columns of v along. */
function implicitQl(v: Float64Array, d: Float64Array, e: Float64Array, n: number, withVectors: boolean): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    // Find a negligible sub-diagonal element (e[n − 1] = 0 ends the search).
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 60) throw new Error(`diffpress: tridiagonal QL did not converge for eigenvalue ${l} of ${n}`);
        // Shift from the leading 2×2 block.
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        // The implicit QL transformation, a chain of plane rotations from m − 1 up to l.
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; withVectors && k < n; k++) {
            const vk = k * n;
            h = v[vk + i + 1];
            v[vk + i + 1] = s * v[vk + i] + c * h;
            v[vk + i] = c * v[vk + i] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}
