import { Rng } from '@diffpress/core';
import { FeatureMatrix, featureMatrix } from './features';
import { medianDistance, mmdRbf, modeCoverage, slicedWasserstein } from './toy2d';

/** n points of a 2-D Gaussian with identity covariance and the given mean. */
function gaussian2d(rng: Rng, n: number, mean: [number, number] = [0, 0]): FeatureMatrix {
  const z = rng.normalArray(2 * n);
  for (let i = 0; i < n; i++) {
    z[2 * i] += mean[0];
    z[2 * i + 1] += mean[1];
  }
  return featureMatrix(z, n, 2);
}

function line(values: number[]): FeatureMatrix {
  return featureMatrix(Float32Array.from(values), values.length, 1);
}

/** Unbiased MMD² by the textbook double loops over ordered pairs i ≠ j (Gretton et al. 2012, eq. 3). */
function naiveMmd(x: FeatureMatrix, y: FeatureMatrix, h: number): number {
  const k = (a: FeatureMatrix, i: number, b: FeatureMatrix, j: number): number => {
    let d = 0;
    for (let c = 0; c < a.dim; c++) d += (a.data[i * a.dim + c] - b.data[j * b.dim + c]) ** 2;
    return Math.exp(-d / (2 * h * h));
  };
  let xx = 0;
  for (let i = 0; i < x.n; i++) for (let j = 0; j < x.n; j++) if (i !== j) xx += k(x, i, x, j);
  let yy = 0;
  for (let i = 0; i < y.n; i++) for (let j = 0; j < y.n; j++) if (i !== j) yy += k(y, i, y, j);
  let xy = 0;
  for (let i = 0; i < x.n; i++) for (let j = 0; j < y.n; j++) xy += k(x, i, y, j);
  return xx / (x.n * (x.n - 1)) + yy / (y.n * (y.n - 1)) - (2 * xy) / (x.n * y.n);
}

function meanAndStdErr(values: number[]): { mean: number; se: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
  return { mean, se: Math.sqrt(variance / values.length) };
}

describe('mmdRbf', () => {
  it('matches a brute-force double loop with a fixed bandwidth (unequal set sizes)', () => {
    const rng = new Rng(1, 'mmd-brute');
    const x = gaussian2d(rng, 20);
    const y = gaussian2d(rng, 23, [0.7, -0.3]);
    for (const h of [0.5, 1, 2.5]) {
      const want = naiveMmd(x, y, h);
      // Same float64 arithmetic in a different summation order: agreement to ~1e-15 relative; 1e-12 is ample.
      expect(Math.abs(mmdRbf(x, y, h) - want)).toBeLessThanOrEqual(1e-12 * Math.abs(want));
    }
  });

  it('defaults the bandwidth to the median pairwise distance between the sets', () => {
    const rng = new Rng(2, 'mmd-median');
    const x = gaussian2d(rng, 15);
    const y = gaussian2d(rng, 15, [1, 0]);
    expect(mmdRbf(x, y)).toBe(mmdRbf(x, y, medianDistance(x, y)));
  });

  it('medianDistance picks the middle cross-set distance (hand example)', () => {
    // Distances from 0 to {1, 2, 4}: 1, 2, 4 → median 2. Distances from {0, 10} to {1, 2, 4}: 1, 2, 4, 9, 8, 6 →
    // sorted 1 2 4 6 8 9, the element at index ⌊6/2⌋ = 3 is 6.
    expect(medianDistance(line([0]), line([1, 2, 4]))).toBe(2);
    expect(medianDistance(line([0, 10]), line([1, 2, 4]))).toBe(6);
  });

  it('is unbiased: averaged over 30 seeds, two samples of one Gaussian give MMD² within 3 standard errors of 0', () => {
    const values: number[] = [];
    for (let seed = 0; seed < 30; seed++) {
      values.push(mmdRbf(gaussian2d(new Rng(seed, 'mmd-null-x'), 40), gaussian2d(new Rng(seed, 'mmd-null-y'), 40), 1));
    }
    const { mean, se } = meanAndStdErr(values);
    // The unbiased estimator can be negative; a biased (V-statistic) version would sit ~2(1 − 1/3)/40 ≈ 0.03 above 0.
    expect(values.some((v) => v < 0)).toBe(true);
    expect(Math.abs(mean)).toBeLessThan(3 * se);
    // The check has power: 3 standard errors are smaller than that V-statistic bias of 2(1 − 1/3)/40.
    expect(3 * se).toBeLessThan((2 * (1 - 1 / 3)) / 40);
  });

  it('is clearly positive for a shifted Gaussian and its mean matches the closed-form population MMD²', () => {
    // For N(0, I₂) vs N(δ, I₂) and bandwidth 1: E k(x, x') = 1/3 (x − x' ~ N(0, 2I), each axis gives 1/√3) and
    // E k(x, y) = exp(−|δ|²/6)/3, so MMD² = (2/3)(1 − exp(−|δ|²/6)); for δ = (1.5, 0) that is ≈ 0.2085.
    const delta = 1.5;
    const population = (2 / 3) * (1 - Math.exp(-(delta * delta) / 6));
    const values: number[] = [];
    for (let seed = 0; seed < 30; seed++) {
      values.push(mmdRbf(gaussian2d(new Rng(seed, 'mmd-alt-x'), 40), gaussian2d(new Rng(seed, 'mmd-alt-y'), 40, [delta, 0]), 1));
    }
    const { mean, se } = meanAndStdErr(values);
    expect(Math.min(...values)).toBeGreaterThan(0);
    expect(mean).toBeGreaterThan(10 * se);
    expect(Math.abs(mean - population)).toBeLessThan(3 * se);
  });

  it('throws for fewer than 2 points per set or different widths', () => {
    expect(() => mmdRbf(line([0]), line([1, 2]), 1)).toThrow(/at least 2/);
    expect(() => mmdRbf(line([0, 1]), featureMatrix(new Float32Array(4), 2, 2), 1)).toThrow(/feature widths differ/);
  });
});

describe('slicedWasserstein', () => {
  it('is exactly 0 for identical sets', () => {
    const x = gaussian2d(new Rng(4, 'sw-identical'), 50);
    expect(slicedWasserstein(x, featureMatrix(Float32Array.from(x.data), 50, 2))).toBe(0);
  });

  it('is the exact 1-D Wasserstein-2 distance for equal-size 1-D sets (hand value)', () => {
    // Sorted {0, 1, 5} vs {0, 2, 3}: differences 0, 1, 2 → W₂² = 5/3. In 1-D every direction is ±1.
    expect(slicedWasserstein(line([5, 0, 1]), line([2, 0, 3]), 16)).toBeCloseTo(Math.sqrt(5 / 3), 12);
    // A translation by c in 1-D gives |c| whatever the directions.
    expect(slicedWasserstein(line([0.5, -1, 2]), line([3.5, 2, 5]), 8)).toBeCloseTo(3, 6);
  });

  it('is ≈ |c|/√2 for a 2-D set and its translate by c (mean cos² over random directions is 1/2)', () => {
    const x = gaussian2d(new Rng(5, 'sw-translate'), 64);
    const c: [number, number] = [3, -4];
    const y = featureMatrix(x.data.map((v, i) => v + c[i % 2]), 64, 2);
    // Every projected quantile moves by u·c, so SW² = |c|²·mean_p cos²θ_p; with 512 directions the mean of cos² is
    // 1/2 ± ~0.016 (std of cos² is 1/(2√2), /√512), i.e. a few % on SW: 10 % is generous.
    expect(Math.abs(slicedWasserstein(x, y, 512) - 5 / Math.SQRT2)).toBeLessThan(0.1 * (5 / Math.SQRT2));
  });

  it('equals |c|·sqrt(mean (u_p·ĉ)²) exactly over its own seeded directions for a translation', () => {
    const x = gaussian2d(new Rng(6, 'sw-translate-exact'), 40);
    const c = [1.25, 0.5];
    const y = featureMatrix(x.data.map((v, i) => v + c[i % 2]), 40, 2);
    const projections = 64;
    const seed = 3;
    // The directions are documented as seeded: normalised normalArray(dim) draws of Rng(seed, 'sliced-wasserstein').
    const rng = new Rng(seed, 'sliced-wasserstein');
    let meanSq = 0;
    for (let p = 0; p < projections; p++) {
      const u = Array.from(rng.normalArray(2));
      const norm = Math.hypot(...u);
      meanSq += ((u[0] * c[0] + u[1] * c[1]) / norm) ** 2 / projections;
    }
    // The translated points are rounded to float32 (~1e-7 absolute on values of order 1): 1e-5 relative.
    expect(Math.abs(slicedWasserstein(x, y, projections, seed) - Math.sqrt(meanSq)) / Math.sqrt(meanSq)).toBeLessThan(1e-5);
  });

  it('is symmetric and bounded by the mean point displacement for paired sets', () => {
    const rng = new Rng(7, 'sw-bounds');
    const x = gaussian2d(rng, 30);
    const y = gaussian2d(rng, 30, [0.5, 0.5]);
    // Projection is 1-Lipschitz and sorting is the optimal 1-D coupling, so SW₂ ≤ W₂ ≤ sqrt(mean_i |x_i − y_i|²).
    let paired = 0;
    for (let i = 0; i < 30; i++) paired += ((x.data[2 * i] - y.data[2 * i]) ** 2 + (x.data[2 * i + 1] - y.data[2 * i + 1]) ** 2) / 30;
    const sw = slicedWasserstein(x, y);
    expect(sw).toBeLessThanOrEqual(Math.sqrt(paired));
    expect(Math.abs(sw - slicedWasserstein(y, x))).toBeLessThan(1e-12);
  });
});

describe('modeCoverage', () => {
  // Eight modes on a circle of radius 4 (the "eight Gaussians" toy set), 10 tight reference points per mode.
  const centres = Array.from({ length: 8 }, (_, k) => [4 * Math.cos((k * Math.PI) / 4), 4 * Math.sin((k * Math.PI) / 4)]);

  function around(modes: number[], perMode: number, stream: string): { points: FeatureMatrix; labels: Int32Array } {
    const rng = new Rng(11, stream);
    const data = new Float32Array(modes.length * perMode * 2);
    const labels = new Int32Array(modes.length * perMode);
    modes.forEach((m, a) => {
      const noise = rng.normalArray(2 * perMode);
      for (let i = 0; i < perMode; i++) {
        const r = a * perMode + i;
        data[2 * r] = centres[m][0] + 0.1 * noise[2 * i];
        data[2 * r + 1] = centres[m][1] + 0.1 * noise[2 * i + 1];
        labels[r] = m;
      }
    });
    return { points: featureMatrix(data, labels.length, 2), labels };
  }

  const all = [0, 1, 2, 3, 4, 5, 6, 7];

  it('gives coverage 0.5 when samples sit near only 4 of 8 modes, with shares summing to 1', () => {
    const ref = around(all, 10, 'mode-ref');
    const gen = around([0, 2, 4, 6], 12, 'mode-gen-half').points;
    const res = modeCoverage(ref.points, ref.labels, gen, 8);
    expect(res.coverage).toBe(0.5);
    expect(res.shares).toEqual([0.25, 0, 0.25, 0, 0.25, 0, 0.25, 0]);
    expect(res.shares.reduce((a, b) => a + b, 0)).toBe(1);
    expect(res.referenceShares).toEqual(new Array(8).fill(1 / 8));
  });

  it('gives coverage 1 when samples sit near all 8 modes', () => {
    const ref = around(all, 10, 'mode-ref');
    const res = modeCoverage(ref.points, ref.labels, around(all, 5, 'mode-gen-all').points, 8);
    expect(res.coverage).toBe(1);
    expect(res.shares).toEqual(new Array(8).fill(1 / 8));
  });

  it('counts a mode covered exactly at minRatio of its reference share and not just below it', () => {
    const ref = around(all, 10, 'mode-ref');
    // 15 samples at mode 0 and 1 at mode 1: mode 1's share 1/16 = 0.5 · 1/8 exactly → covered (≥).
    const gen = around([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 1, 'mode-gen-edge').points;
    expect(modeCoverage(ref.points, ref.labels, gen, 8).coverage).toBe(2 / 8);
    // With minRatio 0.6 mode 1 needs 0.075 > 1/16.
    expect(modeCoverage(ref.points, ref.labels, gen, 8, 0.6).coverage).toBe(1 / 8);
  });

  it('only counts modes present in the reference in the denominator', () => {
    const ref = around([0, 1, 2, 3, 4, 5, 6], 10, 'mode-ref-7');
    const res = modeCoverage(ref.points, ref.labels, around([0, 1, 2, 3, 4, 5, 6, 7], 5, 'mode-gen-8').points, 8);
    // Samples near mode 7 are assigned to the nearest present modes (6 or 0); 7 of 7 present modes are covered.
    expect(res.coverage).toBe(1);
    expect(res.referenceShares[7]).toBe(0);
    expect(res.shares[7]).toBe(0);
  });

  it('throws when the label count does not match the reference', () => {
    const ref = around(all, 2, 'mode-ref-small');
    expect(() => modeCoverage(ref.points, ref.labels.subarray(1), ref.points, 8)).toThrow(/15 labels for 16/);
  });
});
