import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { writeFileAtomic } from '@diffpress/core';
import { ArrayDataset } from './dataset';

/** Number of interleaved values per pixel: gray, RGB or RGBA. */
export type PngChannels = 1 | 3 | 4;

/**
 * An 8-bit image with interleaved channels, row-major: the value of channel `c` at row `y`, column `x` is
 * `data[(y · width + x) · channels + c]`.
 */
export interface RawImage {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Values per pixel: 1 (gray), 3 (RGB) or 4 (RGBA). */
  readonly channels: PngChannels;
  /** `height × width × channels` values in 0…255. */
  readonly data: Uint8Array;
}

/** Options of {@link decodePng}. */
export interface DecodePngOptions {
  /**
   * Channels to return, converting when the file stores something else: colour → gray by ITU-R BT.601 luma
   * `round(0.299 R + 0.587 G + 0.114 B)`, gray → RGB by repetition, and 4 keeps (or, for opaque files, adds an
   * opaque) alpha. Default: 1 for gray files (PNG colour types 0 and 4), 3 for RGB and palette files (types 2, 3
   * and 6); alpha is dropped unless asked for.
   */
  channels?: PngChannels;
}

/** The 8 bytes every PNG file starts with. */
const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** Whether `bytes` starts with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= PNG_SIGNATURE.length && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** What a PNG file's header says, read without decoding the pixels ({@link pngInfo}). */
export interface PngInfo {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Channels {@link decodePng} returns by default: 1 for gray files, 3 for colour and palette ones. */
  readonly channels: 1 | 3;
}

/** Throws the error {@link decodePng} gives for bytes that are not a PNG. */
function checkSignature(bytes: Uint8Array, source: string): void {
  if (isPng(bytes)) return;
  if (bytes.length === 0) throw new Error(`${source}: not a PNG file (the file is empty)`);
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new Error(`${source}: not a PNG file (its first bytes are [${head}], a PNG starts with 89 50 4e 47 0d 0a 1a 0a)`);
}

/**
 * Size and channels of a PNG from its header chunk (the first 33 bytes are enough), so a folder's image shape is
 * known without decoding any image.
 *
 * @throws Error naming `source` when the bytes are not a PNG or its first chunk is not a valid IHDR.
 *
 * @example
 * ```ts
 * const fd = fs.openSync(file, 'r'); const head = Buffer.alloc(33); fs.readSync(fd, head, 0, 33, 0);
 * pngInfo(head, file); // { width: 32, height: 32, channels: 3 }
 * ```
 */
export function pngInfo(bytes: Uint8Array, source = '(bytes)'): PngInfo {
  checkSignature(bytes, source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (bytes.length < 33 || type !== 'IHDR') throw new Error(`${source}: cannot decode PNG: the file does not start with an IHDR chunk`);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const colorType = bytes[25];
  if (width === 0 || height === 0 || ![0, 2, 3, 4, 6].includes(colorType)) {
    throw new Error(`${source}: cannot decode PNG: bad header (${width} × ${height}, colour type ${colorType})`);
  }
  return { width, height, channels: colorType === 0 || colorType === 4 ? 1 : 3 };
}

/**
 * Decodes a PNG file's bytes into 8-bit pixels. 16-bit files are rescaled to 8 bits, palettes expanded. Dropping
 * alpha keeps the stored colour values as they are (no compositing onto a background), so a dataset's pixels do not
 * depend on an arbitrary background choice.
 *
 * @param bytes - The whole file.
 * @param source - Name used in error messages, typically the file path.
 * @param options - Channel conversion, see {@link DecodePngOptions}.
 * @returns The image with `channels` per pixel.
 * @throws Error naming `source` when the bytes are not a PNG or cannot be decoded.
 *
 * @example
 * ```ts
 * const img = decodePng(fs.readFileSync('digits/0001.png'), 'digits/0001.png', { channels: 1 });
 * ```
 */
export function decodePng(bytes: Uint8Array, source = '(bytes)', options: DecodePngOptions = {}): RawImage {
  if (options.channels !== undefined && ![1, 3, 4].includes(options.channels)) {
    throw new RangeError(`decodePng: channels must be 1, 3 or 4, got ${String(options.channels)}`);
  }
  checkSignature(bytes, source);
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    // pngjs wants a Buffer; wrapping shares the memory instead of copying it.
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new Error(`${source}: cannot decode PNG: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { width, height } = png;
  // pngjs always hands back 8-bit RGBA; the header's colour type says what the file really holds. Its typings omit
  // type 3 (palette), hence the widening.
  const colorType: number = png.colorType;
  const stored: PngChannels = colorType === 0 || colorType === 4 ? 1 : 3;
  const channels = options.channels ?? stored;
  const rgba = png.data;
  const n = width * height;
  const out = new Uint8Array(n * channels);
  for (let p = 0; p < n; p++) {
    const r = rgba[4 * p];
    const g = rgba[4 * p + 1];
    const b = rgba[4 * p + 2];
    if (channels === 1) {
      // Gray files come back with R = G = B, so reading R is exact and skips the float arithmetic.
      out[p] = stored === 1 ? r : Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    } else {
      out[channels * p] = r;
      out[channels * p + 1] = g;
      out[channels * p + 2] = b;
      if (channels === 4) out[4 * p + 3] = rgba[4 * p + 3];
    }
  }
  return { width, height, channels, data: out };
}

const COLOR_TYPE: Record<PngChannels, 0 | 2 | 6> = { 1: 0, 3: 2, 4: 6 };

/**
 * Encodes 8-bit pixels as a PNG file (gray, RGB or RGBA colour type, 8 bits per channel).
 *
 * @param pixels - `height × width × channels` values, interleaved, row-major.
 * @param width - Width in pixels (positive integer).
 * @param height - Height in pixels (positive integer).
 * @param channels - 1 (gray), 3 (RGB) or 4 (RGBA).
 * @returns The file's bytes.
 * @throws RangeError when the sizes do not agree.
 *
 * @example
 * ```ts
 * fs.writeFileSync('dot.png', encodePng(new Uint8Array([0, 255, 255, 0]), 2, 2, 1));
 * ```
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: PngChannels): Buffer {
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new RangeError(`encodePng: width and height must be positive integers, got ${width} × ${height}`);
  }
  if (![1, 3, 4].includes(channels)) throw new RangeError(`encodePng: channels must be 1, 3 or 4, got ${String(channels)}`);
  const expected = width * height * channels;
  if (pixels.length !== expected) {
    throw new RangeError(`encodePng: ${pixels.length} values for a ${width} × ${height} × ${channels} image (expected ${expected})`);
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const colorType = COLOR_TYPE[channels];
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: channels === 4, bitDepth: 8 });
}

/**
 * A batch of images in [−1, 1], NHWC: a tensor `[n, h, w, c]`, a dataset-like object (its `sampleShape` is
 * `[h, w, c]`, so an {@link ArrayDataset} can be passed directly), or a bare `Float32Array` together with
 * {@link ImageGridOptions.shape}.
 */
export type ImageBatch = tf.Tensor | Float32Array | Pick<ArrayDataset, 'data' | 'sampleShape'>;

/** Options of {@link imageGrid}. */
export interface ImageGridOptions {
  /** Images per row (default `ceil(√n)`, so the grid is about square). */
  cols?: number;
  /** Pixels between images and around the border (default 2). */
  padding?: number;
  /**
   * Value of the padding and of empty cells, in the images' [−1, 1] scale (default 1 = white, which keeps the
   * edges of dark-background images such as MNIST digits visible).
   */
  padValue?: number;
  /** Shape `[n, h, w, c]` of a bare `Float32Array` batch; not used for other inputs. */
  shape?: readonly [number, number, number, number];
}

/** A batch normalised to (values, n, h, w, c); tensors are read, never disposed, since the caller owns them. */
function batchView(images: ImageBatch, shape: ImageGridOptions['shape']): { values: ArrayLike<number>; dims: number[] } {
  if (images instanceof tf.Tensor) {
    if (images.rank !== 4) throw new RangeError(`imageGrid: images must be [n, h, w, c], got shape [${images.shape.join(', ')}]`);
    return { values: images.dataSync(), dims: images.shape };
  }
  if (images instanceof Float32Array) {
    if (shape === undefined) throw new Error('imageGrid: a bare Float32Array needs options.shape = [n, h, w, c]');
    const want = shape.reduce((a, b) => a * b, 1);
    if (shape.length !== 4 || images.length !== want) {
      throw new RangeError(`imageGrid: ${images.length} values do not fill shape [${shape.join(', ')}] (${want} values)`);
    }
    return { values: images, dims: [...shape] };
  }
  if (images.sampleShape.length !== 3) {
    throw new RangeError(`imageGrid: samples must be [h, w, c] images, got sampleShape [${images.sampleShape.join(', ')}]`);
  }
  const per = images.sampleShape.reduce((a, b) => a * b, 1);
  if (per === 0 || images.data.length % per !== 0) {
    throw new RangeError(`imageGrid: ${images.data.length} values are not a whole number of [${images.sampleShape.join(', ')}] images`);
  }
  return { values: images.data, dims: [images.data.length / per, ...images.sampleShape] };
}

/** [−1, 1] → 0…255; NaN (a diverged sampler) shows as black rather than aborting the picture. */
function toByte(x: number): number {
  if (Number.isNaN(x)) return 0;
  return Math.round((Math.min(1, Math.max(-1, x)) + 1) * 127.5);
}

/**
 * Tiles a batch of images row-major into one picture, as torchvision's `make_grid`: `cols` images per row with
 * `padding` pixels between them and around the border. Values are clamped to [−1, 1] and mapped to
 * `round((x + 1) · 127.5)`, so −1 → 0 and 1 → 255; NaN becomes 0. A tensor is read synchronously and left to the
 * caller to dispose.
 *
 * @param images - NHWC batch in [−1, 1] with 1, 3 or 4 channels, see {@link ImageBatch}.
 * @param options - Layout, see {@link ImageGridOptions}.
 * @returns An image of width `cols·(w + padding) + padding` and height `rows·(h + padding) + padding`, with
 *   `rows = ceil(n / cols)` and the images' channel count.
 * @throws RangeError on a malformed batch or option.
 *
 * @example
 * ```ts
 * const grid = imageGrid(samples, { cols: 8 }); // samples: tf.Tensor [64, 28, 28, 1]
 * fs.writeFileSync('samples.png', encodePng(grid.data, grid.width, grid.height, grid.channels));
 * ```
 */
export function imageGrid(images: ImageBatch, options: ImageGridOptions = {}): RawImage {
  const { values, dims } = batchView(images, options.shape);
  const [n, h, w, c] = dims;
  if (n < 1 || h < 1 || w < 1) throw new RangeError(`imageGrid: need at least one non-empty image, got [${dims.join(', ')}]`);
  if (c !== 1 && c !== 3 && c !== 4) throw new RangeError(`imageGrid: images must have 1, 3 or 4 channels, got ${c}`);
  const cols = options.cols ?? Math.ceil(Math.sqrt(n));
  const padding = options.padding ?? 2;
  const padValue = options.padValue ?? 1;
  if (!Number.isInteger(cols) || cols < 1) throw new RangeError(`imageGrid: cols must be a positive integer, got ${cols}`);
  if (!Number.isInteger(padding) || padding < 0) throw new RangeError(`imageGrid: padding must be a non-negative integer, got ${padding}`);
  if (!(padValue >= -1 && padValue <= 1)) throw new RangeError(`imageGrid: padValue must lie in [−1, 1], got ${padValue}`);
  const rows = Math.ceil(n / cols);
  const width = cols * (w + padding) + padding;
  const height = rows * (h + padding) + padding;
  const data = new Uint8Array(width * height * c).fill(toByte(padValue));
  for (let i = 0; i < n; i++) {
    const top = padding + Math.floor(i / cols) * (h + padding);
    const left = padding + (i % cols) * (w + padding);
    for (let y = 0; y < h; y++) {
      const src = ((i * h + y) * w) * c;
      const dst = ((top + y) * width + left) * c;
      for (let k = 0; k < w * c; k++) data[dst + k] = toByte(values[src + k]);
    }
  }
  return { width, height, channels: c, data };
}

/**
 * Writes {@link imageGrid}`(images, options)` as a PNG file. The parent folders are created, and the file is
 * written to a temporary name and renamed, so a reader (or a crash) never sees a half-written picture.
 *
 * @param filePath - Destination, e.g. `'runs/mnist/samples-040000.png'`.
 * @param images - NHWC batch in [−1, 1].
 * @param options - Layout.
 * @returns The grid that was written.
 *
 * @example
 * ```ts
 * writeImageGrid('runs/mnist/samples.png', samples, { cols: 8 });
 * ```
 */
export function writeImageGrid(filePath: string, images: ImageBatch, options: ImageGridOptions = {}): RawImage {
  const grid = imageGrid(images, options);
  const bytes = encodePng(grid.data, grid.width, grid.height, grid.channels);
  writeFileAtomic(filePath, bytes);
  return grid;
}
