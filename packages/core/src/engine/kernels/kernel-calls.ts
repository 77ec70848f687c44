import * as tf from '@tensorflow/tfjs';

/** Explicit NHWC padding `[[0, 0], [top, bottom], [left, right], [0, 0]]` (tfjs does not export its own alias). */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/**
 * A kernel implementation as the engine stores it: a function of `{inputs, backend, attrs}`.
 */
export type RawKernelFunc = tf.KernelFunc;

/**
 * Calls backend kernels directly on `TensorInfo`s, below the engine.
 *
 * The training kernels are compositions of other kernels. Calling the kernel functions directly (instead of `tf.*`
 * ops) keeps the composition invisible to the gradient tape and to `tf.memory()`: only the final output becomes a
 * tensor. Every intermediate must be released with {@link KernelCalls.release}.
 */
export class KernelCalls {
  /**
   * @param backend the backend instance the kernels run on (the `backend` argument of a kernel function).
   * @param backendName its registry name (`'wasm'`, `'cpu'`), used to look kernels up.
   * @param overrides kernel functions to use instead of the registry's (the stock kernels we replaced).
   */
  constructor(
    readonly backend: tf.KernelBackend,
    readonly backendName: string,
    private readonly overrides: ReadonlyMap<string, RawKernelFunc> = new Map(),
  ) {}

  /** Runs the kernel `name` and returns its single output. */
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const fn = this.overrides.get(name) ?? tf.getKernel(name, this.backendName)?.kernelFunc;
    if (fn == null) {
      throw new Error(`diffpress: kernel '${name}' is not registered for backend '${this.backendName}'`);
    }
    const out = fn({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      throw new Error(`diffpress: kernel '${name}' returned ${out.length} outputs where one was expected`);
    }
    return out;
  }

  /** Releases intermediates produced by {@link KernelCalls.run}. */
  release(...infos: tf.TensorInfo[]): void {
    for (const info of infos) this.backend.disposeData(info.dataId);
  }

  /** `Transpose` with permutation `perm`. */
  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run(tf.Transpose, { x }, { perm });
  }

  /** `Reshape` to `shape` (shares the data buffer; still needs releasing). */
  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run(tf.Reshape, { x }, { shape });
  }

  /** `Slice` from `begin` with `size`. */
  slice(x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    return this.run(tf.Slice, { x }, { begin, size });
  }

  /** Reverses the given axes. */
  reverse(x: tf.TensorInfo, dims: number[]): tf.TensorInfo {
    return this.run(tf.Reverse, { x }, { dims });
  }

  /** `StridedSlice` with every mask off: elements `begin[i], begin[i] + strides[i], …` below `end[i]`. */
  stridedSlice(x: tf.TensorInfo, begin: number[], end: number[], strides: number[]): tf.TensorInfo {
    return this.run(
      tf.StridedSlice,
      { x },
      { begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
    );
  }

  /** A float32 tensor of zeros. */
  zeros(shape: number[]): tf.TensorInfo {
    return this.run(tf.Fill, {}, { shape, value: 0, dtype: 'float32' });
  }

  /** `Concat` along `axis`. */
  concat(xs: tf.TensorInfo[], axis: number): tf.TensorInfo {
    // Concat takes its inputs as an array, unlike the named map of other kernels.
    return this.run(tf.Concat, xs as unknown as tf.NamedTensorInfoMap, { axis });
  }

  /** Zero padding (`PadV2`), `paddings[i] = [before, after]`. */
  pad(x: tf.TensorInfo, paddings: Array<[number, number]>): tf.TensorInfo {
    return this.run(tf.PadV2, { x }, { paddings, constantValue: 0 });
  }

  /**
   * Stock forward `Conv2D`, NHWC, with explicit (non-negative) padding `[top, bottom, left, right]`.
   */
  conv2d(
    x: tf.TensorInfo,
    filter: tf.TensorInfo,
    strides: [number, number],
    dilations: [number, number],
    pads: [number, number, number, number],
  ): tf.TensorInfo {
    const [t, b, l, r] = pads;
    const pad: ExplicitPadding = [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ];
    return this.run(tf.Conv2D, { x, filter }, { strides, pad, dataFormat: 'NHWC', dilations });
  }

  /**
   * Pads or crops the two spatial axes of an NHWC tensor: a negative amount removes rows/columns on that side.
   * Returns the cropped tensor (or `x` itself) and the remaining non-negative pads, which the caller hands to
   * {@link KernelCalls.conv2d} so that the padding costs no copy.
   */
  cropNegative(
    x: tf.TensorInfo,
    pads: [number, number, number, number],
  ): { x: tf.TensorInfo; pads: [number, number, number, number]; cropped: boolean } {
    if (pads.every((p) => p >= 0)) return { x, pads, cropped: false };
    const [n, h, w, c] = x.shape;
    const [t, b, l, r] = pads;
    const top = Math.max(0, -t);
    const left = Math.max(0, -l);
    const height = h - top - Math.max(0, -b);
    const width = w - left - Math.max(0, -r);
    const out = this.slice(x, [0, top, left, 0], [n, height, width, c]);
    return { x: out, pads: [Math.max(0, t), Math.max(0, b), Math.max(0, l), Math.max(0, r)], cropped: true };
  }
}
