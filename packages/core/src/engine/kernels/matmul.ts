import * as tf from '@tensorflow/tfjs';
import { KernelCalls, RawKernelFunc } from './kernel-calls';

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

function untransposed(stock: RawKernelFunc, k: KernelCalls, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const out = stock({ inputs: { a, b }, backend: k.backend, attrs: { transposeA: false, transposeB: false } });
  if (Array.isArray(out)) throw new Error('diffpress: BatchMatMul returned several outputs');
  return out;
}

/**
 * Smallest per-entry product (m·k·n multiply-adds) worth a separate single-batch call on wasm: each call costs
 * about 0.1 ms of dispatch, so below ~2 M MACs the stock batched loop is as fast or faster (measured on
 * attention-like shapes: 64×196×32×196 breaks even, 8×256×64×256 gains 5×, 512×16×8×16 loses 20×).
 */
export const SPLIT_MIN_MACS = 2 ** 21;

/**
 * `BatchMatMul` routed onto the stock kernel's fast path: a single, untransposed product. On wasm only that path
 * runs on XNNPACK; transposed operands and any batch > 1 take a naive loop that is 10–40× slower. So:
 * flagged operands are transposed explicitly (a cheap copy); a right operand shared by the whole batch folds the
 * batch into the rows of one product; and, when `splitBatches` is set, a batched product runs one single-batch
 * product per batch entry, concatenated, when each entry has at least {@link SPLIT_MIN_MACS} multiply-adds.
 * Everything else (small batched products, other broadcast patterns) goes to the stock kernel as it came.
 *
 * @param k kernel access on the active backend.
 * @param stock the backend's own `BatchMatMul` kernel function.
 * @param a left operand `[..., m, k]` (or `[..., k, m]` when `transposeA`).
 * @param b right operand `[..., k, n]` (or `[..., n, k]` when `transposeB`).
 * @param splitBatches run batched products as a loop of single-batch products (worth it where those are faster).
 */
export function batchMatMulFast(
  k: KernelCalls,
  stock: RawKernelFunc,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  splitBatches: boolean,
): tf.TensorInfo {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const inner = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const split = splitBatches && batchA === batchB && batchA > 1 && m * inner * n >= SPLIT_MIN_MACS;
  if (!(batchB === 1 || split)) {
    const out = stock({ inputs: { a, b }, backend: k.backend, attrs: { transposeA, transposeB } });
    if (Array.isArray(out)) throw new Error('diffpress: BatchMatMul returned several outputs');
    return out;
  }
  const aa = transposeA ? k.transpose(a, swapLastTwo(ra)) : a;
  const bb = transposeB ? k.transpose(b, swapLastTwo(rb)) : b;
  const owned = [...(transposeA ? [aa] : []), ...(transposeB ? [bb] : [])];
  let out: tf.TensorInfo;
  if (batchB === 1 && batchA > 1) {
    const a2 = k.reshape(aa, [1, batchA * m, inner]);
    const b2 = k.reshape(bb, [1, inner, n]);
    const y = untransposed(stock, k, a2, b2);
    out = k.reshape(y, [...outer, m, n]);
    k.release(a2, b2, y);
  } else if (split) {
    const a3 = k.reshape(aa, [batchA, m, inner]);
    const b3 = k.reshape(bb, [batchA, inner, n]);
    const parts: tf.TensorInfo[] = [];
    for (let i = 0; i < batchA; i++) {
      const ai = k.slice(a3, [i, 0, 0], [1, m, inner]);
      const bi = k.slice(b3, [i, 0, 0], [1, inner, n]);
      parts.push(untransposed(stock, k, ai, bi));
      k.release(ai, bi);
    }
    const y = k.concat(parts, 0);
    out = k.reshape(y, [...outer, m, n]);
    k.release(a3, b3, y, ...parts);
  } else {
    out = untransposed(stock, k, aa, bb);
  }
  k.release(...owned);
  return out;
}
