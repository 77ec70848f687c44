import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArrayDataset, validateDataset } from './dataset';

/** Side of a CIFAR-10 image in pixels. */
export const CIFAR10_SIDE = 32;
/** Bytes of one CIFAR-10 binary record: 1 label byte + 3 planes of 32 × 32 pixel bytes (R, then G, then B). */
export const CIFAR10_RECORD_BYTES = 1 + 3 * CIFAR10_SIDE * CIFAR10_SIDE;
/** Class names in label order, as in the dataset's `batches.meta.txt`. */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];
/** Files of each split in the "binary version" archive (`cifar-10-binary.tar.gz`), in the order they are read. */
export const CIFAR10_FILES: Readonly<Record<'train' | 'test', readonly string[]>> = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
};
/** The folder the archive unpacks to; {@link loadCifar10Binary} looks inside it when given its parent. */
const ARCHIVE_FOLDER = 'cifar-10-batches-bin';

/** Options of {@link parseCifar10Records}. */
export interface ParseCifar10Options {
  /** Read at most this many records (non-negative integer; default all). */
  limit?: number;
  /** Dataset name (default `cifar10/<file name without .bin>`). */
  name?: string;
}

/** Options of {@link loadCifar10Binary}. */
export interface LoadCifar10Options {
  /** Which files to read when a folder is given (default `'train'`); not allowed with a file path. */
  split?: 'train' | 'test';
  /** Read at most this many records, in file order (non-negative integer; default all). */
  limit?: number;
  /** Dataset name (default `cifar10/<split>`, or `cifar10/<file name>` for a single file). */
  name?: string;
}

function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new RangeError(`CIFAR-10: limit must be a non-negative integer, got ${limit}`);
  }
}

/** Number of records in a file of `bytes` bytes, or an error explaining why it cannot be CIFAR-10. */
function recordCount(bytes: number, source: string): number {
  if (bytes === 0) throw new Error(`${source}: empty file, no CIFAR-10 records`);
  if (bytes % CIFAR10_RECORD_BYTES !== 0) {
    // CIFAR-100's binary records carry a coarse and a fine label byte, a common mix-up.
    const hint = bytes % (CIFAR10_RECORD_BYTES + 1) === 0 ? '; its size fits CIFAR-100 records (3074 bytes), not CIFAR-10' : '';
    throw new Error(
      `${source}: ${bytes} bytes is not a whole number of CIFAR-10 records of ${CIFAR10_RECORD_BYTES} bytes ` +
        `(1 label byte + 3072 pixel bytes; ${Math.floor(bytes / CIFAR10_RECORD_BYTES)} records and ` +
        `${bytes % CIFAR10_RECORD_BYTES} bytes left over): truncated or not a CIFAR-10 binary file${hint}`,
    );
  }
  return bytes / CIFAR10_RECORD_BYTES;
}

/**
 * Writes `count` records of `bytes` into `data` (from sample `at`) and `labels`: the planar record (all R, all G,
 * all B, each 32 × 32 row-major) is transposed to interleaved HWC and scaled by `x / 127.5 − 1`.
 */
function decodeInto(bytes: Uint8Array, count: number, source: string, data: Float32Array, labels: Int32Array, at: number): void {
  const plane = CIFAR10_SIDE * CIFAR10_SIDE;
  const per = 3 * plane;
  for (let r = 0; r < count; r++) {
    const rec = r * CIFAR10_RECORD_BYTES;
    const label = bytes[rec];
    if (label > 9) throw new Error(`${source}: record ${r} (byte offset ${rec}) has label byte ${label}, expected 0–9`);
    labels[at + r] = label;
    const out = (at + r) * per;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) data[out + 3 * p + c] = bytes[rec + 1 + c * plane + p] / 127.5 - 1;
    }
  }
}

/**
 * Parses the bytes of one CIFAR-10 binary file (`data_batch_k.bin` or `test_batch.bin`) into an
 * {@link ArrayDataset} of `[32, 32, 3]` NHWC images in [−1, 1] with labels 0–9 (see {@link CIFAR10_CLASSES}).
 *
 * @param bytes - The whole file: records of {@link CIFAR10_RECORD_BYTES} bytes.
 * @param source - Name for error messages and the default dataset name, typically the file path.
 * @param options - Record limit and name.
 * @throws Error naming `source` on a size that is not a whole number of records or a label byte above 9.
 *
 * @example
 * ```ts
 * const ds = parseCifar10Records(fs.readFileSync('cifar/test_batch.bin'), 'cifar/test_batch.bin', { limit: 100 });
 * ```
 */
export function parseCifar10Records(bytes: Uint8Array, source: string, options: ParseCifar10Options = {}): ArrayDataset {
  checkLimit(options.limit);
  const available = recordCount(bytes.length, source);
  const size = Math.min(available, options.limit ?? available);
  const data = new Float32Array(size * 3 * CIFAR10_SIDE * CIFAR10_SIDE);
  const labels = new Int32Array(size);
  decodeInto(bytes, size, source, data, labels, 0);
  const name = options.name ?? `cifar10/${path.basename(source).replace(/\.bin$/, '')}`;
  return validateDataset({ name, sampleShape: [CIFAR10_SIDE, CIFAR10_SIDE, 3], size, data, labels });
}

/** The binary files a CIFAR-10 path stands for ({@link locateCifar10Binary}). */
export interface Cifar10Files {
  /** The `.bin` files, in the order they are read. */
  files: string[];
  /** Number of records in each file (from its size). */
  records: number[];
  /** The split read from a folder; undefined for a single file. */
  split?: 'train' | 'test';
}

/**
 * Finds the files {@link loadCifar10Binary} reads for `pathOrDir` and counts their records from their sizes, without
 * reading them: what a recipe check can afford before a run.
 *
 * @throws Error on a missing path or split file (listing which), a file size that is not a whole number of records
 *   (or zero), or `split` with a file path.
 *
 * @example
 * ```ts
 * locateCifar10Binary('data', { split: 'test' }); // { files: ['data/cifar-10-batches-bin/test_batch.bin'], records: [10000], split: 'test' }
 * ```
 */
export function locateCifar10Binary(pathOrDir: string, options: Pick<LoadCifar10Options, 'split'> = {}): Cifar10Files {
  if (!fs.existsSync(pathOrDir)) throw new Error(`CIFAR-10: no such file or folder: ${pathOrDir}`);
  if (!fs.statSync(pathOrDir).isDirectory()) {
    if (options.split !== undefined) {
      throw new Error(`CIFAR-10: split '${options.split}' applies to a folder, but ${pathOrDir} is a file`);
    }
    return { files: [pathOrDir], records: [recordCount(fs.statSync(pathOrDir).size, pathOrDir)] };
  }
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new RangeError(`CIFAR-10: split must be 'train' or 'test', got '${String(split)}'`);
  const names = CIFAR10_FILES[split];
  const nested = path.join(pathOrDir, ARCHIVE_FOLDER);
  const dir = !fs.existsSync(path.join(pathOrDir, names[0])) && fs.existsSync(path.join(nested, names[0])) ? nested : pathOrDir;
  const missing = names.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length > 0) {
    throw new Error(`CIFAR-10: ${dir} lacks the ${split} file(s) ${missing.join(', ')} (expected ${names.join(', ')})`);
  }
  const files = names.map((f) => path.join(dir, f));
  return { files, records: files.map((f) => recordCount(fs.statSync(f).size, f)), split };
}

/**
 * Loads CIFAR-10 from its binary distribution: either one `.bin` file, or a folder holding a split's files
 * ({@link CIFAR10_FILES}: 5 × 10,000 training images, 10,000 test images), or the folder containing the unpacked
 * `cifar-10-batches-bin`. Images are `[32, 32, 3]` NHWC float32 in [−1, 1] (`x / 127.5 − 1`), labels 0–9.
 *
 * @param pathOrDir - A `.bin` file or a folder.
 * @param options - Split, record limit and name.
 * @returns The dataset, records in file order.
 * @throws Error on a missing path or split file (listing which), a malformed file, or `split` with a file path.
 *
 * @example
 * ```ts
 * const train = loadCifar10Binary('data/cifar-10-batches-bin');                  // 50,000 images
 * const test = loadCifar10Binary('data', { split: 'test', limit: 1000 });     // finds data/cifar-10-batches-bin
 * ```
 */
export function loadCifar10Binary(pathOrDir: string, options: LoadCifar10Options = {}): ArrayDataset {
  checkLimit(options.limit);
  // Sizes first, so the output is allocated once and a bad later file fails before the big read.
  const { files, records: counts, split } = locateCifar10Binary(pathOrDir, options);
  if (split === undefined) return parseCifar10Records(fs.readFileSync(pathOrDir), pathOrDir, { limit: options.limit, name: options.name });
  const total = counts.reduce((a, b) => a + b, 0);
  const size = Math.min(total, options.limit ?? total);
  const data = new Float32Array(size * 3 * CIFAR10_SIDE * CIFAR10_SIDE);
  const labels = new Int32Array(size);
  let at = 0;
  for (let i = 0; i < files.length && at < size; i++) {
    const take = Math.min(counts[i], size - at);
    const bytes = fs.readFileSync(files[i]);
    // The file may have changed since it was sized; re-checking keeps the error about the file, not an overrun.
    if (recordCount(bytes.length, files[i]) !== counts[i]) throw new Error(`${files[i]}: changed while being read`);
    decodeInto(bytes, take, files[i], data, labels, at);
    at += take;
  }
  return validateDataset({ name: options.name ?? `cifar10/${split}`, sampleShape: [CIFAR10_SIDE, CIFAR10_SIDE, 3], size, data, labels });
}
