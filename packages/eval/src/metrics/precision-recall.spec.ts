import { Rng } from '@diffpress/core';
import { FeatureMatrix, featureMatrix } from './features';
import { kthNeighbourRadii, precisionRecall } from './precision-recall';

/** A 1-D feature matrix from plain numbers. */
function line(values: number[]): FeatureMatrix {
  return featureMatrix(Float32Array.from(values), values.length, 1);
}

/** A 2-D feature matrix from [x, y] pairs. */
function plane(points: Array<[number, number]>): FeatureMatrix {
  return featureMatrix(Float32Array.from(points.flat()), points.length, 2);
}

/** Brute-force improved precision (share of `points` inside some k-NN ball of `centres`), from direct differences. */
function naiveCoverage(points: FeatureMatrix, centres: FeatureMatrix, k: number): number {
  const d2 = (a: FeatureMatrix, i: number, b: FeatureMatrix, j: number): number => {
    let s = 0;
    for (let c = 0; c < a.dim; c++) s += (a.data[i * a.dim + c] - b.data[j * b.dim + c]) ** 2;
    return s;
  };
  const radii: number[] = [];
  for (let j = 0; j < centres.n; j++) {
    const others: number[] = [];
    for (let l = 0; l < centres.n; l++) if (l !== j) others.push(d2(centres, j, centres, l));
    others.sort((a, b) => a - b);
    radii.push(others[k - 1]);
  }
  let inside = 0;
  for (let i = 0; i < points.n; i++) {
    let hit = false;
    for (let j = 0; j < centres.n && !hit; j++) hit = d2(points, i, centres, j) <= radii[j];
    if (hit) inside++;
  }
  return inside / points.n;
}

describe('kthNeighbourRadii', () => {
  // All inputs are small integers, so every squared distance is exact in float64: compare with toEqual.
  it('gives hand-computed squared distances to the 1st and 2nd neighbour on a 1-D set', () => {
    // x = 0, 1, 3, 7. Squared distances: 0→{1, 9, 49}, 1→{1, 4, 36}, 3→{9, 4, 16}, 7→{49, 36, 16}.
    const x = line([0, 1, 3, 7]);
    expect(Array.from(kthNeighbourRadii(x, 1))).toEqual([1, 1, 4, 16]);
    expect(Array.from(kthNeighbourRadii(x, 2))).toEqual([9, 4, 9, 36]);
    expect(Array.from(kthNeighbourRadii(x, 3))).toEqual([49, 36, 16, 49]);
  });

  it('gives hand-computed squared distances on a 2-D set (the point itself is excluded)', () => {
    // (0,0)→{1, 4, 50}, (1,0)→{1, 5, 41}, (0,2)→{4, 5, 34}, (5,5)→{50, 41, 34}.
    const x = plane([[0, 0], [1, 0], [0, 2], [5, 5]]);
    expect(Array.from(kthNeighbourRadii(x, 1))).toEqual([1, 1, 4, 34]);
    expect(Array.from(kthNeighbourRadii(x, 2))).toEqual([4, 5, 5, 41]);
  });

  it('counts a duplicate point as a neighbour at distance 0', () => {
    const x = line([2, 2, 5]);
    expect(Array.from(kthNeighbourRadii(x, 1))).toEqual([0, 0, 9]);
  });

  it('throws a RangeError when k is not an integer in [1, n − 1]', () => {
    const x = line([0, 1, 3, 7]);
    expect(() => kthNeighbourRadii(x, 0)).toThrow(RangeError);
    expect(() => kthNeighbourRadii(x, 4)).toThrow(/\[1, 3\]/);
    expect(() => kthNeighbourRadii(x, -1)).toThrow(RangeError);
    expect(() => kthNeighbourRadii(x, 1.5)).toThrow(RangeError);
  });
});

describe('precisionRecall', () => {
  it('counts hand-placed points inside and outside the balls, boundary points included', () => {
    // Real: 0…4 on a line, k = 1 → every real radius² is 1, so the real manifold is [−1, 5].
    // Generated: −1 (exactly on the boundary of 0's ball: inside), 0.5 and 4.5 (inside), 5.5 and 10 (outside)
    // → precision 3/5.
    // Generated radii² (k = 1): −1→2.25 (to 0.5), 0.5→2.25 (to −1), 4.5→1, 5.5→1, 10→20.25.
    // Real 0 (1 ≤ 2.25 from −1), 1 (0.25 from 0.5), 2 (2.25 from 0.5: on the boundary), 4 (0.25 from 4.5) are
    // covered; 3 is not (2.25 > 1 from 4.5 and 5.5, 6.25 > 2.25 from 0.5) → recall 4/5.
    // All values are dyadic, so the boundary distances are computed exactly.
    const real = line([0, 1, 2, 3, 4]);
    const generated = line([-1, 0.5, 4.5, 5.5, 10]);
    expect(precisionRecall(real, generated, 1)).toEqual({ precision: 3 / 5, recall: 4 / 5, k: 1 });
  });

  it('uses k = 3 by default and grows the balls with k (hand count on a 2-D set)', () => {
    // Real: unit square corners. Radii²: k = 1 → 1, k = 2 → 1, k = 3 → 2 (the diagonal).
    // Generated: a tight cluster far from the square plus (0.5, 0.5) and (2, 0).
    const real = plane([[0, 0], [1, 0], [0, 1], [1, 1]]);
    const generated = plane([[0.5, 0.5], [2, 0], [10, 10], [10, 11]]);
    // k = 1: (0.5, 0.5) is 0.5 from every corner (inside), (2, 0) is exactly 1 from (1, 0) (boundary, inside).
    // Generated radii² (k = 1): (0.5,0.5)→2.5 (to (2,0)), (2,0)→2.5, (10,10)→1, (10,11)→1. Every corner is within
    // 0.5 ≤ 2.5 of (0.5, 0.5) → recall 1.
    expect(precisionRecall(real, generated, 1)).toEqual({ precision: 2 / 4, recall: 1, k: 1 });
    // k = 3: real radius² 2, the same two generated points inside. Generated radius² (k = 3) of (0.5, 0.5) is its
    // distance² to (10, 11), 9.5² + 10.5² = 200.5, so all corners are covered again.
    expect(precisionRecall(real, generated)).toEqual({ precision: 2 / 4, recall: 1, k: 3 });
  });

  it('gives precision = recall = 1 for identical sets (every point lies in its own ball)', () => {
    const rng = new Rng(7, 'pr-identical');
    const x = featureMatrix(rng.normalArray(30 * 4), 30, 4);
    const copy = featureMatrix(Float32Array.from(x.data), 30, 4);
    expect(precisionRecall(x, copy)).toEqual({ precision: 1, recall: 1, k: 3 });
  });

  it('gives precision 0 and recall 0 for a generated cluster far away from the real one', () => {
    const rng = new Rng(8, 'pr-far');
    const real = featureMatrix(rng.normalArray(25 * 3), 25, 3);
    const far = featureMatrix(rng.normalArray(25 * 3).map((v) => v + 1000), 25, 3);
    expect(precisionRecall(real, far)).toEqual({ precision: 0, recall: 0, k: 3 });
  });

  it('matches a brute-force reference on random overlapping sets for k = 1, 3, 5', () => {
    const rng = new Rng(9, 'pr-brute');
    const real = featureMatrix(rng.normalArray(40 * 3), 40, 3);
    const generated = featureMatrix(rng.normalArray(40 * 3).map((v) => 0.8 * v + 0.3), 40, 3);
    for (const k of [1, 3, 5]) {
      const got = precisionRecall(real, generated, k);
      // Both are ratios of the same integer counts (ties at a ball's edge have probability ~0 for Gaussian data).
      expect(got.precision).toBe(naiveCoverage(generated, real, k));
      expect(got.recall).toBe(naiveCoverage(real, generated, k));
    }
  });

  it('throws when the two sets have different widths', () => {
    expect(() => precisionRecall(line([0, 1, 2, 3]), plane([[0, 0], [1, 1], [2, 2], [3, 3]]))).toThrow(/feature widths differ/);
  });
});
