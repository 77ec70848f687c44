import { Rng } from '@diffpress/core';
import { ArrayDataset } from './dataset';
import { heldOutSplit, splitDataset } from './split';

describe('heldOutSplit', () => {
  it('holds out round(fraction · count) of each class, drawn by the seeded permutation of the class', () => {
    // Class 0: rows 0, 2, 4, 6, 7, 8 (round(0.4 · 6) = 2 held out); class 1: rows 1, 3, 5 (round(0.4 · 3) = 1).
    const labels = Int32Array.from([0, 1, 0, 1, 0, 1, 0, 0, 0]);
    const { train, test } = heldOutSplit(9, 0.4, 3, 's', labels);
    const zeros = [0, 2, 4, 6, 7, 8];
    const ones = [1, 3, 5];
    const p0 = new Rng(3, 's/0').permutation(zeros.length);
    const p1 = new Rng(3, 's/1').permutation(ones.length);
    const want = [...p0.slice(0, 2).map((p) => zeros[p]), ...p1.slice(0, 1).map((p) => ones[p])].sort((a, b) => a - b);
    expect(test).toEqual(want);
    expect([...train, ...test].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(train).toEqual([...train].sort((a, b) => a - b));
  });

  it('treats unlabelled rows as one class and is a pure function of its inputs', () => {
    const a = heldOutSplit(10, 0.2, 5, 'png-split');
    expect(a.test).toHaveLength(2);
    expect(a.test).toEqual(new Rng(5, 'png-split/all').permutation(10).slice(0, 2).sort((x, y) => x - y));
    expect(heldOutSplit(10, 0.2, 5, 'png-split')).toEqual(a);
    expect(heldOutSplit(10, 0.2, 6, 'png-split').test).not.toEqual(a.test);
    expect(() => heldOutSplit(10, 1.5, 5, 's')).toThrow(/\[0, 1\]/);
  });

  it('splitDataset copies the rows of one part and names it', () => {
    const ds: ArrayDataset = { name: 'toy', sampleShape: [1], size: 5, data: Float32Array.from([10, 11, 12, 13, 14]) };
    const rows = heldOutSplit(5, 0.4, 1, 't').test;
    const test = splitDataset(ds, 'test', { fraction: 0.4, seed: 1, stream: 't' });
    expect(test.name).toBe('toy/test');
    expect(Array.from(test.data)).toEqual(rows.map((r) => 10 + r));
  });
});
