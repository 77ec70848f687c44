import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rng } from '@diffpress/core';
import { ArrayDataset } from './dataset';
import { MNIST_SPLIT_SEED, MNIST_TEST_FRACTION, defaultMnistDigitsDir, loadMnist } from './mnist';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const PIXELS = 784;
/** Digits per class in the `mnist` package (1 001 zeros … 978 nines). */
const CLASS_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
/**
 * round(0.2·count): 200.2 → 200, 225.4 → 225, 198.2 → 198, 206.4 → 206, 196 → 196, 172.6 → 173, 202.8 → 203,
 * 214 → 214, 188.8 → 189, 195.6 → 196; total 2 000.
 */
const TEST_COUNTS = [200, 225, 198, 206, 196, 173, 203, 214, 189, 196];

function classCounts(labels: Int32Array | undefined): number[] {
  const c = new Array<number>(10).fill(0);
  labels?.forEach((l) => c[l]++);
  return c;
}

/** Bitwise equality of two typed arrays (jest's toEqual walks 7.8 M elements far too slowly). */
function sameBytes(a: ArrayBufferView | undefined, b: ArrayBufferView | undefined): boolean {
  if (!a || !b) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function rowEquals(a: ArrayDataset, i: number, b: ArrayDataset, j: number): boolean {
  if (j >= b.size || a.labels?.[i] !== b.labels?.[j]) return false;
  for (let k = 0; k < PIXELS; k++) if (a.data[i * PIXELS + k] !== b.data[j * PIXELS + k]) return false;
  return true;
}

describe('loadMnist (the mnist package)', () => {
  let all: ArrayDataset;
  let train: ArrayDataset;
  let test: ArrayDataset;
  /** Indices into `all` of the train and test rows, recovered by matching data (both splits are in file order). */
  const trainIdx: number[] = [];
  const testIdx: number[] = [];
  let ambiguous = 0;
  let unmatched = 0;

  beforeAll(() => {
    all = loadMnist({ split: 'all' });
    train = loadMnist(); // default split: train
    test = loadMnist({ split: 'test' });
    // Merge walk: each row of `all`, in order, must be the next train row or the next test row.
    for (let i = 0; i < all.size; i++) {
      const inTrain = rowEquals(all, i, train, trainIdx.length);
      const inTest = rowEquals(all, i, test, testIdx.length);
      if (inTrain && inTest) ambiguous++;
      if (inTrain) trainIdx.push(i);
      else if (inTest) testIdx.push(i);
      else unmatched++;
    }
  });

  it('has the documented sizes and shapes', () => {
    expect([all.size, train.size, test.size]).toEqual([10000, 8000, 2000]);
    for (const ds of [all, train, test]) {
      expect(ds.sampleShape).toEqual([28, 28, 1]);
      expect(ds.data.length).toBe(ds.size * PIXELS);
      expect(ds.labels?.length).toBe(ds.size);
    }
    expect([all.name, train.name, test.name]).toEqual(['mnist/all', 'mnist/train', 'mnist/test']);
  });

  it('holds the class counts of the package files, in file order', () => {
    expect(classCounts(all.labels)).toEqual(CLASS_COUNTS);
    // 'all' is in file order: labels sorted, 1 001 zeros first.
    const labels = all.labels as Int32Array;
    let descents = 0;
    for (let i = 1; i < all.size; i++) if (labels[i] < labels[i - 1]) descents++;
    expect(descents).toBe(0);
    expect(labels[1000]).toBe(0);
    expect(labels[1001]).toBe(1);
  });

  it('stratifies the test split: round(0.2·count) per class', () => {
    expect(MNIST_TEST_FRACTION).toBe(0.2);
    expect(CLASS_COUNTS.map((c) => Math.round(0.2 * c))).toEqual(TEST_COUNTS);
    expect(classCounts(test.labels)).toEqual(TEST_COUNTS);
    expect(classCounts(train.labels)).toEqual(CLASS_COUNTS.map((c, d) => c - TEST_COUNTS[d]));
  });

  it('partitions all: train ∩ test = ∅, train ∪ test = all, each in file order', () => {
    expect(ambiguous).toBe(0);
    expect(unmatched).toBe(0);
    expect(trainIdx).toHaveLength(8000);
    expect(testIdx).toHaveLength(2000);
    const union = new Set([...trainIdx, ...testIdx]);
    expect(union.size).toBe(10000);
  });

  it('is the documented split: per class, the first round(0.2·n) of Rng(seed, mnist-split/<d>).permutation(n)', () => {
    expect(MNIST_SPLIT_SEED).toBe(20240601);
    const expected: number[] = [];
    let start = 0;
    CLASS_COUNTS.forEach((count, digit) => {
      const perm = new Rng(MNIST_SPLIT_SEED, `mnist-split/${digit}`).permutation(count);
      for (let rank = 0; rank < TEST_COUNTS[digit]; rank++) expected.push(start + perm[rank]);
      start += count;
    });
    expect(testIdx).toEqual(expected.sort((a, b) => a - b));
  });

  it('scales pixels from [0, 1] to [−1, 1]', () => {
    let min = Infinity;
    let max = -Infinity;
    let background = 0;
    const d = all.data;
    for (let k = 0; k < d.length; k++) {
      const v = d[k];
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === -1) background++;
    }
    // Background pixels are 0 in the files → 2·0 − 1 = −1; full ink 1 → 1.
    expect(min).toBe(-1);
    expect(max).toBe(1);
    // Most of a digit image is background.
    expect(background / d.length).toBeGreaterThan(0.5);
  });

  it('matches the raw package file for a sample by hand: x = 2·p − 1', () => {
    const raw = JSON.parse(fs.readFileSync(path.join(defaultMnistDigitsDir(), '1.json'), 'utf8')) as { data: number[] };
    // The first 1 is sample 1001 of 'all', pixels 0 … 783 of 1.json.
    let worst = 0;
    for (let k = 0; k < PIXELS; k++) worst = Math.max(worst, Math.abs(all.data[1001 * PIXELS + k] - (2 * raw.data[k] - 1)));
    expect(worst).toBeLessThan(1e-6);
    // The image has ink: some pixel differs from the background.
    expect(raw.data.slice(0, PIXELS).some((v) => v > 0)).toBe(true);
  });

  it('is deterministic across calls', () => {
    const again = loadMnist({ split: 'train' });
    expect(again).not.toBe(train); // a fresh copy…
    expect(again.data).not.toBe(train.data);
    expect(sameBytes(again.data, train.data)).toBe(true); // …with identical contents
    expect(sameBytes(again.labels, train.labels)).toBe(true);
    const testAgain = loadMnist({ split: 'test' });
    expect(sameBytes(testAgain.data, test.data)).toBe(true);
    expect(sameBytes(testAgain.labels, test.labels)).toBe(true);
    expect(sameBytes(loadMnist({ split: 'all' }).data, all.data)).toBe(true);
    // sameBytes does detect a difference.
    expect(sameBytes(train.data, test.data.subarray(0, 10))).toBe(false);
  });

  it('rejects an unknown split', () => {
    expect(() => loadMnist({ split: 'val' as never })).toThrow("MNIST: split must be 'train', 'test' or 'all', got 'val'");
  });
});

describe('loadMnist (custom folders)', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-spec-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `d.json` with `count` digits whose pixel k of digit i is ((i + k) mod 5)/4 ∈ {0, 0.25, …, 1}. */
  function writeDigit(d: number, count: number): void {
    const data = Array.from({ length: count * PIXELS }, (_, n) => ((Math.floor(n / PIXELS) + (n % PIXELS)) % 5) / 4);
    fs.writeFileSync(path.join(dir, `${d}.json`), JSON.stringify({ data }));
  }

  it('reports a missing folder', () => {
    expect(() => loadMnist({ digitsDir: '/nonexistent' })).toThrow('MNIST: no such folder: /nonexistent');
  });

  it('reports a malformed JSON file', () => {
    fs.writeFileSync(path.join(dir, '0.json'), '{"data": [0, 0.5,');
    expect(() => loadMnist({ digitsDir: dir })).toThrow(/^MNIST: .*0\.json is not valid JSON \(/);
  });

  it('reports a file without a data array of whole images', () => {
    fs.writeFileSync(path.join(dir, '0.json'), JSON.stringify({ data: [0, 1, 0.5] }));
    expect(() => loadMnist({ digitsDir: dir })).toThrow(/0\.json must hold \{"data": \[\.\.\.\]\} with a multiple of 784 values/);
    fs.writeFileSync(path.join(dir, '0.json'), JSON.stringify({ pixels: [] }));
    expect(() => loadMnist({ digitsDir: dir })).toThrow(/multiple of 784 values/);
    fs.writeFileSync(path.join(dir, '0.json'), JSON.stringify({ data: [] }));
    expect(() => loadMnist({ digitsDir: dir })).toThrow(/multiple of 784 values/);
  });

  it('reports a missing digit file', () => {
    writeDigit(0, 1);
    expect(() => loadMnist({ digitsDir: dir })).toThrow(`MNIST: missing digit file ${path.join(dir, '1.json')}`);
  });

  it('loads a small folder: scaling and a 1-per-class test split by hand', () => {
    // 5 digits per class: round(0.2·5) = 1 test digit per class → 10 test, 40 train.
    for (let d = 0; d < 10; d++) writeDigit(d, 5);
    const small = loadMnist({ digitsDir: dir, split: 'all' });
    expect(small.size).toBe(50);
    expect(classCounts(small.labels)).toEqual(new Array(10).fill(5));
    // Pixel k of the 3rd digit (i = 2) of class 0: p = ((2 + k) mod 5)/4 → x = 2p − 1 = ((2 + k) mod 5)/2 − 1.
    for (const k of [0, 1, 2, 3, 4, 783]) expect(small.data[2 * PIXELS + k]).toBe(((2 + k) % 5) / 2 - 1);
    const smallTest = loadMnist({ digitsDir: dir, split: 'test' });
    const smallTrain = loadMnist({ digitsDir: dir, split: 'train' });
    expect([smallTrain.size, smallTest.size]).toEqual([40, 10]);
    expect(classCounts(smallTest.labels)).toEqual(new Array(10).fill(1));
    // The held-out digit of class d is perm[0] of Rng(seed, 'mnist-split/d').permutation(5): its first pixel is
    // ((perm[0] + 0) mod 5)/2 − 1.
    for (let d = 0; d < 10; d++) {
      const first = new Rng(MNIST_SPLIT_SEED, `mnist-split/${d}`).permutation(5)[0];
      expect(smallTest.data[d * PIXELS]).toBe((first % 5) / 2 - 1);
    }
  });
});
