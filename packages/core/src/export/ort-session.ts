import * as tf from '@tensorflow/tfjs';
import { isMainThread } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';

/**
 * The tensor objects exchanged with the native binding. The binding builds its outputs with the constructor given
 * to `initOrtOnce`; onnxruntime-common's Tensor checks `data instanceof Float32Array`, which fails for arrays made
 * by the native side whenever the caller runs in another realm (jest's VM contexts), so a plain holder is used.
 */
class NativeTensor {
  /** Where the data lives (the binding reads it from feeds). */
  readonly location = 'cpu';

  constructor(
    readonly type: string,
    readonly data: Float32Array,
    readonly dims: readonly number[],
  ) {}
}

/** The parts of onnxruntime-node's native binding used here (`onnxruntime-node/dist/binding`). */
interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Ort.InferenceSession.SessionOptions): void;
  readonly inputMetadata: Array<{ name: string }>;
  readonly outputMetadata: Array<{ name: string }>;
  run(feeds: Record<string, NativeTensor>, fetches: Record<string, null>, options: Ort.InferenceSession.RunOptions): Record<string, NativeTensor>;
  dispose(): void;
}

interface NativeBinding {
  InferenceSession: new () => NativeSession;
  initOrtOnce(logLevel: number, tensor: typeof NativeTensor, isMainThread: boolean): void;
}

interface Loaded {
  binding: NativeBinding;
  version: string;
}

let loaded: Loaded | { error: string } | null = null;

function load(): Loaded | { error: string } {
  if (loaded) return loaded;
  try {
    // Required at run time: onnxruntime-node ships a native library and may be absent where it does not install.
    // The public InferenceSession.run is async (a promise around the native call); sampling hooks call the network
    // synchronously, so the native session, which runs synchronously, is used directly.
    const native = require('onnxruntime-node/dist/binding') as { binding: NativeBinding };
    const version = (require('onnxruntime-node/package.json') as { version: string }).version;
    if (typeof native.binding?.InferenceSession !== 'function' || typeof native.binding.initOrtOnce !== 'function') throw new Error('its native binding has an unknown shape');
    // Log level 3 (errors only); the binding ignores later calls, so this holds for the whole process.
    native.binding.initOrtOnce(3, NativeTensor, isMainThread);
    loaded = { binding: native.binding, version };
  } catch (err) {
    loaded = { error: `onnxruntime-node is not usable here: ${(err as Error).message.split('\n')[0]}` };
  }
  return loaded;
}

/** What {@link onnxRuntimeStatus} tells. */
export type OnnxRuntimeStatus =
  | {
      /** onnxruntime-node loads. */
      available: true;
      /** Its version. */
      version: string;
    }
  | {
      /** onnxruntime-node does not load here. */
      available: false;
      /** Why (one line). */
      reason: string;
    };

/** Whether onnxruntime-node loads here: its version, or why not. */
export function onnxRuntimeStatus(): OnnxRuntimeStatus {
  const l = load();
  return 'error' in l ? { available: false, reason: l.error } : { available: true, version: l.version };
}

/** Options of an {@link OrtSession}. */
export interface OrtSessionOptions {
  /** Intra-op threads of the CPU execution provider (default 1). */
  threads?: number;
}

/**
 * An onnxruntime-node inference session (CPU execution provider) that runs synchronously on tfjs tensors: feeds
 * are read from tfjs, outputs come back as new tfjs tensors the caller owns.
 *
 * @example
 * ```ts
 * const s = OrtSession.create(graph.encode(), { threads: 2 });
 * const { y } = s.run({ x });
 * ```
 */
export class OrtSession {
  /** Names of the graph inputs. */
  readonly inputNames: string[];
  /** Names of the graph outputs. */
  readonly outputNames: string[];
  private disposed = false;

  private constructor(
    private readonly native: NativeSession,
    /** Threads it runs with. */
    readonly threads: number,
  ) {
    this.inputNames = native.inputMetadata.map((m) => m.name);
    this.outputNames = native.outputMetadata.map((m) => m.name);
  }

  /**
   * Loads a serialized ONNX model.
   *
   * @throws Error when onnxruntime-node is not usable here, or the model does not load (onnxruntime's message).
   */
  static create(model: Uint8Array, options: OrtSessionOptions = {}): OrtSession {
    const l = load();
    if ('error' in l) throw new Error(l.error);
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`OrtSession: threads must be a positive integer, got ${threads}`);
    const native = new l.binding.InferenceSession();
    native.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new OrtSession(native, threads);
  }

  /**
   * Runs the graph on float32 feeds; returns the requested outputs (default all) as tfjs tensors.
   *
   * @throws Error when a graph input is not fed.
   */
  run(feeds: Readonly<Record<string, tf.Tensor>>, outputs: readonly string[] = this.outputNames): Record<string, tf.Tensor> {
    if (this.disposed) throw new Error('OrtSession.run: the session was disposed');
    const missing = this.inputNames.filter((n) => !(n in feeds));
    if (missing.length) throw new Error(`OrtSession.run: inputs not fed: ${missing.join(', ')} (the graph takes ${this.inputNames.join(', ')})`);
    const ortFeeds: Record<string, NativeTensor> = {};
    for (const name of this.inputNames) {
      const t = feeds[name];
      ortFeeds[name] = new NativeTensor('float32', t.dataSync() as Float32Array, t.shape);
    }
    const fetches: Record<string, null> = {};
    for (const o of outputs) fetches[o] = null;
    const result = this.native.run(ortFeeds, fetches, {});
    const out: Record<string, tf.Tensor> = {};
    for (const o of outputs) {
      const r = result[o];
      out[o] = tf.tensor(r.data, [...r.dims], 'float32');
    }
    return out;
  }

  /** Frees the native session. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.native.dispose();
  }
}
