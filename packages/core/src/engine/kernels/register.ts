import * as tf from '@tensorflow/tfjs';
import { conv2dFilterGrad, conv2dInputGrad } from './conv-grad';
import { KernelCalls, RawKernelFunc } from './kernel-calls';
import { batchMatMulFast } from './matmul';

/** Backends that get the composed training kernels (the native `tensorflow` backend has fast ones of its own). */
export const TRAINING_KERNEL_BACKENDS: readonly string[] = ['wasm', 'cpu'];

/** Names of the kernels {@link registerTrainingKernels} installs. */
export const TRAINING_KERNEL_NAMES: readonly string[] = [tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter, tf.BatchMatMul, tf.Identity];

const stockKernels = new Map<string, tf.KernelConfig | null>();
const ours = new WeakSet<RawKernelFunc>();
const key = (name: string, backend: string): string => `${backend}/${name}`;

/**
 * The backend's own kernel for `name` as it was before {@link registerTrainingKernels} replaced it (`undefined`
 * when nothing was replaced, `null` when the backend had none). Benchmarks use it to time stock against composed.
 */
export function stockKernel(name: string, backendName: string): tf.KernelConfig | null | undefined {
  return stockKernels.get(key(name, backendName));
}

function stockFunc(name: string, backendName: string): RawKernelFunc | undefined {
  return stockKernels.get(key(name, backendName))?.kernelFunc;
}

/** One KernelCalls per backend instance, built on first use: the kernels run on every backward pass. */
let callsCache = new WeakMap<object, KernelCalls>();

function callsFor(backend: unknown, backendName: string): KernelCalls {
  let calls = callsCache.get(backend as object);
  if (calls == null) {
    const stockMatMul = stockFunc(tf.BatchMatMul, backendName);
    // Compositions must reach the stock BatchMatMul, never our replacement of it.
    const overrides = new Map<string, RawKernelFunc>(stockMatMul ? [[tf.BatchMatMul, stockMatMul]] : []);
    calls = new KernelCalls(backend as tf.KernelBackend, backendName, overrides);
    callsCache.set(backend as object, calls);
  }
  return calls;
}

function input(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): tf.TensorInfo {
  const t = inputs[name];
  if (t == null) throw new Error(`diffpress: ${kernel} called without input '${name}'`);
  return t;
}

function makeKernel(name: string, backendName: string): RawKernelFunc {
  let fn: RawKernelFunc;
  switch (name) {
    case tf.Conv2DBackpropInput:
      fn = ({ inputs, backend, attrs }) => {
        const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
        if (a.dataFormat === 'NCHW') return delegate(name, backendName, inputs, backend, attrs);
        return conv2dInputGrad(callsFor(backend, backendName), input(inputs, 'dy', name), input(inputs, 'filter', name), a.inputShape, a);
      };
      break;
    case tf.Conv2DBackpropFilter:
      fn = ({ inputs, backend, attrs }) => {
        const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
        if (a.dataFormat === 'NCHW') return delegate(name, backendName, inputs, backend, attrs);
        return conv2dFilterGrad(callsFor(backend, backendName), input(inputs, 'x', name), input(inputs, 'dy', name), a.filterShape, a);
      };
      break;
    case tf.BatchMatMul:
      fn = ({ inputs, backend, attrs }) => {
        const a = attrs as unknown as tf.BatchMatMulAttrs;
        const stock = stockFunc(name, backendName);
        if (stock == null) throw new Error(`diffpress: no stock BatchMatMul on backend '${backendName}'`);
        // Only wasm has a single-batch path fast enough to be worth a loop over the batch.
        const split = backendName === 'wasm';
        return batchMatMulFast(callsFor(backend, backendName), stock, input(inputs, 'a', name), input(inputs, 'b', name), a.transposeA, a.transposeB, split);
      };
      break;
    case tf.Identity:
      // The gradient tape clones every tensor it saves for the backward pass (~2 000 clones per UNet training
      // step). wasm's Identity copies the data; tensors are immutable (Variable.assign swaps the data id rather
      // than writing in place), so sharing the buffer by reference count — what the cpu backend does — is safe
      // and removes ~5 % of a training step.
      fn = ({ inputs, backend }) => {
        const x = input(inputs, 'x', name);
        if (x.dtype === 'string') return delegate(name, backendName, inputs, backend, {});
        (backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      };
      break;
    default:
      throw new Error(`diffpress: no composed kernel for '${name}'`);
  }
  ours.add(fn);
  return fn;
}

function delegate(
  name: string,
  backendName: string,
  inputs: tf.NamedTensorInfoMap,
  backend: unknown,
  attrs: tf.NamedAttrMap | undefined,
): tf.TensorInfo | tf.TensorInfo[] {
  const stock = stockFunc(name, backendName);
  if (stock == null) {
    throw new Error(`diffpress: ${name} with dataFormat NCHW is not available on backend '${backendName}'; use NHWC`);
  }
  return stock({ inputs, backend: backend as tf.KernelBackend, attrs });
}

/**
 * Installs the composed training kernels (`Conv2DBackpropInput`, `Conv2DBackpropFilter`, `BatchMatMul` with
 * transpose flags) for `backendName`, built from that backend's fast forward kernels, plus a copy-free `Identity`
 * (the gradient tape's clones). Idempotent: a second call
 * changes nothing. Must run after the backend is initialised, because the stock kernels' set-up (which binds
 * their WebAssembly functions) happens at initialisation and the compositions call them.
 *
 * @returns the names of the kernels installed by this call (empty when already installed or not applicable).
 */
export function registerTrainingKernels(backendName: string): string[] {
  if (!TRAINING_KERNEL_BACKENDS.includes(backendName)) return [];
  const installed: string[] = [];
  for (const name of TRAINING_KERNEL_NAMES) {
    const current = tf.getKernel(name, backendName);
    if (current != null && ours.has(current.kernelFunc)) continue;
    stockKernels.set(key(name, backendName), current ?? null);
    // The cached calls hold the stock kernels recorded here; rebuild them after any (re-)registration.
    callsCache = new WeakMap();
    if (current != null) tf.unregisterKernel(name, backendName);
    tf.registerKernel({
      kernelName: name,
      backendName,
      kernelFunc: makeKernel(name, backendName),
      setupFunc: current?.setupFunc,
      disposeFunc: current?.disposeFunc,
    });
    installed.push(name);
  }
  return installed;
}

/**
 * Puts the stock kernels back (for benchmarks and tests that compare against them). A later
 * {@link registerTrainingKernels} installs the composed ones again.
 */
export function unregisterTrainingKernels(backendName: string): void {
  for (const name of TRAINING_KERNEL_NAMES) {
    const current = tf.getKernel(name, backendName);
    if (current == null || !ours.has(current.kernelFunc)) continue;
    tf.unregisterKernel(name, backendName);
    const stock = stockKernels.get(key(name, backendName));
    if (stock != null) tf.registerKernel(stock);
  }
}

/** Whether the composed training kernels are currently installed for `backendName`. */
export function hasTrainingKernels(backendName: string): boolean {
  return TRAINING_KERNEL_NAMES.every((name) => {
    const k = tf.getKernel(name, backendName);
    return k != null && ours.has(k.kernelFunc);
  });
}
