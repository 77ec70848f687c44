import { Rng } from '@diffpress/core';
import { FeatureMatrix } from './features';
import { GaussianStats, fdInfinity, fdInfinityFit, fdSubsetSizes, frechetDistance, gaussianStats } from './frechet';

function diagStats(mean: number[], variances: number[]): GaussianStats {
  const d = mean.length;
  const cov = new Float64Array(d * d);
  variances.forEach((v, i) => (cov[i * d + i] = v));
  return { n: 100, mean: Float64Array.from(mean), cov: { rows: d, cols: d, data: cov } };
}

function randomFeatures(n: number, dim: number, seed: number, scale = 1, shift = 0): FeatureMatrix {
  const z = new Rng(seed, 'fd-test').normalArray(n * dim);
  // A fixed mixing makes the covariance full (not diagonal).
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      let s = 0;
      for (let k = 0; k <= j; k++) s += z[i * dim + k] * (1 / (1 + j - k));
      data[i * dim + j] = scale * s + shift;
    }
  }
  return { data, n, dim };
}

describe('gaussianStats', () => {
  it('gives the hand-computed mean and unbiased covariance', () => {
    // Points (1, 2), (3, 2), (5, 8): mean (3, 4); deviations (−2, −2), (0, −2), (2, 4).
    const s = gaussianStats({ data: Float32Array.from([1, 2, 3, 2, 5, 8]), n: 3, dim: 2 });
    expect(Array.from(s.mean)).toEqual([3, 4]);
    // Σ = [[8, 12], [12, 24]] / (n − 1).
    expect(Array.from(s.cov.data)).toEqual([4, 6, 6, 12]);
  });

  it('refuses fewer than two vectors', () => {
    expect(() => gaussianStats({ data: Float32Array.from([1, 2]), n: 1, dim: 2 })).toThrow(/at least 2/);
  });
});

describe('frechetDistance', () => {
  it('equals the closed form for diagonal covariances to 1e-6 relative', () => {
    // For diagonal Σ: ‖μ1 − μ2‖² + Σ_j (√σ1_j − √σ2_j)².
    const cases: Array<[number[], number[], number[], number[]]> = [
      [[0, 0, 0], [1, 4, 9], [1, -1, 2], [4, 1, 0.25]],
      [[5, -3], [0.01, 100], [5, -3], [100, 0.01]],
      [[0, 0, 0, 0], [2, 2, 2, 2], [0, 0, 0, 0], [2, 2, 2, 2]],
    ];
    for (const [m1, v1, m2, v2] of cases) {
      const expected = m1.reduce((s, m, j) => s + (m - m2[j]) ** 2, 0) + v1.reduce((s, v, j) => s + (Math.sqrt(v) - Math.sqrt(v2[j])) ** 2, 0);
      const got = frechetDistance(diagStats(m1, v1), diagStats(m2, v2));
      if (expected === 0) expect(got).toBeLessThan(1e-9);
      else expect(Math.abs(got - expected) / expected).toBeLessThan(1e-6);
    }
  });

  it('is 0 for a set against itself (to 1e-6) and symmetric', () => {
    const a = gaussianStats(randomFeatures(300, 16, 1));
    const b = gaussianStats(randomFeatures(300, 16, 2, 1.3, 0.2));
    expect(frechetDistance(a, a)).toBeLessThan(1e-6);
    const ab = frechetDistance(a, b);
    expect(Math.abs(ab - frechetDistance(b, a)) / ab).toBeLessThan(1e-9);
    expect(ab).toBeGreaterThan(0.1);
  });

  it('matches a direct computation through the eigenvalues of Σ1·Σ2 on random 2×2 cases', () => {
    // tr sqrtm(Σ1Σ2) = √λ1 + √λ2, with λ the (real, non-negative) roots of λ² − tr(M)λ + det(M), M = Σ1Σ2.
    const rng = new Rng(7, 'fd-2x2');
    for (let trial = 0; trial < 20; trial++) {
      const spd = (): number[] => {
        const [a, b, c] = Array.from(rng.normalArray(3));
        // L·Lᵀ with L = [[a, 0], [b, c]] plus a ridge: symmetric positive definite.
        return [a * a + 0.1, a * b, a * b, b * b + c * c + 0.1];
      };
      const s1 = spd();
      const s2 = spd();
      const mu1 = Array.from(rng.normalArray(2));
      const mu2 = Array.from(rng.normalArray(2));
      const m = [s1[0] * s2[0] + s1[1] * s2[2], s1[0] * s2[1] + s1[1] * s2[3], s1[2] * s2[0] + s1[3] * s2[2], s1[2] * s2[1] + s1[3] * s2[3]];
      const tr = m[0] + m[3];
      const det = m[0] * m[3] - m[1] * m[2];
      const disc = Math.sqrt(Math.max(0, tr * tr - 4 * det));
      const cross = Math.sqrt((tr + disc) / 2) + Math.sqrt(Math.max(0, (tr - disc) / 2));
      const expected = (mu1[0] - mu2[0]) ** 2 + (mu1[1] - mu2[1]) ** 2 + s1[0] + s1[3] + s2[0] + s2[3] - 2 * cross;
      const st = (mu: number[], s: number[]): GaussianStats => ({ n: 10, mean: Float64Array.from(mu), cov: { rows: 2, cols: 2, data: Float64Array.from(s) } });
      expect(frechetDistance(st(mu1, s1), st(mu2, s2))).toBeCloseTo(expected, 9);
    }
  });

  it('grows with a mean shift by exactly ‖Δμ‖² when the covariances are equal', () => {
    const f = randomFeatures(200, 8, 3);
    const a = gaussianStats(f);
    const shifted = { ...a, mean: a.mean.map((m) => m + 0.5) };
    expect(frechetDistance(a, shifted)).toBeCloseTo(8 * 0.25, 6);
  });
});

describe('fdInfinityFit', () => {
  it('recovers a and b of an exact a + b/n series', () => {
    for (const [a, b] of [[3.5, 120], [0, 40], [-0.25, 7], [12, 0]]) {
      const fit = fdInfinityFit([64, 91, 128, 200, 256].map((n) => ({ n, fd: a + b / n })));
      expect(fit.intercept).toBeCloseTo(a, 12);
      expect(fit.slope).toBeCloseTo(b, 9);
    }
  });

  it('gives the least-squares line for noisy points (hand example in x = 1/n)', () => {
    // x = 1, 1/2, 1/4 (n = 1, 2, 4), y = 3, 2, 2: x̄ = 7/12, ȳ = 7/3, Sxy = 5/12, Sxx = 7/24 → slope 10/7, intercept 3/2.
    const fit = fdInfinityFit([{ n: 1, fd: 3 }, { n: 2, fd: 2 }, { n: 4, fd: 2 }]);
    expect(fit.slope).toBeCloseTo(10 / 7, 12);
    expect(fit.intercept).toBeCloseTo(1.5, 12);
  });

  it('refuses fewer than two distinct counts and non-positive counts', () => {
    expect(() => fdInfinityFit([{ n: 10, fd: 1 }, { n: 10, fd: 2 }])).toThrow(/two distinct/);
    expect(() => fdInfinityFit([])).toThrow(/two distinct/);
    expect(() => fdInfinityFit([{ n: 0, fd: 1 }, { n: 10, fd: 2 }])).toThrow(/positive/);
  });
});

describe('fdSubsetSizes', () => {
  it('spaces the counts evenly in 1/n from n down to n/4', () => {
    // 1/n_k = (1 + 3k/4)/256: 256, 146.3, 102.4, 78.8, 64.
    expect(fdSubsetSizes(256)).toEqual([256, 146, 102, 79, 64]);
    expect(fdSubsetSizes(1000, 4)).toEqual([1000, 500, 333, 250]);
  });

  it('refuses sample counts too small for distinct sizes', () => {
    expect(() => fdSubsetSizes(8)).toThrow(/8 samples do not give 5 distinct/);
    expect(fdSubsetSizes(16)).toEqual([16, 9, 6, 5, 4]);
  });
});

describe('fdInfinity', () => {
  // One full-covariance Gaussian in 8 dimensions: a large reference set and a smaller sample set from it.
  const reference = gaussianStats(randomFeatures(20000, 8, 11));

  it('is near 0 for samples from the reference distribution, far closer than FD at the same n', () => {
    const fdInf: number[] = [];
    const fdN: number[] = [];
    for (const seed of [21, 22, 23, 24]) {
      const samples = randomFeatures(400, 8, seed);
      const r = fdInfinity(samples, reference, { seed });
      fdInf.push(r.intercept);
      fdN.push(r.fds[0]);
      // The full-set point is FD at n, and FD falls with n (bias ∝ 1/n): a positive slope.
      expect(r.fds[0]).toBeCloseTo(frechetDistance(gaussianStats(samples), reference), 12);
      expect(r.slope).toBeGreaterThan(0);
      expect(r.sizes).toEqual(fdSubsetSizes(400));
    }
    const mean = (v: number[]): number => v.reduce((a, x) => a + x, 0) / v.length;
    // FD at n = 400 is all bias here (≈ 0.07); FD∞ removes most of it.
    expect(mean(fdN)).toBeGreaterThan(0.02);
    expect(Math.abs(mean(fdInf))).toBeLessThan(mean(fdN) / 5);
  });

  it('recovers a real distance: a mean shift of 0.5 in every dimension gives FD∞ ≈ 8 · 0.25', () => {
    const samples = randomFeatures(400, 8, 31, 1, 0.5);
    const r = fdInfinity(samples, reference, { seed: 0 });
    expect(Math.abs(r.intercept - 2)).toBeLessThan(0.3);
    expect(r.fds[0] - r.intercept).toBeGreaterThan(0);
  });

  it('is deterministic under its seed, draws other subsets under another, and averages its draws', () => {
    const samples = randomFeatures(100, 4, 41);
    const ref = gaussianStats(randomFeatures(2000, 4, 42));
    const a = fdInfinity(samples, ref, { seed: 1 });
    expect(fdInfinity(samples, ref, { seed: 1 })).toEqual(a);
    const b = fdInfinity(samples, ref, { seed: 2 });
    expect(b.fds[0]).toBe(a.fds[0]);
    expect(b.fds[1]).not.toBe(a.fds[1]);
    const one = fdInfinity(samples, ref, { seed: 1, draws: 1 });
    expect(one.draws).toBe(1);
    expect(one.fds[4]).not.toBe(a.fds[4]);
  });

  it('refuses too few samples', () => {
    expect(() => fdInfinity(randomFeatures(8, 2, 1), gaussianStats(randomFeatures(50, 2, 2)))).toThrow(/distinct subset sizes/);
  });
});
