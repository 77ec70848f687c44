import { Rng } from '@diffpress/core';
import { FeatureMatrix } from './features';
import { kernelInceptionDistance } from './kid';

function gaussian(n: number, dim: number, seed: number, shift = 0): FeatureMatrix {
  const data = new Rng(seed, 'kid-test').normalArray(n * dim).map((v) => v + shift);
  return { data, n, dim };
}

/** The U-statistic written out literally, as a check of the row-sum bookkeeping. */
function bruteMmd(x: FeatureMatrix, y: FeatureMatrix, skipX = -1, skipY = -1): number {
  const k = (a: FeatureMatrix, i: number, b: FeatureMatrix, j: number): number => {
    let dot = 0;
    for (let c = 0; c < a.dim; c++) dot += a.data[i * a.dim + c] * b.data[j * b.dim + c];
    return (dot / a.dim + 1) ** 3;
  };
  const xs = Array.from({ length: x.n }, (_, i) => i).filter((i) => i !== skipX);
  const ys = Array.from({ length: y.n }, (_, j) => j).filter((j) => j !== skipY);
  let sxx = 0;
  for (const i of xs) for (const j of xs) if (i !== j) sxx += k(x, i, x, j);
  let syy = 0;
  for (const i of ys) for (const j of ys) if (i !== j) syy += k(y, i, y, j);
  let sxy = 0;
  for (const i of xs) for (const j of ys) sxy += k(x, i, y, j);
  const n = xs.length;
  const m = ys.length;
  return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - (2 * sxy) / (n * m);
}

describe('kernelInceptionDistance', () => {
  it('equals the literal U-statistic and the literal two-sample jackknife', () => {
    const x = gaussian(12, 3, 1);
    const y = gaussian(9, 3, 2, 0.4);
    const r = kernelInceptionDistance(x, y);
    expect(r.value).toBeCloseTo(bruteMmd(x, y), 10);
    const jack = (count: number, loo: (i: number) => number): number => {
      const v = Array.from({ length: count }, (_, i) => loo(i));
      const mean = v.reduce((a, b) => a + b, 0) / count;
      return ((count - 1) / count) * v.reduce((s, t) => s + (t - mean) ** 2, 0);
    };
    const variance = jack(x.n, (i) => bruteMmd(x, y, i, -1)) + jack(y.n, (j) => bruteMmd(x, y, -1, j));
    expect(r.stderr).toBeCloseTo(Math.sqrt(variance), 10);
  });

  it('is unbiased: over seeds, two samples of one distribution average to 0', () => {
    const values: number[] = [];
    for (let seed = 0; seed < 40; seed++) values.push(kernelInceptionDistance(gaussian(30, 4, 100 + seed), gaussian(30, 4, 200 + seed)).value);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
    // The mean of 40 draws lies within 3 standard errors of the true expectation, 0.
    expect(Math.abs(mean)).toBeLessThan((3 * sd) / Math.sqrt(values.length));
    // Individual estimates go negative: the biased (V-statistic) form never would.
    expect(values.some((v) => v < 0)).toBe(true);
  });

  it('detects a shifted distribution by several standard errors', () => {
    const r = kernelInceptionDistance(gaussian(200, 4, 5), gaussian(200, 4, 6, 0.5));
    expect(r.value).toBeGreaterThan(3 * r.stderr);
  });

  it('rejects mismatched widths and too few vectors', () => {
    expect(() => kernelInceptionDistance(gaussian(5, 3, 1), gaussian(5, 4, 2))).toThrow(/widths differ/);
    expect(() => kernelInceptionDistance(gaussian(2, 3, 1), gaussian(5, 3, 2))).toThrow(/at least 3/);
  });
});
