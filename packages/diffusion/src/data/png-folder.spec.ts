import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { encodePng } from './png';
import { listPngFolder, loadPngFolder } from './png-folder';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffpress-pngfolder-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Writes `rel` under the temp folder (creating folders) with raw bytes or a PNG of the given pixels. */
function put(rel: string, content: Buffer): string {
  const file = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}
const gray = (h: number, w: number, values: number[]): Buffer => encodePng(new Uint8Array(values), w, h, 1);
const rgb = (h: number, w: number, values: number[]): Buffer => encodePng(new Uint8Array(values), w, h, 3);
const arr = (a: ArrayLike<number>): number[] => Array.from(a);

describe('loadPngFolder', () => {
  it('reads gray PNGs in name order as NHWC in [−1, 1] by x/127.5 − 1', () => {
    // Written out of order; code-unit order puts 'B' before 'a' and '10' before '2'.
    put('a.png', gray(1, 2, [255, 0]));
    put('B.png', gray(1, 2, [51, 204]));
    put('img10.png', gray(1, 2, [127, 128]));
    put('img2.png', gray(1, 2, [1, 254]));
    const ds = loadPngFolder(tmp);
    expect(ds.files).toEqual(['B.png', 'a.png', 'img10.png', 'img2.png']);
    expect(ds.sampleShape).toEqual([1, 2, 1]);
    expect(ds.size).toBe(4);
    expect(ds.labels).toBeUndefined();
    expect(ds.name).toBe(`png/${path.basename(tmp)}`);
    // 51/127.5 − 1 = −0.6, 204/127.5 − 1 = 0.6, 127/127.5 − 1 = −1/255, 128/127.5 − 1 = 1/255,
    // 1/127.5 − 1 = 2/255 − 1 = −253/255 and 254/127.5 − 1 = 253/255.
    const want = [-0.6, 0.6, 1, -1, -1 / 255, 1 / 255, -253 / 255, 253 / 255];
    arr(ds.data).forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    expect(ds.data[2]).toBe(1);
    expect(ds.data[3]).toBe(-1);
  });

  it('takes channels from the first image and converts the others; honours an explicit channels option', () => {
    put('0.png', rgb(1, 1, [255, 0, 0]));
    put('1.png', gray(1, 1, [102]));
    const ds = loadPngFolder(tmp);
    expect(ds.sampleShape).toEqual([1, 1, 3]);
    // Gray 102 repeated: 102/127.5 − 1 = −0.2.
    arr(ds.data).forEach((v, i) => expect(v).toBeCloseTo([1, -1, -1, -0.2, -0.2, -0.2][i], 6));
    const g = loadPngFolder(tmp, { channels: 1 });
    expect(g.sampleShape).toEqual([1, 1, 1]);
    // Pure red → luma round(0.299·255) = 76 → 76/127.5 − 1.
    expect(g.data[0]).toBeCloseTo(76 / 127.5 - 1, 6);
    expect(g.data[1]).toBeCloseTo(-0.2, 6);
  });

  it('labels from sorted class subfolders, reading subfolders only when recursive', () => {
    put('dog/x.png', gray(1, 1, [0]));
    put('cat/b.png', gray(1, 1, [255]));
    put('cat/a.png', gray(1, 1, [255]));
    put('cat/deeper/c.png', gray(1, 1, [255]));
    const ds = loadPngFolder(tmp, { labelsFromSubfolders: true, name: 'pets' });
    expect(ds.name).toBe('pets');
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(ds.files).toEqual(['cat/a.png', 'cat/b.png', 'dog/x.png']);
    expect(arr(ds.labels ?? [])).toEqual([0, 0, 1]);
    const deep = loadPngFolder(tmp, { labelsFromSubfolders: true, recursive: true });
    expect(deep.files).toEqual(['cat/a.png', 'cat/b.png', 'cat/deeper/c.png', 'dog/x.png']);
    expect(arr(deep.labels ?? [])).toEqual([0, 0, 0, 1]);

    // Without labels: non-recursive ignores the subfolders entirely, so this folder has no PNGs.
    expect(() => loadPngFolder(tmp)).toThrow(`${tmp}: no PNG files (subfolders are not read; set recursive: true)`);
    expect(loadPngFolder(tmp, { recursive: true }).files).toEqual(['cat/a.png', 'cat/b.png', 'cat/deeper/c.png', 'dog/x.png']);
  });

  it('skips hidden files; other files are an error naming them unless ignoreOther', () => {
    put('a.png', gray(1, 1, [0]));
    put('.DS_Store', Buffer.from('junk'));
    put('.cache/z.png', Buffer.from('junk'));
    expect(loadPngFolder(tmp, { recursive: true }).files).toEqual(['a.png']);
    put('notes.txt', Buffer.from('hello'));
    expect(() => loadPngFolder(tmp)).toThrow(`${tmp}: 1 file(s) are not PNGs (notes.txt); remove them or set ignoreOther: true`);
    expect(loadPngFolder(tmp, { ignoreOther: true }).size).toBe(1);
  });

  it('errors on a missing folder, a file path, an empty folder, and a .png that is not a PNG', () => {
    const missing = path.join(tmp, 'nope');
    expect(() => loadPngFolder(missing)).toThrow(`no such folder: ${missing}`);
    const file = put('a.png', gray(1, 1, [0]));
    expect(() => loadPngFolder(file)).toThrow(`not a folder: ${file}`);
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    expect(() => loadPngFolder(empty)).toThrow(`${empty}: no PNG files`);
    const fake = put('b.png', Buffer.from('GIF89a....'));
    expect(() => loadPngFolder(tmp)).toThrow(`${fake}: not a PNG file`);
  });

  it('errors on images of another size, naming the file, its size and the expected size', () => {
    put('a.png', gray(2, 3, [0, 0, 0, 0, 0, 0]));
    const odd = put('b.png', gray(3, 2, [0, 0, 0, 0, 0, 0]));
    expect(() => loadPngFolder(tmp)).toThrow(
      `${odd}: image is 3 × 2 (height × width), expected 2 × 3 (from ${path.join(tmp, 'a.png')})`,
    );
    expect(() => loadPngFolder(tmp, { size: [3, 2] })).toThrow(
      `${path.join(tmp, 'a.png')}: image is 2 × 3 (height × width), expected 3 × 2 (from options.size)`,
    );
    expect(() => loadPngFolder(tmp, { size: [0, 2] })).toThrow(/size must be \[height, width\]/);
  });

  it('labelsFromSubfolders rejects PNGs at the top level and empty class folders', () => {
    put('cat/a.png', gray(1, 1, [0]));
    fs.mkdirSync(path.join(tmp, 'dog'));
    expect(() => loadPngFolder(tmp, { labelsFromSubfolders: true })).toThrow(`${path.join(tmp, 'dog')}: class folder 'dog' has no PNG files`);
    put('dog/b.png', gray(1, 1, [0]));
    put('stray.png', gray(1, 1, [0]));
    expect(() => loadPngFolder(tmp, { labelsFromSubfolders: true })).toThrow(/PNG files outside a class subfolder \(stray\.png\)/);
  });
});

describe('listPngFolder', () => {
  it('lists the files loadPngFolder reads, in its order and with its labels, opening none of them', () => {
    put('cat/b.png', gray(1, 1, [0]));
    put('cat/a.png', Buffer.from('not decoded, so not noticed'));
    put('dog/c.png', gray(1, 1, [0]));
    expect(listPngFolder(tmp, { labelsFromSubfolders: true })).toEqual({ files: ['cat/a.png', 'cat/b.png', 'dog/c.png'], labels: [0, 0, 1], classNames: ['cat', 'dog'] });
    expect(() => listPngFolder(tmp)).toThrow(`${tmp}: no PNG files (subfolders are not read; set recursive: true)`);
    expect(listPngFolder(tmp, { recursive: true }).files).toEqual(['cat/a.png', 'cat/b.png', 'dog/c.png']);
    expect(() => listPngFolder(path.join(tmp, 'none'))).toThrow(`no such folder: ${path.join(tmp, 'none')}`);
  });
});
