import * as tf from '@tensorflow/tfjs';

/**
 * An in-memory dataset of equally shaped float32 samples, the common form of every loader in this package: MNIST,
 * PNG folders and CIFAR-10 give NHWC images scaled to [−1, 1]; the 2-D toy sets give points `[2]`.
 *
 * @example
 * ```ts
 * const ds = loadMnist({ split: 'train' });
 * const x = takeBatch(ds, [0, 1, 2, 3]); // [4, 28, 28, 1]
 * ```
 */
export interface ArrayDataset {
  /** Short identifier recorded in results, e.g. `'mnist/train'`. */
  readonly name: string;
  /** Shape of one sample, e.g. `[28, 28, 1]` (height, width, channels) or `[2]`. */
  readonly sampleShape: readonly number[];
  /** Number of samples. */
  readonly size: number;
  /** All samples back to back, row-major, `size × prod(sampleShape)` values. */
  readonly data: Float32Array;
  /** Class label per sample, where the source has labels. */
  readonly labels?: Int32Array;
}

/** Number of values in one sample of `ds`. */
export function sampleSize(ds: Pick<ArrayDataset, 'sampleShape'>): number {
  return ds.sampleShape.reduce((a, b) => a * b, 1);
}

/**
 * Checks that a dataset's arrays agree with its declared shape and size, so a bad loader fails at load time with
 * the dataset's name rather than later inside a kernel.
 *
 * @throws Error naming the dataset and the mismatch.
 */
export function validateDataset(ds: ArrayDataset): ArrayDataset {
  const per = sampleSize(ds);
  if (!Number.isInteger(ds.size) || ds.size < 0) throw new Error(`dataset ${ds.name}: size must be a non-negative integer, got ${ds.size}`);
  if (ds.data.length !== ds.size * per) {
    throw new Error(`dataset ${ds.name}: data has ${ds.data.length} values, expected ${ds.size} × ${per} = ${ds.size * per}`);
  }
  if (ds.labels && ds.labels.length !== ds.size) {
    throw new Error(`dataset ${ds.name}: ${ds.labels.length} labels for ${ds.size} samples`);
  }
  return ds;
}

/**
 * The samples at `indices` as one tensor `[indices.length, ...sampleShape]` (the caller disposes it).
 *
 * @throws RangeError on an index outside the dataset.
 */
export function takeBatch(ds: ArrayDataset, indices: readonly number[]): tf.Tensor {
  const per = sampleSize(ds);
  const out = new Float32Array(indices.length * per);
  indices.forEach((ix, row) => {
    if (!Number.isInteger(ix) || ix < 0 || ix >= ds.size) throw new RangeError(`dataset ${ds.name}: index ${ix} outside [0, ${ds.size})`);
    out.set(ds.data.subarray(ix * per, (ix + 1) * per), row * per);
  });
  return tf.tensor(out, [indices.length, ...ds.sampleShape], 'float32');
}

/** A new dataset holding the samples at `indices` of `ds` (copied), with their labels. */
export function subset(ds: ArrayDataset, indices: readonly number[], name = ds.name): ArrayDataset {
  const per = sampleSize(ds);
  const data = new Float32Array(indices.length * per);
  const labels = ds.labels ? new Int32Array(indices.length) : undefined;
  indices.forEach((ix, row) => {
    if (!Number.isInteger(ix) || ix < 0 || ix >= ds.size) throw new RangeError(`dataset ${ds.name}: index ${ix} outside [0, ${ds.size})`);
    data.set(ds.data.subarray(ix * per, (ix + 1) * per), row * per);
    if (labels && ds.labels) labels[row] = ds.labels[ix];
  });
  return { name, sampleShape: [...ds.sampleShape], size: indices.length, data, labels };
}
