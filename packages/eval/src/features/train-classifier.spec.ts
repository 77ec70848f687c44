import * as tf from '@tensorflow/tfjs';
import { Rng, initEngine } from '@diffpress/core';
import { ArrayDataset, DataBatch, datasetBatches } from '@diffpress/diffusion';
import { MnistClassifier, MnistClassifierConfig } from './mnist-classifier';
import { augmentedBatches, classifierAccuracy, classifierLoss, shiftImages } from './train-classifier';

beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

/** A small classifier of the shipped architecture (28×28 inputs), cheap to build. */
const SMALL: MnistClassifierConfig = { channels: [2, 3, 4], hidden: 8, classes: 10, dropout: 0.3 };

const F = -1;
// 1 2 3
// 4 5 6
// 7 8 9
const IMG = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);

describe('shiftImages', () => {
  it.each([
    [[1, 0], [F, F, F, 1, 2, 3, 4, 5, 6]],
    [[0, -1], [2, 3, F, 5, 6, F, 8, 9, F]],
    [[-2, 2], [F, F, 7, F, F, F, F, F, F]],
    [[0, 0], [1, 2, 3, 4, 5, 6, 7, 8, 9]],
    [[1, 1], [F, F, F, F, 1, 2, F, 4, 5]],
    [[3, 0], [F, F, F, F, F, F, F, F, F]],
    [[0, 3], [F, F, F, F, F, F, F, F, F]],
    [[-3, -3], [F, F, F, F, F, F, F, F, F]],
    [[0, 4], [F, F, F, F, F, F, F, F, F]],
    [[0, -5], [F, F, F, F, F, F, F, F, F]],
  ] as Array<[[number, number], number[]]>)('shifts a 3×3 image by %j', (shift, want) => {
    expect(Array.from(shiftImages(IMG, [3, 3, 1], [shift], F))).toEqual(want);
  });

  it('shifts each image of a batch by its own shift, without touching the input', () => {
    const batch = Float32Array.from([...IMG, ...IMG, ...IMG]);
    const out = shiftImages(batch, [3, 3, 1], [[1, 0], [0, -1], [-2, 2]], 0.5);
    const G = 0.5;
    expect(Array.from(out)).toEqual([G, G, G, 1, 2, 3, 4, 5, 6, 2, 3, G, 5, 6, G, 8, 9, G, G, G, 7, G, G, G, G, G, G]);
    expect(Array.from(batch)).toEqual([...IMG, ...IMG, ...IMG]);
  });

  it('moves whole pixels of a multi-channel image', () => {
    // 2×2×2: pixel (y, x) holds [10y + x, −(10y + x)].
    const img = Float32Array.from([0, -0, 1, -1, 10, -10, 11, -11]);
    expect(Array.from(shiftImages(img, [2, 2, 2], [[0, 1]], 9))).toEqual([9, 9, 0, -0, 9, 9, 10, -10]);
    expect(Array.from(shiftImages(img, [2, 2, 2], [[-1, 0]], 9))).toEqual([10, -10, 11, -11, 9, 9, 9, 9]);
  });

  it('checks the value count against the shifts', () => {
    expect(() => shiftImages(IMG, [3, 3, 1], [[0, 0], [0, 0]], F)).toThrow(/9 values for 2 images of 9/);
  });
});

describe('augmentedBatches', () => {
  // Ten 4×4 images whose 16 pixels are all distinct and never −1, so any shift is recognisable.
  const per = 16;
  const data = Float32Array.from({ length: 10 * per }, (_, i) => (i + 1) / 200);
  const labels = Int32Array.from({ length: 10 }, (_, i) => (i * 7) % 10);
  const ds: ArrayDataset = { name: 'toy', sampleShape: [4, 4, 1], size: 10, data, labels };

  function shiftOf(row: number, image: Float32Array, maxShift: number): [number, number] | null {
    const src = data.subarray(row * per, (row + 1) * per);
    for (let dy = -maxShift; dy <= maxShift; dy++) {
      for (let dx = -maxShift; dx <= maxShift; dx++) {
        const s = shiftImages(src, [4, 4, 1], [[dy, dx]], -1);
        if (s.every((v, i) => v === image[i])) return [dy, dx];
      }
    }
    return null;
  }

  it('is a pure function of the step, and each image is its row shifted by at most maxShift', () => {
    const batches = augmentedBatches(ds, 5, 11, 2);
    const a = batches(3);
    const b = augmentedBatches(ds, 5, 11, 2)(3);
    const c = batches(3);
    try {
      expect(a.x.shape).toEqual([5, 4, 4, 1]);
      expect(a.indices).toEqual([15, 16, 17, 18, 19]);
      expect(b.rows).toEqual(a.rows);
      expect(c.rows).toEqual(a.rows);
      const xa = a.x.dataSync() as Float32Array;
      expect(b.x.dataSync()).toEqual(xa);
      expect(c.x.dataSync()).toEqual(xa);

      // Rows are those of the un-augmented stream; labels follow the rows.
      const plain = datasetBatches(ds, 5, 11)(3);
      expect(a.rows).toEqual(plain.rows);
      plain.x.dispose();
      const rows = a.rows ?? [];
      expect(rows.map((r) => labels[r])).toEqual(rows.map((r) => (r * 7) % 10));

      const shifts = rows.map((r, j) => shiftOf(r, xa.subarray(j * per, (j + 1) * per), 2));
      expect(shifts.every((s) => s !== null)).toBe(true);
      // With 5 images and 25 possible shifts, this seed moves at least one of them.
      expect(shifts.some((s) => s !== null && (s[0] !== 0 || s[1] !== 0))).toBe(true);
    } finally {
      tf.dispose([a.x, b.x, c.x]);
    }
  });

  it('the two batches of one epoch visit every row once', () => {
    const batches = augmentedBatches(ds, 5, 11, 1);
    const seen: number[] = [];
    for (const step of [0, 1]) {
      const { x, rows } = batches(step);
      x.dispose();
      seen.push(...(rows ?? []));
    }
    expect([...seen].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('maxShift 0 gives the plain dataset batches', () => {
    const a = augmentedBatches(ds, 4, 2, 0)(1);
    const rows = a.rows ?? [];
    const want = new Float32Array(rows.length * per);
    rows.forEach((r, j) => want.set(data.subarray(r * per, (r + 1) * per), j * per));
    expect(a.x.dataSync()).toEqual(want);
    a.x.dispose();
  });

  it('refuses non-image datasets', () => {
    const points: ArrayDataset = { name: 'pts', sampleShape: [2], size: 3, data: new Float32Array(6) };
    expect(() => augmentedBatches(points, 2, 0, 1)).toThrow(/pts has \[2\]/);
  });
});

describe('classifierLoss', () => {
  it('is the mean softmax cross-entropy of the logits at the rows’ labels', () => {
    const net = new MnistClassifier(SMALL, new Rng(5, 'loss')).eval();
    const labels = Int32Array.from([4, 9, 0, 3, 3, 7]);
    const rows = [5, 1, 3, 0];
    const x = tf.randomUniform([4, 28, 28, 1], -1, 1, 'float32', 3);
    const batch: DataBatch = { x, indices: [0, 1, 2, 3], rows };
    try {
      const logits = tf.tidy(() => net.forward(x).arraySync() as number[][]);
      let want = 0;
      logits.forEach((l, j) => {
        const m = Math.max(...l);
        const lse = m + Math.log(l.reduce((s, v) => s + Math.exp(v - m), 0));
        want += lse - l[labels[rows[j]]];
      });
      want /= rows.length;
      const loss = classifierLoss(labels, 10)(net, batch, { step: 0, seed: 0, rng: new Rng(0, 't') });
      expect(loss.rank).toBe(0);
      expect(loss.dataSync()[0]).toBeCloseTo(want, 5);
      loss.dispose();
      expect(() => classifierLoss(labels, 10)(net, { x, indices: [0, 1, 2, 3] }, { step: 0, seed: 0, rng: new Rng(0, 't') })).toThrow(/no dataset rows/);
    } finally {
      x.dispose();
      net.dispose();
    }
  });
});

describe('classifierAccuracy', () => {
  it('a classifier that always says 3 is right exactly on the 3s', () => {
    const net = new MnistClassifier(SMALL, new Rng(6, 'acc'));
    const bias = net.stateDict().get('head.bias');
    if (!bias) throw new Error('no head.bias');
    const b = tf.tensor1d([0, 0, 0, 1e4, 0, 0, 0, 0, 0, 0]);
    bias.assign(b);
    b.dispose();
    // 23 digits; class 7 absent; the 3s are at i = 0, 4, 10, 14, 20.
    const cycle = [3, 0, 1, 2, 3, 4, 5, 6, 8, 9];
    const size = 23;
    const labels = Int32Array.from({ length: size }, (_, i) => cycle[i % 10]);
    const data = Float32Array.from({ length: size * 784 }, (_, i) => Math.sin(i * 0.37));
    const ds: ArrayDataset = { name: 'fake', sampleShape: [28, 28, 1], size, data, labels };
    try {
      expect(net.training).toBe(true);
      const before = tf.memory().numTensors;
      const acc = classifierAccuracy(net, ds, 5);
      expect(tf.memory().numTensors).toBe(before);
      expect(net.training).toBe(true); // restored
      expect(acc.count).toBe(23);
      expect(acc.accuracy).toBeCloseTo(5 / 23, 12);
      expect(acc.perClass).toHaveLength(10);
      acc.perClass.forEach((p, k) => {
        if (k === 3) expect(p).toBe(1);
        else if (k === 7) expect(p).toBeNaN();
        else expect(p).toBe(0);
      });
      expect(() => classifierAccuracy(net, { ...ds, labels: undefined })).toThrow(/fake has no labels/);
    } finally {
      net.dispose();
    }
  });
});
