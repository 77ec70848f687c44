import * as tf from '@tensorflow/tfjs';
import { KernelCalls, RawKernelFunc } from './kernel-calls';

/**
 * `BatchMatMul` with transpose flags, computed as an explicit `Transpose` of the flagged operands followed by the
 * stock kernel's untransposed path. On wasm the untransposed path is the fast (XNNPACK) one, while transposed
 * operands take a naive loop that is 12–18× slower; the extra copy costs far less than that.
 *
 * @param k kernel access on the active backend.
 * @param stock the backend's own `BatchMatMul` kernel function.
 * @param a left operand `[..., m, k]` (or `[..., k, m]` when `transposeA`).
 * @param b right operand `[..., k, n]` (or `[..., n, k]` when `transposeB`).
 */
export function batchMatMulViaTranspose(
  k: KernelCalls,
  stock: RawKernelFunc,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  const swapLast = (rank: number): number[] => {
    const perm = Array.from({ length: rank }, (_, i) => i);
    perm[rank - 2] = rank - 1;
    perm[rank - 1] = rank - 2;
    return perm;
  };
  const aa = transposeA ? k.transpose(a, swapLast(a.shape.length)) : a;
  const bb = transposeB ? k.transpose(b, swapLast(b.shape.length)) : b;
  const out = stock({ inputs: { a: aa, b: bb }, backend: k.backend, attrs: { transposeA: false, transposeB: false } });
  if (transposeA) k.release(aa);
  if (transposeB) k.release(bb);
  if (Array.isArray(out)) throw new Error('diffpress: BatchMatMul returned several outputs');
  return out;
}
