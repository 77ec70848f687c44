import * as fs from 'node:fs';
import { RawTensor, decodeSafetensors } from './safetensors';
import { decodeTorchCheckpoint } from './torch-pickle';

/** Formats {@link decodeTensorFile} recognises. */
export type TensorFileFormat = 'safetensors' | 'torch';

/** The tensors of a weights file of either format. */
export interface TensorFileContent {
  /** `safetensors`, or `torch` for a `torch.save` zip archive. */
  format: TensorFileFormat;
  /** Tensors by name, raw (PyTorch layout for files from PyTorch). */
  tensors: Map<string, RawTensor>;
  /** The safetensors `__metadata__`, or the archive facts of {@link DecodedTorchCheckpoint.metadata}. */
  metadata: Record<string, string>;
  /** For torch files: the entry of the saved object that held the state dict (`null`: the object itself). */
  entry: string | null;
  /** For torch files: other entries that are dicts of tensors too. */
  otherEntries: string[];
}

/** Options of {@link decodeTensorFile}. */
export interface DecodeTensorFileOptions {
  /** Where the bytes came from, for error messages. */
  source?: string;
  /** For torch files, the entry holding the state dict (see {@link DecodeTorchCheckpointOptions.entry}). */
  entry?: string;
}

/**
 * Which format `bytes` are in, from their first bytes: a zip archive or a pickle (`torch.save`, whose reader then
 * explains what it refuses), or a safetensors header. `undefined` when neither.
 */
export function sniffTensorFile(bytes: Uint8Array): TensorFileFormat | undefined {
  if (bytes.byteLength >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'torch';
  // Before the pickle test: a safetensors header length may well start with the byte 0x80.
  if (bytes.byteLength >= 9 && bytes[8] === 0x7b) {
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    if (headerLength <= BigInt(bytes.byteLength - 8)) return 'safetensors';
  }
  if (bytes.byteLength >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) return 'torch';
  return undefined;
}

/**
 * Decodes a weights file that is either safetensors or a `torch.save` checkpoint (read without executing code,
 * see {@link decodeTorchCheckpoint}), by its content rather than its name.
 *
 * @param bytes - The whole file.
 * @param options - Source name for errors; the torch entry to use.
 * @throws Error naming the source when the bytes are neither format, or the format's reader refuses them.
 * @example
 * ```ts
 * const { format, tensors } = decodeTensorFile(fs.readFileSync(file), { source: file });
 * ```
 */
export function decodeTensorFile(bytes: Uint8Array, options: DecodeTensorFileOptions = {}): TensorFileContent {
  const format = sniffTensorFile(bytes);
  if (format === 'torch') return { format, ...decodeTorchCheckpoint(bytes, options) };
  if (format === 'safetensors') {
    if (options.entry !== undefined) throw new Error(`${options.source ?? 'safetensors data'}: a safetensors file has no entries (entry '${options.entry}' given)`);
    const { tensors, metadata } = decodeSafetensors(bytes, { source: options.source });
    return { format, tensors, metadata, entry: null, otherEntries: [] };
  }
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new Error(`${options.source ?? 'weights data'}: neither a safetensors file nor a torch.save zip archive (first bytes: ${head || 'none, the file is empty'})`);
}

/**
 * Reads a `.safetensors` or `torch.save` (`.pt`/`.pth`/`.ckpt`/`.bin`) file; see {@link decodeTensorFile}.
 *
 * @param filePath - The file.
 * @param options - The torch entry to use.
 * @throws Error naming `filePath`.
 * @example
 * ```ts
 * const { tensors, format, entry } = readTensorFile('model-790000.ckpt');
 * ```
 */
export function readTensorFile(filePath: string, options: Omit<DecodeTensorFileOptions, 'source'> = {}): TensorFileContent {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(filePath);
  } catch (err) {
    throw new Error(`cannot read weights file '${filePath}': ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return decodeTensorFile(bytes, { ...options, source: filePath });
}
