import * as tf from '@tensorflow/tfjs';
import { Rng } from '@diffpress/core';
import { datasetBatches } from './batches';
import { ArrayDataset } from './dataset';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const N = 10;
/** 10 samples of shape [2]; sample i is (i, 100 + i), so a row identifies its sample. */
const ds: ArrayDataset = {
  name: 'ten',
  sampleShape: [2],
  size: N,
  data: Float32Array.from({ length: 2 * N }, (_, k) => (k % 2 === 0 ? k / 2 : 100 + (k - 1) / 2)),
};

/** Calls `batches(step)` and returns the sample ids of the rows and the stream indices, disposing the tensor. */
function ids(batches: ReturnType<typeof datasetBatches>, step: number): { rows: number[]; indices: number[] } {
  const { x, indices } = batches(step);
  expect(x.shape).toEqual([indices.length, 2]);
  const v = x.dataSync();
  const rows: number[] = [];
  for (let j = 0; j < indices.length; j++) {
    // Both columns belong to the same sample.
    expect(v[2 * j + 1]).toBe(100 + v[2 * j]);
    rows.push(v[2 * j]);
  }
  x.dispose();
  return { rows, indices };
}

/** The sample ids of stream positions 0 … count − 1, from consecutive batches of `batchSize`. */
function stream(batchSize: number, seed: number, count: number): number[] {
  const b = datasetBatches(ds, batchSize, seed);
  const out: number[] = [];
  for (let step = 0; out.length < count; step++) out.push(...ids(b, step).rows);
  return out.slice(0, count);
}

describe('datasetBatches', () => {
  it('gives stream indices step·batchSize + j', () => {
    const b = datasetBatches(ds, 4, 7);
    expect(ids(b, 0).indices).toEqual([0, 1, 2, 3]);
    expect(ids(b, 1).indices).toEqual([4, 5, 6, 7]);
    expect(ids(b, 5).indices).toEqual([20, 21, 22, 23]);
  });

  it('is a pure function of the step (repeat, out of order, fresh closure)', () => {
    const b = datasetBatches(ds, 4, 7);
    const first = [0, 1, 2, 3, 4, 5].map((s) => ids(b, s).rows);
    // Revisit in a scrambled order, including steps that straddle epoch boundaries (2: positions 8–11).
    for (const s of [5, 2, 0, 3, 2, 1, 4]) expect(ids(b, s).rows).toEqual(first[s]);
    const fresh = datasetBatches(ds, 4, 7);
    for (const s of [3, 0, 5]) expect(ids(fresh, s).rows).toEqual(first[s]);
  });

  it('follows the documented formula perm_e[g mod N], e = ⌊g/N⌋, perm_e from Rng(seed, data/epoch-e)', () => {
    const b = datasetBatches(ds, 4, 7);
    for (let step = 0; step < 8; step++) {
      const expected = [0, 1, 2, 3].map((j) => {
        const g = step * 4 + j;
        return new Rng(7, `data/epoch-${Math.floor(g / N)}`).permutation(N)[g % N];
      });
      expect(ids(b, step).rows).toEqual(expected);
    }
  });

  it('visits every sample exactly once per epoch', () => {
    // 40 stream positions = 10 batches of 4 = 4 epochs of 10.
    const s = stream(4, 7, 40);
    const sorted = Array.from({ length: N }, (_, i) => i);
    for (let e = 0; e < 4; e++) expect([...s.slice(e * N, (e + 1) * N)].sort((a, b) => a - b)).toEqual(sorted);
    // Successive epochs are reshuffled.
    expect(s.slice(0, N)).not.toEqual(s.slice(N, 2 * N));
  });

  it('splits a batch that straddles an epoch boundary between the two permutations', () => {
    // Step 2 covers positions 8, 9 (epoch 0, ranks 8, 9) and 10, 11 (epoch 1, ranks 0, 1).
    const s = stream(4, 7, 20);
    const b = datasetBatches(ds, 4, 7);
    expect(ids(b, 2).rows).toEqual([s[8], s[9], s[10], s[11]]);
    // The same stream with batch size 1 (every position its own step) agrees: the batch size only groups it.
    expect(stream(1, 7, 20)).toEqual(s);
    expect(stream(3, 7, 20)).toEqual(s);
  });

  it('handles batches larger than the dataset (several epochs in one batch)', () => {
    const b = datasetBatches(ds, 25, 3);
    const { rows, indices } = ids(b, 1); // positions 25 … 49: the second half of epoch 2, all of epoch 3, epoch 4
    expect(indices[0]).toBe(25);
    expect(indices[24]).toBe(49);
    const all = stream(1, 3, 50);
    expect(rows).toEqual(all.slice(25, 50));
    expect([...rows.slice(5, 15)].sort((a, c) => a - c)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(ids(b, 1).rows).toEqual(rows);
  });

  it('different seeds give different orders', () => {
    const a = stream(4, 7, 20);
    const c = stream(4, 8, 20);
    expect(c).not.toEqual(a);
    // …but each still covers every sample per epoch.
    expect([...c.slice(0, N)].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
  });

  it('leaks no tensors besides the returned batch', () => {
    const b = datasetBatches(ds, 4, 7);
    const before = tf.memory().numTensors;
    const { x } = b(2);
    expect(tf.memory().numTensors).toBe(before + 1);
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a bad batch size and an empty dataset', () => {
    expect(() => datasetBatches(ds, 0, 0)).toThrow('batch size must be a positive integer, got 0');
    expect(() => datasetBatches(ds, 2.5, 0)).toThrow('batch size must be a positive integer, got 2.5');
    const empty: ArrayDataset = { name: 'none', sampleShape: [2], size: 0, data: new Float32Array(0) };
    expect(() => datasetBatches(empty, 4, 0)).toThrow('dataset none is empty');
  });
});
