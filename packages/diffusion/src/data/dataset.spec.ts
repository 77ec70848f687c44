import * as tf from '@tensorflow/tfjs';
import { ArrayDataset, sampleSize, subset, takeBatch, validateDataset } from './dataset';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

/** 5 samples of shape [2, 3]; sample i holds 10·i + 0 … 10·i + 5, label 9 − i. */
function makeDataset(): ArrayDataset {
  const data = new Float32Array(5 * 6);
  for (let i = 0; i < 5; i++) for (let k = 0; k < 6; k++) data[i * 6 + k] = 10 * i + k;
  return { name: 'toy', sampleShape: [2, 3], size: 5, data, labels: Int32Array.from([9, 8, 7, 6, 5]) };
}

const sampleValues = (i: number): number[] => [0, 1, 2, 3, 4, 5].map((k) => 10 * i + k);

describe('sampleSize', () => {
  it('is the product of the sample shape', () => {
    expect(sampleSize({ sampleShape: [28, 28, 1] })).toBe(784);
    expect(sampleSize({ sampleShape: [2] })).toBe(2);
    expect(sampleSize({ sampleShape: [] })).toBe(1);
  });
});

describe('validateDataset', () => {
  it('returns a consistent dataset unchanged', () => {
    const ds = makeDataset();
    expect(validateDataset(ds)).toBe(ds);
    const empty: ArrayDataset = { name: 'empty', sampleShape: [3], size: 0, data: new Float32Array(0) };
    expect(validateDataset(empty)).toBe(empty);
  });

  it('rejects a bad size', () => {
    const ds = makeDataset();
    expect(() => validateDataset({ ...ds, size: -1 })).toThrow('dataset toy: size must be a non-negative integer, got -1');
    expect(() => validateDataset({ ...ds, size: 2.5 })).toThrow('dataset toy: size must be a non-negative integer, got 2.5');
  });

  it('rejects data that does not match size × sample size', () => {
    const ds = makeDataset();
    // 4 samples of 6 values need 24 values; the data has 30.
    expect(() => validateDataset({ ...ds, size: 4, labels: undefined })).toThrow('dataset toy: data has 30 values, expected 4 × 6 = 24');
    expect(() => validateDataset({ ...ds, sampleShape: [2, 2] })).toThrow('dataset toy: data has 30 values, expected 5 × 4 = 20');
  });

  it('rejects a label count that differs from the size', () => {
    const ds = makeDataset();
    expect(() => validateDataset({ ...ds, labels: new Int32Array(4) })).toThrow('dataset toy: 4 labels for 5 samples');
  });
});

describe('takeBatch', () => {
  it('stacks the samples at the given indices, in order and with repeats', () => {
    const ds = makeDataset();
    const x = takeBatch(ds, [3, 0, 3]);
    expect(x.shape).toEqual([3, 2, 3]);
    expect(x.dtype).toBe('float32');
    expect(Array.from(x.dataSync())).toEqual([...sampleValues(3), ...sampleValues(0), ...sampleValues(3)]);
    x.dispose();
  });

  it('gives an empty batch for no indices', () => {
    const x = takeBatch(makeDataset(), []);
    expect(x.shape).toEqual([0, 2, 3]);
    x.dispose();
  });

  it('copies: later changes to the dataset do not affect the batch', () => {
    const ds = makeDataset();
    const x = takeBatch(ds, [1]);
    ds.data[6] = -100;
    expect(x.dataSync()[0]).toBe(10);
    x.dispose();
  });

  it.each([-1, 5, 1.5, NaN])('rejects index %p without leaking', (ix) => {
    const before = tf.memory().numTensors;
    expect(() => takeBatch(makeDataset(), [0, ix])).toThrow(`dataset toy: index ${ix} outside [0, 5)`);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('subset', () => {
  it('copies the selected samples and their labels', () => {
    const ds = makeDataset();
    const s = subset(ds, [4, 1]);
    expect(s.name).toBe('toy');
    expect(s.size).toBe(2);
    expect(s.sampleShape).toEqual([2, 3]);
    expect(Array.from(s.data)).toEqual([...sampleValues(4), ...sampleValues(1)]);
    expect(Array.from(s.labels ?? [])).toEqual([5, 8]);
    expect(validateDataset(s)).toBe(s);
  });

  it('is independent of the source', () => {
    const ds = makeDataset();
    const s = subset(ds, [0, 2], 'toy/part');
    expect(s.name).toBe('toy/part');
    ds.data[0] = 99;
    (ds.labels as Int32Array)[0] = 99;
    (ds.sampleShape as number[])[0] = 7;
    expect(s.data[0]).toBe(0);
    expect(s.labels?.[0]).toBe(9);
    expect(s.sampleShape).toEqual([2, 3]);
  });

  it('handles unlabelled data and empty selections', () => {
    const ds = { ...makeDataset(), labels: undefined };
    const s = subset(ds, [2]);
    expect(s.labels).toBeUndefined();
    expect(Array.from(s.data)).toEqual(sampleValues(2));
    const e = subset(makeDataset(), []);
    expect(e.size).toBe(0);
    expect(e.data.length).toBe(0);
    expect(e.labels?.length).toBe(0);
  });

  it.each([-1, 5, 0.5])('rejects index %p', (ix) => {
    expect(() => subset(makeDataset(), [ix])).toThrow(`dataset toy: index ${ix} outside [0, 5)`);
  });
});
