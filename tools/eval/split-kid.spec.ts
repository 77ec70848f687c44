import { Rng } from '@diffpress/core';
import { FeatureMatrix, featureMatrix, kernelInceptionDistance, selectRows } from '@diffpress/eval';
import { stratifiedSplitKid } from './split-kid';

/** Every k-subset of `items`. */
function combinations(items: number[], k: number): number[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items;
  return [...combinations(rest, k - 1).map((c) => [head, ...c]), ...combinations(rest, k)];
}

/** A pool of `sizes[c]` points of class c, 3-D, class c centred at c·spread on every axis. */
function pool(sizes: number[], spread: number): { x: FeatureMatrix; labels: Int32Array } {
  const rng = new Rng(7, 'split-kid');
  const labels = Int32Array.from(sizes.flatMap((s, c) => new Array<number>(s).fill(c)));
  const data = rng.normalArray(labels.length * 3);
  labels.forEach((c, i) => {
    for (let k = 0; k < 3; k++) data[i * 3 + k] += c * spread;
  });
  return { x: featureMatrix(data, labels.length, 3), labels };
}

describe('stratifiedSplitKid', () => {
  it('equals the average KID over every split with the given per-class sizes (enumerated)', () => {
    const sizes = [4, 3, 3];
    const first = [2, 1, 2];
    const { x, labels } = pool(sizes, 1.5);
    const members = sizes.map((_, c) => [...labels.keys()].filter((i) => labels[i] === c));
    let sum = 0;
    let splits = 0;
    for (const a of combinations(members[0], first[0])) {
      for (const b of combinations(members[1], first[1])) {
        for (const c of combinations(members[2], first[2])) {
          const inFirst = new Set([...a, ...b, ...c]);
          const rest = [...labels.keys()].filter((i) => !inFirst.has(i));
          sum += kernelInceptionDistance(selectRows(x, [...inFirst]), selectRows(x, rest)).value;
          splits++;
        }
      }
    }
    expect(splits).toBe(6 * 3 * 3);
    const r = stratifiedSplitKid(x, labels, first);
    expect(r.expected).toBeCloseTo(sum / splits, 9);
  });

  it('is 0 for a split within one class (two samples of one distribution) and negative when classes differ', () => {
    const one = pool([9], 0);
    expect(stratifiedSplitKid(one.x, one.labels, [4]).expected).toBeCloseTo(0, 9);
    const two = pool([6, 6], 3);
    const r = stratifiedSplitKid(two.x, two.labels, [3, 3]);
    expect(r.sameClass).toBeGreaterThan(r.mixed);
    // Equal shares in both parts: E = (mixed − sameClass)·(1/(n−1) + 1/(m−1)), n = m = 6.
    expect(r.expected).toBeCloseTo((r.mixed - r.sameClass) * (2 / 5), 9);
    expect(r.expected).toBeLessThan(0);
  });

  it('refuses labels, sizes and parts it cannot use', () => {
    const { x, labels } = pool([3, 3], 1);
    expect(() => stratifiedSplitKid(x, labels.slice(1), [1, 1])).toThrow(/5 labels for 6/);
    expect(() => stratifiedSplitKid(x, labels, [1])).toThrow(/label 1 outside/);
    expect(() => stratifiedSplitKid(x, labels, [4, 1])).toThrow(/class 0 has 3 members/);
    expect(() => stratifiedSplitKid(x, labels, [1, 0])).toThrow(/at least 2/);
  });
});
