import * as tf from '@tensorflow/tfjs';
import { AnyModule } from '../nn/module';
import { RawTensor, rawFromFloat32, rawFromInt32, rawToFloat32, readSafetensorsFile, writeSafetensorsFile } from './safetensors';

/** Metadata keys diffpress writes into every checkpoint (next to the caller's own). */
export const CHECKPOINT_METADATA = {
  /** Marks the file as written by diffpress. */
  format: 'diffpress.format',
  /** Class name of the saved module. */
  module: 'diffpress.module',
  /**
   * Tensor layout: `tfjs` — conv kernels `[kh, kw, in, out]`, linear weights `[in, out]`; PyTorch stores
   * `[out, in, kh, kw]` and `[out, in]`, so an importer must transpose.
   */
  layout: 'diffpress.layout',
} as const;

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** Extra `__metadata__` entries (string → string), e.g. training step or config hash. */
  metadata?: Record<string, string>;
  /** Storage type of float tensors: `F32` (default, exact) or `F16` (half the bytes, ~3 significant digits). */
  floatDtype?: 'F32' | 'F16';
}

/** Options of {@link loadCheckpoint}. */
export interface LoadCheckpointOptions {
  /** Require exactly the module's names (default `true`); shapes are always checked. */
  strict?: boolean;
}

/** Tensors of a checkpoint as tfjs tensors (the caller disposes them) plus its metadata. */
export interface CheckpointContent {
  /** Tensors by state-dict path. */
  tensors: Map<string, tf.Tensor>;
  /** The file's `__metadata__`. */
  metadata: Record<string, string>;
}

/**
 * The module's parameters and buffers as safetensors records: float32 variables as `F32` (or `F16`), int32 ones as
 * `I32`.
 */
export function stateToRaw(module: AnyModule, floatDtype: 'F32' | 'F16' = 'F32'): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [name, v] of module.stateDict()) {
    const data = v.dataSync();
    if (v.dtype === 'float32') out.set(name, rawFromFloat32(data as Float32Array, v.shape, floatDtype));
    else if (v.dtype === 'int32') out.set(name, rawFromInt32(data as Int32Array, v.shape));
    else throw new Error(`cannot save '${name}': dtype ${v.dtype} has no safetensors mapping here`);
  }
  return out;
}

/**
 * Saves a module's state dict as a safetensors file (atomically: temp file + rename), with a metadata block that
 * records the format, module class and tensor layout plus `options.metadata`.
 *
 * @example
 * ```ts
 * saveCheckpoint(unet, 'models/unet-mnist-s-eps.safetensors', { metadata: { step: '40000' } });
 * ```
 */
export function saveCheckpoint(module: AnyModule, filePath: string, options: SaveCheckpointOptions = {}): void {
  const metadata: Record<string, string> = {
    ...options.metadata,
    [CHECKPOINT_METADATA.format]: '1',
    [CHECKPOINT_METADATA.module]: module.constructor.name,
    [CHECKPOINT_METADATA.layout]: 'tfjs',
  };
  writeSafetensorsFile(filePath, stateToRaw(module, options.floatDtype), metadata);
}

/**
 * Reads a safetensors file into tfjs tensors: float dtypes (F64/F32/F16/BF16) become float32, integer ones int32.
 * Errors name the file.
 */
export function readCheckpoint(filePath: string): CheckpointContent {
  const { tensors, metadata } = readSafetensorsFile(filePath);
  const out = new Map<string, tf.Tensor>();
  for (const [name, raw] of tensors) {
    const isFloat = raw.dtype === 'F64' || raw.dtype === 'F32' || raw.dtype === 'F16' || raw.dtype === 'BF16';
    const values = rawToFloat32(raw);
    out.set(name, isFloat ? tf.tensor(values, raw.shape, 'float32') : tf.tensor(Int32Array.from(values), raw.shape, 'int32'));
  }
  return { tensors: out, metadata };
}

/**
 * Loads a checkpoint written by {@link saveCheckpoint} (or any safetensors file with matching names and shapes)
 * into `module`. A file whose names or shapes do not match is a clear error naming the file and the first
 * mismatches, and leaves the module unchanged.
 *
 * @returns the file's metadata.
 * @example
 * ```ts
 * const meta = loadCheckpoint(unet, 'models/unet-mnist-s-eps.safetensors');
 * ```
 */
export function loadCheckpoint(module: AnyModule, filePath: string, options: LoadCheckpointOptions = {}): Record<string, string> {
  const { tensors, metadata } = readCheckpoint(filePath);
  try {
    module.loadStateDict(tensors, { strict: options.strict ?? true, source: filePath });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return metadata;
}
