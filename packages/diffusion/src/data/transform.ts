import { ArrayDataset, validateDataset } from './dataset';

/** What {@link transformImages} does to a dataset's images. */
export interface ImageTransform {
  /** Resize to `[height, width]` (a number for square images) by bilinear interpolation with half-pixel centres. */
  size?: number | readonly [number, number];
  /** Convert to 1 channel (ITU-R BT.601 luma `0.299 R + 0.587 G + 0.114 B`) or 3 (gray repeated). */
  channels?: 1 | 3;
}

/** `[height, width]` of a size given as one number or a pair. */
export function imageSize(size: number | readonly [number, number]): [number, number] {
  return typeof size === 'number' ? [size, size] : [size[0], size[1]];
}

/**
 * The sample shape `[h, w, c]` images of `shape` have after `transform`.
 *
 * @throws RangeError on a shape that is not `[h, w, 1 | 3]` or a bad size or channel count.
 */
export function transformedShape(shape: readonly number[], transform: ImageTransform): [number, number, number] {
  if (shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3)) throw new RangeError(`image transforms need samples [h, w, 1 | 3], got [${shape.join(', ')}]`);
  const [h, w] = transform.size !== undefined ? imageSize(transform.size) : [shape[0], shape[1]];
  if (!Number.isInteger(h) || h < 1 || !Number.isInteger(w) || w < 1) throw new RangeError(`image size must be positive integers, got ${h} × ${w}`);
  const c = transform.channels ?? shape[2];
  if (c !== 1 && c !== 3) throw new RangeError(`channels must be 1 or 3, got ${String(c)}`);
  return [h, w, c];
}

/** Source index pairs and weights of a bilinear resize along one axis (half-pixel centres, edges clamped). */
function axisTaps(from: number, to: number): { lo: Int32Array; hi: Int32Array; w: Float32Array } {
  const lo = new Int32Array(to);
  const hi = new Int32Array(to);
  const w = new Float32Array(to);
  const scale = from / to;
  for (let i = 0; i < to; i++) {
    const x = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), from - 1);
    lo[i] = Math.floor(x);
    hi[i] = Math.min(lo[i] + 1, from - 1);
    w[i] = x - lo[i];
  }
  return { lo, hi, w };
}

/**
 * A new dataset with every image resized and/or converted (labels kept), or `ds` itself when nothing changes.
 * Halving a side averages pixel pairs exactly (the half-pixel centres fall between them); the luma of colour
 * images is the one `decodePng` uses, on the [−1, 1] values, so gray conversion commutes with the [0, 255] scaling.
 *
 * @throws RangeError when the samples are not images `[h, w, 1 | 3]`.
 *
 * @example
 * ```ts
 * const small = transformImages(loadCifar10Binary('data'), { size: 16, channels: 1 }); // [16, 16, 1]
 * ```
 */
export function transformImages(ds: ArrayDataset, transform: ImageTransform): ArrayDataset {
  const [h0, w0, c0] = ds.sampleShape;
  const [h, w, c] = transformedShape(ds.sampleShape, transform);
  if (h === h0 && w === w0 && c === c0) return ds;
  const rows = axisTaps(h0, h);
  const cols = axisTaps(w0, w);
  const inPer = h0 * w0 * c0;
  const outPer = h * w * c;
  const data = new Float32Array(ds.size * outPer);
  const pixel = new Float32Array(c0);
  for (let n = 0; n < ds.size; n++) {
    const src = n * inPer;
    for (let y = 0; y < h; y++) {
      const [y0, y1, wy] = [rows.lo[y], rows.hi[y], rows.w[y]];
      for (let x = 0; x < w; x++) {
        const [x0, x1, wx] = [cols.lo[x], cols.hi[x], cols.w[x]];
        for (let k = 0; k < c0; k++) {
          const at = (yy: number, xx: number): number => ds.data[src + (yy * w0 + xx) * c0 + k];
          const top = at(y0, x0) + wx * (at(y0, x1) - at(y0, x0));
          const bottom = at(y1, x0) + wx * (at(y1, x1) - at(y1, x0));
          pixel[k] = top + wy * (bottom - top);
        }
        const out = n * outPer + (y * w + x) * c;
        if (c === c0) data.set(pixel, out);
        else if (c === 1) data[out] = 0.299 * pixel[0] + 0.587 * pixel[1] + 0.114 * pixel[2];
        else data.fill(pixel[0], out, out + 3);
      }
    }
  }
  return validateDataset({ name: ds.name, sampleShape: [h, w, c], size: ds.size, data, labels: ds.labels });
}
