import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CIFAR10_FILES, CIFAR10_RECORD_BYTES, loadCifar10Binary, locateCifar10Binary, parseCifar10Records } from './cifar10';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffpress-cifar-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A record whose pixels are all `fill`, with the given (channel, row, column) = value overrides. */
function record(label: number, fill: number, set: Array<[number, number, number, number]> = []): Uint8Array {
  const r = new Uint8Array(CIFAR10_RECORD_BYTES).fill(fill);
  r[0] = label;
  // Planar layout: byte 1 + c·1024 + y·32 + x.
  for (const [c, y, x, v] of set) r[1 + c * 1024 + y * 32 + x] = v;
  return r;
}
const concat = (...rs: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(rs));
/** Index of (sample, y, x, c) in the NHWC output. */
const at = (n: number, y: number, x: number, c: number): number => ((n * 32 + y) * 32 + x) * 3 + c;

describe('parseCifar10Records', () => {
  it('transposes the planar record to HWC and scales by x/127.5 − 1', () => {
    const bytes = concat(
      record(3, 0, [
        [0, 0, 0, 255], // R at (0, 0)
        [1, 0, 1, 51], // G at (0, 1)
        [2, 31, 31, 204], // B at (31, 31)
        [0, 5, 7, 255], // R at (5, 7)
        [2, 5, 7, 255], // B at (5, 7)
      ]),
      record(9, 255, [[1, 31, 0, 0]]), // G at (31, 0)
    );
    const ds = parseCifar10Records(bytes, '/data/cifar/data_batch_1.bin');
    expect(ds.name).toBe('cifar10/data_batch_1');
    expect(ds.sampleShape).toEqual([32, 32, 3]);
    expect(ds.size).toBe(2);
    expect(Array.from(ds.labels ?? [])).toEqual([3, 9]);
    expect(ds.data).toHaveLength(2 * 3072);
    // 0 → −1, 255 → 1, 51 → −0.6, 204 → 0.6.
    expect(ds.data[at(0, 0, 0, 0)]).toBe(1);
    expect(ds.data[at(0, 0, 0, 1)]).toBe(-1);
    expect(ds.data[at(0, 0, 1, 1)]).toBeCloseTo(-0.6, 6);
    expect(ds.data[at(0, 0, 1, 0)]).toBe(-1);
    expect(ds.data[at(0, 31, 31, 2)]).toBeCloseTo(0.6, 6);
    expect([0, 1, 2].map((c) => ds.data[at(0, 5, 7, c)])).toEqual([1, -1, 1]);
    // Everything else in sample 0 is −1: the five set values are the only ones above it.
    expect(Array.from(ds.data.subarray(0, 3072)).filter((v) => v > -1)).toHaveLength(5);
    expect(ds.data[at(1, 31, 0, 1)]).toBe(-1);
    expect(ds.data[at(1, 31, 0, 0)]).toBe(1);
    expect(Array.from(ds.data.subarray(3072)).filter((v) => v < 1)).toHaveLength(1);

    const one = parseCifar10Records(bytes, 'x.bin', { limit: 1, name: 'tiny' });
    expect([one.name, one.size, one.data.length]).toEqual(['tiny', 1, 3072]);
  });

  it('rejects truncated files (saying the size and record size), empty files and bad labels', () => {
    const two = concat(record(0, 0), record(1, 0));
    expect(() => parseCifar10Records(two.subarray(0, 6000), 'cut.bin')).toThrow(
      'cut.bin: 6000 bytes is not a whole number of CIFAR-10 records of 3073 bytes (1 label byte + 3072 pixel bytes; ' +
        '1 records and 2927 bytes left over): truncated or not a CIFAR-10 binary file',
    );
    expect(() => parseCifar10Records(new Uint8Array(3074 * 2), 'c100.bin')).toThrow(/fits CIFAR-100 records/);
    expect(() => parseCifar10Records(new Uint8Array(0), 'empty.bin')).toThrow('empty.bin: empty file, no CIFAR-10 records');
    expect(() => parseCifar10Records(concat(record(2, 0), record(10, 0)), 'bad.bin')).toThrow(
      'bad.bin: record 1 (byte offset 3073) has label byte 10, expected 0–9',
    );
    expect(() => parseCifar10Records(two, 'x.bin', { limit: -1 })).toThrow(/limit/);
  });
});

describe('loadCifar10Binary', () => {
  /** Writes every split file; train file k holds records with labels k−1 and k, the test file label 7. */
  function writeAll(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    CIFAR10_FILES.train.forEach((f, k) => fs.writeFileSync(path.join(dir, f), concat(record(k, 10 * k), record(k + 1, 10 * k + 5))));
    fs.writeFileSync(path.join(dir, CIFAR10_FILES.test[0]), record(7, 255));
  }

  it('reads a split from a folder in file order, honouring limit', () => {
    writeAll(tmp);
    const train = loadCifar10Binary(tmp);
    expect(train.name).toBe('cifar10/train');
    expect(train.size).toBe(10);
    expect(Array.from(train.labels ?? [])).toEqual([0, 1, 1, 2, 2, 3, 3, 4, 4, 5]);
    // Record 3 (file 2, second record) is filled with 15 → 15/127.5 − 1.
    expect(train.data[at(3, 10, 20, 1)]).toBeCloseTo(15 / 127.5 - 1, 6);
    const part = loadCifar10Binary(tmp, { limit: 3 });
    expect(Array.from(part.labels ?? [])).toEqual([0, 1, 1]);
    expect(Array.from(part.data)).toEqual(Array.from(train.data.subarray(0, 3 * 3072)));
    const test = loadCifar10Binary(tmp, { split: 'test' });
    expect([test.name, test.size, test.labels?.[0], test.data[0]]).toEqual(['cifar10/test', 1, 7, 1]);
  });

  it('finds the unpacked cifar-10-batches-bin folder and reads single files', () => {
    const nested = path.join(tmp, 'cifar-10-batches-bin');
    writeAll(nested);
    expect(loadCifar10Binary(tmp, { split: 'test' }).size).toBe(1);
    const file = path.join(nested, 'data_batch_3.bin');
    const one = loadCifar10Binary(file);
    expect([one.name, one.size, Array.from(one.labels ?? [])]).toEqual(['cifar10/data_batch_3', 2, [2, 3]]);
    expect(() => loadCifar10Binary(file, { split: 'train' })).toThrow(`CIFAR-10: split 'train' applies to a folder, but ${file} is a file`);
  });

  it('names missing paths and missing or truncated split files', () => {
    const nowhere = path.join(tmp, 'nowhere');
    expect(() => loadCifar10Binary(nowhere)).toThrow(`CIFAR-10: no such file or folder: ${nowhere}`);
    writeAll(tmp);
    fs.rmSync(path.join(tmp, 'data_batch_4.bin'));
    expect(() => loadCifar10Binary(tmp)).toThrow(
      `CIFAR-10: ${tmp} lacks the train file(s) data_batch_4.bin (expected data_batch_1.bin, data_batch_2.bin, ` +
        'data_batch_3.bin, data_batch_4.bin, data_batch_5.bin)',
    );
    const test = path.join(tmp, 'test_batch.bin');
    fs.writeFileSync(test, new Uint8Array(100));
    expect(() => loadCifar10Binary(tmp, { split: 'test' })).toThrow(`${test}: 100 bytes is not a whole number of CIFAR-10 records`);
  });

  it('locateCifar10Binary counts the records of the files a path stands for, reading none of them', () => {
    writeAll(tmp);
    expect(locateCifar10Binary(tmp)).toEqual({ files: CIFAR10_FILES.train.map((f) => path.join(tmp, f)), records: [2, 2, 2, 2, 2], split: 'train' });
    const file = path.join(tmp, 'test_batch.bin');
    expect(locateCifar10Binary(file)).toEqual({ files: [file], records: [1] });
    fs.writeFileSync(file, new Uint8Array(0));
    expect(() => locateCifar10Binary(file)).toThrow(`${file}: empty file, no CIFAR-10 records`);
  });
});
