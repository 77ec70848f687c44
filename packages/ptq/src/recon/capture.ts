import * as tf from '@tensorflow/tfjs';
import { AnyModule, Module } from '@diffpress/core';
import { UNet } from '@diffpress/diffusion';
import { CalibrationBatch } from '../calibration/calibration-set';

/** Values of one tensor for a set of rows, kept outside the tensor engine's heap. */
export interface HostTensor {
  /** Row-major values `[rows, ...shape]`. */
  data: Float32Array;
  /** Shape of one row. */
  shape: number[];
}

/** Elements per row of a host tensor. */
export function rowSize(t: HostTensor): number {
  return t.shape.reduce((a, b) => a * b, 1);
}

/** Rows `indices` of host tensors as engine tensors (the caller disposes). */
export function hostRows(t: HostTensor, indices: readonly number[]): tf.Tensor {
  const per = rowSize(t);
  const out = new Float32Array(indices.length * per);
  indices.forEach((r, i) => out.set(t.data.subarray(r * per, (r + 1) * per), i * per));
  return tf.tensor(out, [indices.length, ...t.shape]);
}

/** Builds the network inputs of the given calibration rows (the caller disposes them). */
export type RowSource = (indices: number[]) => CalibrationBatch;

const STOP = Symbol('capture-stop');

/** What {@link captureAt} records at the unit. */
export type CaptureWhat = 'inputs' | 'output';

/** Stands in for the unit during one forward: records its inputs or its output, then stops the pass. */
class Tap extends Module<tf.Tensor[], tf.Tensor> {
  captured: tf.Tensor[] | null = null;

  constructor(
    private readonly inner: AnyModule,
    private readonly what: CaptureWhat,
  ) {
    super();
  }

  forward(...args: tf.Tensor[]): tf.Tensor {
    const inner = this.inner as unknown as Module<tf.Tensor[], tf.Tensor>;
    const values = this.what === 'inputs' ? args : [inner.forward(...args)];
    this.captured = values.map((v) => tf.keep(v.clone()));
    throw STOP;
  }
}

/**
 * Runs `unet` on `(x, t)` up to the module at `path` and returns that module's inputs (every argument of its
 * `forward`, e.g. a residual block's features and time embedding) or its output; the rest of the network is not
 * computed. Host copies, row-major.
 */
export function captureAt(unet: UNet, path: string, x: tf.Tensor, t: tf.Tensor, what: CaptureWhat): HostTensor[] {
  const original = unet.getModule(path);
  const tap = new Tap(original, what);
  unet.replace(path, tap as unknown as AnyModule);
  try {
    try {
      tf.tidy(() => unet.forward(x, t));
    } catch (err) {
      if (err !== STOP) throw err;
    }
  } finally {
    unet.replace(path, original);
  }
  const captured = tap.captured;
  if (!captured) throw new Error(`captureAt: the forward pass never reached '${path}'`);
  try {
    return captured.map((c) => ({ data: c.dataSync() as Float32Array, shape: c.shape.slice(1) }));
  } finally {
    tf.dispose(captured);
  }
}

/**
 * Captures at `path` for all `rows` rows, `batchSize` at a time, concatenating into host tensors.
 *
 * @param batch - Builds the network inputs of the given row indices (the caller's calibration set).
 */
export function captureRows(
  unet: UNet,
  path: string,
  rows: number,
  batch: RowSource,
  what: CaptureWhat,
  batchSize: number,
): HostTensor[] {
  let out: HostTensor[] | null = null;
  for (let start = 0; start < rows; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, rows - start) }, (_, i) => start + i);
    const { x, t } = batch(indices);
    let part: HostTensor[];
    try {
      part = captureAt(unet, path, x, t, what);
    } finally {
      tf.dispose([x, t]);
    }
    if (!out) out = part.map((p) => ({ data: new Float32Array(rows * rowSize(p)), shape: p.shape }));
    part.forEach((p, k) => (out as HostTensor[])[k].data.set(p.data, start * rowSize(p)));
  }
  if (!out) throw new Error('captureRows: no rows');
  return out;
}

/** Runs the module it stands in for and keeps a host copy of each output. */
class Recorder extends Module<tf.Tensor[], tf.Tensor> {
  readonly outputs: HostTensor[] = [];

  constructor(private readonly inner: AnyModule) {
    super();
  }

  forward(...args: tf.Tensor[]): tf.Tensor {
    const y = (this.inner as unknown as Module<tf.Tensor[], tf.Tensor>).forward(...args);
    this.outputs.push({ data: y.dataSync() as Float32Array, shape: y.shape.slice(1) });
    return y;
  }
}

/**
 * The outputs of several modules for all `rows` rows from full forward passes (`batchSize` rows at a time): one pass
 * serves every unit, where {@link captureRows} would stop at one. The FP targets of a block reconstruction are
 * taken this way once and reused by every unit and phase.
 */
export function captureOutputs(
  unet: UNet,
  paths: readonly string[],
  rows: number,
  batch: RowSource,
  batchSize: number,
): Map<string, HostTensor> {
  const recorders = paths.map((p) => {
    const original = unet.getModule(p);
    const rec = new Recorder(original);
    unet.replace(p, rec as unknown as AnyModule);
    return { path: p, original, rec };
  });
  try {
    for (let start = 0; start < rows; start += batchSize) {
      const indices = Array.from({ length: Math.min(batchSize, rows - start) }, (_, i) => start + i);
      const { x, t } = batch(indices);
      try {
        tf.dispose(unet.forward(x, t));
      } finally {
        tf.dispose([x, t]);
      }
    }
  } finally {
    for (const r of recorders) unet.replace(r.path, r.original);
  }
  const out = new Map<string, HostTensor>();
  for (const { path, rec } of recorders) {
    if (rec.outputs.length === 0) throw new Error(`captureOutputs: the forward pass never reached '${path}'`);
    const shape = rec.outputs[0].shape;
    const per = rowSize(rec.outputs[0]);
    const data = new Float32Array(rows * per);
    let at = 0;
    for (const o of rec.outputs) {
      data.set(o.data, at);
      at += o.data.length;
    }
    out.set(path, { data, shape });
  }
  return out;
}
