import * as tf from '@tensorflow/tfjs';
import { ExplicitPadding } from './kernel-calls';
import { initEngine } from '../backend';
import { hasTrainingKernels, registerTrainingKernels, stockKernel, unregisterTrainingKernels } from './register';

type Pad = 'same' | 'valid' | number | ExplicitPadding;
interface ConvCase {
  x: [number, number, number, number];
  k: [number, number];
  outC: number;
  strides: [number, number];
  pad: Pad;
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 8, 8, 3], k: [3, 3], outC: 4, strides: [1, 1], pad: 'same' },
  { x: [2, 8, 8, 3], k: [3, 3], outC: 4, strides: [1, 1], pad: 'valid' },
  { x: [2, 9, 7, 3], k: [3, 3], outC: 5, strides: [2, 2], pad: 'same' },
  { x: [2, 9, 7, 3], k: [3, 3], outC: 5, strides: [2, 2], pad: 'valid' },
  { x: [3, 6, 10, 4], k: [1, 1], outC: 6, strides: [1, 1], pad: 'same' },
  { x: [3, 6, 10, 4], k: [1, 1], outC: 6, strides: [2, 2], pad: 'valid' },
  { x: [2, 8, 8, 2], k: [4, 4], outC: 3, strides: [2, 2], pad: 'same' },
  { x: [2, 8, 8, 2], k: [4, 4], outC: 3, strides: [1, 1], pad: 'same' },
  { x: [2, 11, 9, 3], k: [5, 5], outC: 4, strides: [1, 1], pad: 'same' },
  { x: [2, 11, 9, 3], k: [5, 5], outC: 4, strides: [2, 2], pad: 'valid' },
  { x: [2, 7, 12, 5], k: [3, 5], outC: 3, strides: [1, 2], pad: 'same' },
  { x: [4, 10, 6, 3], k: [5, 3], outC: 2, strides: [2, 1], pad: 'valid' },
  { x: [2, 8, 8, 3], k: [3, 3], outC: 4, strides: [1, 1], pad: 2 },
  { x: [1, 5, 5, 2], k: [5, 5], outC: 3, strides: [1, 1], pad: 'valid' },
  { x: [2, 8, 8, 3], k: [3, 3], outC: 4, strides: [2, 2], pad: [[0, 0], [1, 0], [0, 1], [0, 0]] },
  { x: [2, 7, 7, 3], k: [3, 3], outC: 4, strides: [3, 3], pad: 'same' },
  { x: [2, 9, 9, 2], k: [5, 5], outC: 3, strides: [2, 2], pad: 'same' },
  { x: [1, 6, 5, 2], k: [2, 3], outC: 2, strides: [3, 2], pad: 'valid' },
];

const MATMUL_CASES: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean }> = [
  { a: [3, 4, 5], b: [3, 5, 6], ta: false, tb: false },
  { a: [3, 5, 4], b: [3, 5, 6], ta: true, tb: false },
  { a: [3, 4, 5], b: [3, 6, 5], ta: false, tb: true },
  { a: [3, 5, 4], b: [3, 6, 5], ta: true, tb: true },
  { a: [2, 3, 7, 4], b: [2, 3, 7, 5], ta: true, tb: false },
  { a: [6, 4], b: [5, 4], ta: false, tb: true },
  // 128³ multiply-adds per entry: the per-entry split path on wasm.
  { a: [3, 128, 128], b: [3, 128, 128], ta: true, tb: true },
];

/** Broadcast right operands (folded into one product on wasm); tfjs has no gradient for these, so forward only. */
const BROADCAST_CASES: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean }> = [
  { a: [2, 3, 7, 4], b: [5, 4], ta: false, tb: true },
  { a: [4, 6, 3], b: [1, 6, 5], ta: true, tb: false },
];

function data(shape: number[], seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform(shape, -1, 1, 'float32', seed).dataSync() as Float32Array);
}

/** Largest absolute difference relative to the largest reference magnitude. */
function relErr(got: Float32Array, ref: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

function convGrads(c: ConvCase, seed: number): { dx: Float32Array; dw: Float32Array } {
  const wShape: [number, number, number, number] = [c.k[0], c.k[1], c.x[3], c.outC];
  return tf.tidy(() => {
    const x = tf.tensor(data(c.x, seed), c.x) as tf.Tensor4D;
    const w = tf.tensor(data(wShape, seed + 1), wShape) as tf.Tensor4D;
    const y = tf.conv2d(x, w, c.strides, c.pad);
    const r = tf.tensor(data(y.shape, seed + 2), y.shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), r)),
    )([x, w]);
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

function matmulGrads(c: (typeof MATMUL_CASES)[number], seed: number): Float32Array[] {
  return tf.tidy(() => {
    const a = tf.tensor(data(c.a, seed), c.a);
    const b = tf.tensor(data(c.b, seed + 1), c.b);
    const y = tf.matMul(a, b, c.ta, c.tb);
    const r = tf.tensor(data(y.shape, seed + 2), y.shape);
    const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p, q, c.ta, c.tb), r)))([a, b]);
    return [y, da, db].map((t) => t.dataSync() as Float32Array);
  });
}

describe('composed training kernels', () => {
  const reference = new Map<string, { dx: Float32Array; dw: Float32Array }>();
  const matmulReference = new Map<number, Float32Array[]>();
  const broadcastReference = new Map<number, Float32Array>();
  const broadcastProduct = (c: (typeof BROADCAST_CASES)[number], seed: number): Float32Array =>
    tf.tidy(() => tf.matMul(tf.tensor(data(c.a, seed), c.a), tf.tensor(data(c.b, seed + 1), c.b), c.ta, c.tb).dataSync() as Float32Array);

  beforeAll(async () => {
    await initEngine({ backend: 'cpu', quiet: true });
    // Reference: the cpu backend's stock (naive-loop) kernels.
    unregisterTrainingKernels('cpu');
    expect(hasTrainingKernels('cpu')).toBe(false);
    CONV_CASES.forEach((c, i) => reference.set(String(i), convGrads(c, 100 + 10 * i)));
    MATMUL_CASES.forEach((c, i) => matmulReference.set(i, matmulGrads(c, 500 + 10 * i)));
    BROADCAST_CASES.forEach((c, i) => broadcastReference.set(i, broadcastProduct(c, 900 + 10 * i)));
    expect(registerTrainingKernels('cpu')).toEqual(['Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul', 'Identity']);
  });

  it('is idempotent', () => {
    expect(registerTrainingKernels('cpu')).toEqual([]);
    expect(hasTrainingKernels('cpu')).toBe(true);
    expect(stockKernel('Conv2DBackpropFilter', 'cpu')).toBeTruthy();
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    describe(`on ${backend}`, () => {
      beforeAll(async () => {
        await initEngine({ backend, quiet: true });
        expect(hasTrainingKernels(backend)).toBe(true);
      });

      it.each(CONV_CASES.map((c, i) => [i, c] as const))('conv case %i matches the reference gradients', (i, c) => {
        const ref = reference.get(String(i));
        if (ref == null) throw new Error('missing reference');
        const got = convGrads(c, 100 + 10 * i);
        expect(relErr(got.dx, ref.dx)).toBeLessThanOrEqual(1e-5);
        expect(relErr(got.dw, ref.dw)).toBeLessThanOrEqual(1e-5);
      });

      it.each(MATMUL_CASES.map((c, i) => [i, c.ta, c.tb, c] as const))(
        'matmul case %i (transposeA=%s, transposeB=%s) matches forward and gradients',
        (i, _ta, _tb, c) => {
          const ref = matmulReference.get(i);
          if (ref == null) throw new Error('missing reference');
          const got = matmulGrads(c, 500 + 10 * i);
          got.forEach((g, j) => expect(relErr(g, ref[j])).toBeLessThanOrEqual(1e-5));
        },
      );

      it.each(BROADCAST_CASES.map((c, i) => [i, c] as const))('broadcast matmul case %i matches forward', (i, c) => {
        const ref = broadcastReference.get(i);
        if (ref == null) throw new Error('missing reference');
        expect(relErr(broadcastProduct(c, 900 + 10 * i), ref)).toBeLessThanOrEqual(1e-5);
      });

      it('clones share the buffer by reference count, stay valid when the source changes, and free it when last disposed', () => {
        const v = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3])));
        const ids = tf.engine().backend.numDataIds();
        const c = tf.clone(v);
        expect(tf.engine().backend.numDataIds()).toBe(ids); // no copy
        tf.tidy(() => v.assign(tf.tensor1d([7, 8, 9])));
        expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
        expect(Array.from(v.dataSync())).toEqual([7, 8, 9]);
        const ids2 = tf.engine().backend.numDataIds();
        c.dispose(); // the old buffer had only the clone left
        expect(tf.engine().backend.numDataIds()).toBe(ids2 - 1);
        v.dispose();
      });

      it('leaks neither tensors nor backend buffers', () => {
        convGrads(CONV_CASES[2], 1);
        matmulGrads(MATMUL_CASES[3], 1);
        const tensors = tf.memory().numTensors;
        const ids = tf.engine().backend.numDataIds();
        convGrads(CONV_CASES[2], 1);
        convGrads(CONV_CASES[6], 1);
        matmulGrads(MATMUL_CASES[3], 1);
        matmulGrads(MATMUL_CASES[6], 1);
        broadcastProduct(BROADCAST_CASES[0], 1);
        expect(tf.memory().numTensors).toBe(tensors);
        expect(tf.engine().backend.numDataIds()).toBe(ids);
      });
    });
  }
});
