import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { decodePng, encodePng, imageGrid, isPng, pngInfo, writeImageGrid } from './png';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffpress-png-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A PNG of any pngjs-supported kind, written by pngjs directly (not by encodePng) to test decoding independently. */
function pngjsFile(rgba: number[], width: number, height: number, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16 = 8): Buffer {
  const png = new PNG({ width, height });
  if (bitDepth === 16) {
    // pngjs's 16-bit input is native-endian uint16 RGBA.
    png.data = Buffer.from(new Uint16Array(rgba.map((v) => v * 257)).buffer);
  } else {
    png.data = Buffer.from(rgba);
  }
  return PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
}

/** CRC-32 (PNG's chunk checksum), bitwise: slow but obviously right. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** An 8-bit palette PNG (colour type 3) built by hand, since pngjs cannot write one. */
function palettePng(indices: number[][], palette: Array<[number, number, number]>): Buffer {
  const height = indices.length;
  const width = indices[0].length;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 3, 0, 0, 0], 8); // depth 8, colour type 3, deflate, adaptive filtering, no interlace
  // Each scanline starts with filter type 0 (none).
  const raw = Buffer.from(indices.flatMap((row) => [0, ...row]));
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('PLTE', Buffer.from(palette.flat())),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('decodePng / encodePng', () => {
  it('expands palette files to 3 channels', () => {
    const d = decodePng(palettePng([[1, 0], [0, 2]], [[1, 2, 3], [40, 50, 60], [255, 0, 128]]), 'pal.png');
    expect([d.width, d.height, d.channels]).toEqual([2, 2, 3]);
    expect(Array.from(d.data)).toEqual([40, 50, 60, 1, 2, 3, 1, 2, 3, 255, 0, 128]);
  });


  it('round-trips gray, RGB and RGBA pixels exactly and reports the stored channels', () => {
    const gray = new Uint8Array([0, 1, 127, 128, 254, 255]);
    const g = decodePng(encodePng(gray, 3, 2, 1));
    expect([g.width, g.height, g.channels]).toEqual([3, 2, 1]);
    expect(Array.from(g.data)).toEqual(Array.from(gray));

    const rgb = new Uint8Array([10, 20, 30, 40, 50, 60]);
    const c = decodePng(encodePng(rgb, 1, 2, 3));
    expect([c.width, c.height, c.channels]).toEqual([1, 2, 3]);
    expect(Array.from(c.data)).toEqual([10, 20, 30, 40, 50, 60]);

    // RGBA: alpha is dropped by default and kept with channels: 4.
    const rgba = new Uint8Array([10, 20, 30, 0, 40, 50, 60, 200]);
    const bytes = encodePng(rgba, 2, 1, 4);
    expect(Array.from(decodePng(bytes).data)).toEqual([10, 20, 30, 40, 50, 60]);
    const kept = decodePng(bytes, 'x', { channels: 4 });
    expect(kept.channels).toBe(4);
    expect(Array.from(kept.data)).toEqual([10, 20, 30, 0, 40, 50, 60, 200]);
  });

  it('converts RGB → gray by rounded BT.601 luma and gray → RGB/RGBA by repetition', () => {
    // 0.299·200 + 0.587·100 + 0.114·50 = 59.8 + 58.7 + 5.7 = 124.2 → 124;
    // 0.299·255 + 0.587·0 + 0.114·0 = 76.245 → 76; 0.299·0 + 0.587·0 + 0.114·255 = 29.07 → 29;
    // (1, 2, 2): 0.299 + 1.174 + 0.228 = 1.701 → 2.
    const rgb = new Uint8Array([200, 100, 50, 255, 0, 0, 0, 0, 255, 1, 2, 2]);
    const g = decodePng(encodePng(rgb, 4, 1, 3), 'rgb', { channels: 1 });
    expect(g.channels).toBe(1);
    expect(Array.from(g.data)).toEqual([124, 76, 29, 2]);

    const gray = encodePng(new Uint8Array([7, 250]), 2, 1, 1);
    expect(Array.from(decodePng(gray, 'g', { channels: 3 }).data)).toEqual([7, 7, 7, 250, 250, 250]);
    expect(Array.from(decodePng(gray, 'g', { channels: 4 }).data)).toEqual([7, 7, 7, 255, 250, 250, 250, 255]);
  });

  it('decodes gray+alpha as 1 channel and 16-bit files rescaled to 8 bits', () => {
    const ga = pngjsFile([9, 9, 9, 128, 200, 200, 200, 255], 2, 1, 4);
    const d = decodePng(ga);
    expect(d.channels).toBe(1);
    expect(Array.from(d.data)).toEqual([9, 200]);

    // 16-bit RGB storing v·257 reads back as v.
    const deep = decodePng(pngjsFile([0, 128, 255, 255, 3, 4, 5, 255], 2, 1, 2, 16));
    expect(deep.channels).toBe(3);
    expect(Array.from(deep.data)).toEqual([0, 128, 255, 3, 4, 5]);
  });

  it('rejects non-PNG bytes naming the source, corrupt PNGs, and mismatched sizes', () => {
    expect(isPng(new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]))).toBe(true);
    expect(isPng(new Uint8Array([137, 80, 78]))).toBe(false);
    expect(() => decodePng(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]), 'photos/cat.png')).toThrow(
      /photos\/cat\.png: not a PNG file \(its first bytes are \[ff d8 ff e0\]/,
    );
    expect(() => decodePng(new Uint8Array(0), 'empty.png')).toThrow('empty.png: not a PNG file (the file is empty)');
    const good = encodePng(new Uint8Array(16).fill(3), 4, 4, 1);
    expect(() => decodePng(good.subarray(0, 30), 'cut.png')).toThrow(/^cut\.png: cannot decode PNG/);

    expect(() => encodePng(new Uint8Array(5), 2, 2, 1)).toThrow('encodePng: 5 values for a 2 × 2 × 1 image (expected 4)');
    expect(() => encodePng(new Uint8Array(0), 0, 2, 1)).toThrow(/positive integers/);
    expect(() => encodePng(new Uint8Array(4), 2, 1, 2 as 1)).toThrow(/channels must be 1, 3 or 4/);
    expect(() => decodePng(good, 'g', { channels: 2 as 1 })).toThrow(/channels must be 1, 3 or 4/);
  });
});

describe('pngInfo', () => {
  it('reads size and default channels from the header alone', () => {
    const rgb = encodePng(new Uint8Array(2 * 3 * 3), 3, 2, 3);
    expect(pngInfo(rgb.subarray(0, 33), 'x.png')).toEqual({ width: 3, height: 2, channels: 3 });
    expect(pngInfo(encodePng(new Uint8Array(5 * 4 * 4), 4, 5, 4))).toEqual({ width: 4, height: 5, channels: 3 });
    expect(pngInfo(encodePng(new Uint8Array(7), 7, 1, 1))).toEqual({ width: 7, height: 1, channels: 1 });
  });

  it('names the file when the bytes are not a PNG or the header is cut off', () => {
    expect(() => pngInfo(new Uint8Array(0), 'e.png')).toThrow('e.png: not a PNG file (the file is empty)');
    expect(() => pngInfo(Buffer.from('GIF89a....'), 'g.png')).toThrow(/g\.png: not a PNG file/);
    const cut = encodePng(new Uint8Array(4), 2, 2, 1).subarray(0, 20);
    expect(() => pngInfo(cut, 'c.png')).toThrow('c.png: cannot decode PNG: the file does not start with an IHDR chunk');
  });
});

describe('imageGrid', () => {
  it('maps [−1, 1] to round((x + 1)·127.5) with clamping, NaN → 0', () => {
    const values = [-1, 1, 0, -2, 2, 0.5, -0.5, NaN];
    const grid = imageGrid(new Float32Array(values), { shape: [1, 1, 8, 1], padding: 0 });
    // 0 → 127.5 → 128 (round half up); 0.5 → 191.25 → 191; −0.5 → 63.75 → 64.
    expect(Array.from(grid.data)).toEqual([0, 255, 128, 0, 255, 191, 64, 0]);
  });

  it('tiles row-major with padding around and between images, empty cells and padding at padValue', () => {
    // Three 1×2 gray images, 2 columns, padding 1: width = 2·(2+1)+1 = 7, height = 2·(1+1)+1 = 5.
    const imgs = tf.tensor4d([-1, -1, 0, 0, 1, 1], [3, 1, 2, 1]);
    const grid = imageGrid(imgs, { cols: 2, padding: 1, padValue: -1 });
    expect([grid.width, grid.height, grid.channels]).toEqual([7, 5, 1]);
    const B = 0;
    const M = 128;
    const W = 255;
    // prettier-ignore
    expect(Array.from(grid.data)).toEqual([
      B, B, B, B, B, B, B,
      B, B, B, B, M, M, B,
      B, B, B, B, B, B, B,
      B, W, W, B, B, B, B,
      B, B, B, B, B, B, B,
    ]);
    // The caller's tensor is read, not disposed.
    expect(imgs.isDisposed).toBe(false);
    imgs.dispose();
  });

  it('defaults to ⌈√n⌉ columns, 2 px white padding, keeps RGB, and accepts dataset-like input', () => {
    // Five 2×2 RGB images → 3 columns, 2 rows: width 3·4+2 = 14, height 2·4+2 = 10.
    const data = new Float32Array(5 * 2 * 2 * 3);
    for (let i = 0; i < 5; i++) data.fill(i / 4 - 1 + 0.25 * (i % 2), i * 12, (i + 1) * 12);
    const grid = imageGrid({ data, sampleShape: [2, 2, 3] });
    expect([grid.width, grid.height, grid.channels]).toEqual([14, 10, 3]);
    const px = (x: number, y: number): number[] => Array.from(grid.data.subarray((y * 14 + x) * 3, (y * 14 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([255, 255, 255]);
    // Image 4 sits at row 1, column 1: top-left pixel (2 + 4, 2 + 4); value 4/4 − 1 + 0 = 0 → 128.
    expect(px(6, 6)).toEqual([128, 128, 128]);
    // Image 1 at row 0, column 1: (6, 2); value 1/4 − 1 + 0.25 = −0.5 → 64.
    expect(px(6, 2)).toEqual([64, 64, 64]);
    // The empty sixth cell is padding.
    expect(px(10, 6)).toEqual([255, 255, 255]);
  });

  it('rejects malformed batches and options', () => {
    expect(() => imageGrid(new Float32Array(4))).toThrow(/needs options\.shape/);
    expect(() => imageGrid(new Float32Array(4), { shape: [1, 2, 3, 1] })).toThrow(/4 values do not fill shape \[1, 2, 3, 1\]/);
    const t = tf.zeros([2, 2, 2]);
    expect(() => imageGrid(t)).toThrow(/\[n, h, w, c\], got shape \[2, 2, 2\]/);
    t.dispose();
    expect(() => imageGrid(new Float32Array(8), { shape: [1, 2, 2, 2] })).toThrow(/1, 3 or 4 channels, got 2/);
    expect(() => imageGrid(new Float32Array(4), { shape: [1, 2, 2, 1], padValue: 3 })).toThrow(/padValue/);
    expect(() => imageGrid(new Float32Array(4), { shape: [1, 2, 2, 1], cols: 0 })).toThrow(/cols/);
    expect(() => imageGrid({ data: new Float32Array(5), sampleShape: [2, 2, 1] })).toThrow(/whole number/);
  });
});

describe('writeImageGrid', () => {
  it('creates the folders, writes a decodable PNG and leaves no temp file', () => {
    const file = path.join(tmp, 'a', 'b', 'grid.png');
    const imgs = tf.tensor4d([-1, 1, 1, -1], [1, 2, 2, 1]);
    const grid = writeImageGrid(file, imgs, { padding: 0 });
    imgs.dispose();
    const back = decodePng(fs.readFileSync(file), file);
    expect([back.width, back.height, back.channels]).toEqual([2, 2, 1]);
    expect(Array.from(back.data)).toEqual([0, 255, 255, 0]);
    expect(Array.from(grid.data)).toEqual([0, 255, 255, 0]);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['grid.png']);
    expect(tf.memory().numTensors).toBe(0);
  });
});
