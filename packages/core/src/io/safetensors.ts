/**
 * Byte-level reading and writing of the Hugging Face safetensors format, the checkpoint format of the PyTorch
 * ecosystem, so diffpress checkpoints load in `safetensors.torch.load_file` and the other way round.
 *
 * Layout: an unsigned 64-bit little-endian header length N, then N bytes of UTF-8 JSON mapping each tensor name to
 * `{"dtype", "shape", "data_offsets": [begin, end)}` (offsets relative to the data buffer that follows the header),
 * plus an optional `"__metadata__"` string→string map, then the data buffer: every tensor's elements little-endian in
 * row-major order, the tensors back to back with no gaps, overlaps or trailing bytes.
 *
 * This module deals in bytes only ({@link RawTensor}); it needs no tfjs.
 */
import * as fs from 'node:fs';
import { writeFileAtomic } from './atomic';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16';

/**
 * Element types this module reads and writes, by their safetensors names: floats of 64, 32 and 16 bits, bfloat16,
 * signed integers of 64 to 8 bits, unsigned bytes and booleans (one byte each, 0 or 1). The format's other types
 * (`U16`, `U32`, `U64`, the 8-bit floats) are rejected when read.
 */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/**
 * Largest header accepted, in bytes (the same limit as the reference implementation). Real headers are at most a few
 * megabytes; the limit stops a corrupt length field from making us decode gigabytes as JSON.
 */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** One tensor as stored in a safetensors file. */
export interface RawTensor {
  /** Element type. */
  dtype: SafetensorsDtype;
  /** Dimensions, outermost first; `[]` for a scalar (one element). Non-negative integers; a 0 makes it empty. */
  shape: number[];
  /** Raw elements: little-endian, row-major, exactly `product(shape) × dtypeByteSize(dtype)` bytes. */
  data: Uint8Array;
}

/** Content of a safetensors file. */
export interface DecodedSafetensors {
  /** Tensors by name, in the order their data appears in the file. */
  tensors: Map<string, RawTensor>;
  /** The `__metadata__` entries; empty when the file has none. */
  metadata: Record<string, string>;
}

/** Options of {@link decodeSafetensors}. */
export interface DecodeSafetensorsOptions {
  /** Where the bytes came from (usually the file path); named in every error message. */
  source?: string;
}

/** The natural typed array of each dtype, as returned by {@link rawToTypedArray}. */
export interface TypedArrayByDtype {
  /** Doubles. */
  F64: Float64Array;
  /** Floats. */
  F32: Float32Array;
  /** binary16 bit patterns; see {@link float16BitsToFloat32}. */
  F16: Uint16Array;
  /** bfloat16 bit patterns (the top 16 bits of a float32). */
  BF16: Uint16Array;
  /** 64-bit integers. */
  I64: BigInt64Array;
  /** 32-bit integers. */
  I32: Int32Array;
  /** 16-bit integers. */
  I16: Int16Array;
  /** Signed bytes. */
  I8: Int8Array;
  /** Unsigned bytes. */
  U8: Uint8Array;
  /** Booleans as bytes, 0 or 1. */
  BOOL: Uint8Array;
}

/** Bytes per element of each dtype. */
const DTYPE_BYTE_SIZES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/**
 * Position of each dtype in the data buffer we write. Largest elements first, so with the header padded to 8 bytes
 * every tensor starts at a multiple of its element size in the file, and readers can view it in place. The order
 * within a size is the reference implementation's, so our files are laid out like the ones it writes.
 */
const LAYOUT_RANK: Record<SafetensorsDtype, number> = {
  I64: 0,
  F64: 1,
  F32: 2,
  I32: 3,
  BF16: 4,
  F16: 5,
  I16: 6,
  I8: 7,
  U8: 8,
  BOOL: 9,
};

const TYPED_ARRAY_CONSTRUCTORS: { [D in SafetensorsDtype]: new (buffer: ArrayBuffer) => TypedArrayByDtype[D] } = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

const METADATA_KEY = '__metadata__';

/** Typed arrays use the host's byte order; the file's is little-endian. */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Whether `s` names a dtype this module supports.
 *
 * @param s - A dtype name as found in a header, e.g. `"F32"`.
 */
export function isSafetensorsDtype(s: string): s is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTE_SIZES, s);
}

/**
 * Size of one element of `d`, in bytes (1, 2, 4 or 8).
 *
 * @param d - Element type.
 */
export function dtypeByteSize(d: SafetensorsDtype): number {
  return DTYPE_BYTE_SIZES[d];
}

function describe(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Number of elements of `shape`, or `undefined` when it is not an array of non-negative integers or overflows. */
function elementCount(shape: unknown): number | undefined {
  if (!Array.isArray(shape)) return undefined;
  let n = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) return undefined;
    n *= dim;
  }
  // Past 2^53 the product is no longer exact; no buffer is that large anyway.
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Checks dtype, shape and byte length of `t`, throwing with `where` in the message. */
function checkRawTensor(t: RawTensor, where: string): void {
  if (!isSafetensorsDtype(t.dtype)) throw new Error(`${where}: unknown dtype ${describe(t.dtype)}`);
  const n = elementCount(t.shape);
  if (n === undefined) {
    throw new Error(`${where}: bad shape ${describe(t.shape)}; dimensions must be non-negative integers`);
  }
  const expected = n * DTYPE_BYTE_SIZES[t.dtype];
  if (t.data.byteLength !== expected) {
    throw new Error(
      `${where}: data is ${t.data.byteLength} bytes but shape ${describe(t.shape)} of ${t.dtype} needs ${expected}`,
    );
  }
}

function requireLittleEndianHost(): void {
  if (!LITTLE_ENDIAN_HOST) {
    throw new Error('safetensors typed-array conversion assumes a little-endian host, and this one is big-endian');
  }
}

/** A copy of the bytes of `view` in a fresh, hence aligned, buffer. */
function copyBytes(view: ArrayBufferView): Uint8Array<ArrayBuffer> {
  // Rewrapping first matters: `Buffer#slice` returns a view, not a copy.
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Serializes tensors to the bytes of a safetensors file.
 *
 * Deterministic: the same tensors and metadata always give identical bytes, whatever the insertion order. Tensors are
 * laid out by element size, largest first (ties in the reference implementation's dtype order), then by name in
 * UTF-16 code-unit order, which keeps every tensor aligned to its element size within the file. Metadata keys are
 * sorted; an empty or absent `metadata` writes no `__metadata__` entry. The header is padded with spaces so the data
 * starts at an 8-byte boundary.
 *
 * @param tensors - Tensors by name. Names must be non-empty and not `__metadata__`.
 * @param metadata - Free-form string entries stored under `__metadata__` (PyTorch writers put `{"format": "pt"}`).
 * @returns The whole file.
 * @throws Error on an invalid name, dtype, shape, a data length that does not match the shape, a non-string metadata
 *   value, or a header over {@link SAFETENSORS_MAX_HEADER_BYTES}.
 * @example
 * ```ts
 * const bytes = encodeSafetensors(
 *   { 'conv.weight': rawFromFloat32(new Float32Array([0.5, -1]), [2]) },
 *   { format: 'pt' },
 * );
 * ```
 */
export function encodeSafetensors(
  tensors: Record<string, RawTensor> | Map<string, RawTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '' || name === METADATA_KEY) {
      throw new Error(`cannot encode safetensors: invalid tensor name ${describe(name)}`);
    }
    checkRawTensor(t, `cannot encode safetensors: tensor '${name}'`);
  }
  entries.sort(([nameA, a], [nameB, b]) => LAYOUT_RANK[a.dtype] - LAYOUT_RANK[b.dtype] || compareNames(nameA, nameB));

  // The header is assembled by hand because JSON.stringify of an object would move integer-like names ("0", "12")
  // ahead of the others, and we want the header to list tensors in file order.
  const members: string[] = [];
  const meta = metadata ?? {};
  const metadataKeys = Object.keys(meta).sort(compareNames);
  if (metadataKeys.length > 0) {
    const fields = metadataKeys.map((key) => {
      const value: unknown = meta[key];
      if (typeof value !== 'string') {
        throw new Error(
          `cannot encode safetensors: __metadata__ value of '${key}' is ${describe(value)}, not a string`,
        );
      }
      return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    });
    members.push(`${JSON.stringify(METADATA_KEY)}:{${fields.join(',')}}`);
  }
  let dataLength = 0;
  for (const [name, t] of entries) {
    const end = dataLength + t.data.byteLength;
    const info = { dtype: t.dtype, shape: t.shape, data_offsets: [dataLength, end] };
    members.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    dataLength = end;
  }
  const headerText = new TextEncoder().encode(`{${members.join(',')}}`);
  const headerLength = Math.ceil(headerText.byteLength / 8) * 8;
  if (headerLength > SAFETENSORS_MAX_HEADER_BYTES) {
    throw new Error(
      `cannot encode safetensors: header of ${headerLength} bytes exceeds the ` +
        `${SAFETENSORS_MAX_HEADER_BYTES}-byte limit`,
    );
  }

  const out = new Uint8Array(8 + headerLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(headerText, 8);
  out.fill(0x20, 8 + headerText.byteLength, 8 + headerLength);
  let offset = 8 + headerLength;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), offset);
    offset += t.data.byteLength;
  }
  return out;
}

interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses the bytes of a safetensors file, validating all of it before returning anything, so a corrupt or truncated
 * checkpoint fails here with a precise message rather than later as garbage weights. Dtypes outside
 * {@link SafetensorsDtype} are refused; fields other than `dtype`, `shape` and `data_offsets` in a tensor entry are
 * ignored, as the reference implementation does.
 *
 * The returned tensors' `data` are views into `bytes`, not copies: no time or memory is spent on them, but writing
 * to `bytes` changes them. Copy with `data.slice()` where that matters. The views may sit at any byte offset, so do
 * not wrap them in wider typed arrays directly; {@link rawToTypedArray} and {@link rawToFloat32} handle that.
 *
 * @param bytes - A whole safetensors file.
 * @param opts - Where the bytes came from, for error messages.
 * @throws Error naming the source and the problem: a file under 8 bytes, a header length past the end of the file or
 *   over {@link SAFETENSORS_MAX_HEADER_BYTES}, a header that is not UTF-8, not JSON or not an object, a non-string
 *   `__metadata__` value, an unknown dtype, a bad shape, `data_offsets` that are not integers, reversed, out of range
 *   or of the wrong length for dtype and shape, and tensors that overlap or leave gaps or trailing bytes.
 * @example
 * ```ts
 * const { tensors, metadata } = decodeSafetensors(bytes, { source: 'unet.safetensors' });
 * const weight = rawToFloat32(tensors.get('conv.weight')!);
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array, opts: DecodeSafetensorsOptions = {}): DecodedSafetensors {
  const where = opts.source === undefined ? 'invalid safetensors data' : `invalid safetensors file '${opts.source}'`;
  const fail = (problem: string): Error => new Error(`${where}: ${problem}`);

  if (bytes.byteLength < 8) {
    throw fail(`file is too short (${bytes.byteLength} bytes) to hold the 8-byte header length`);
  }
  const declaredLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declaredLength > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    throw fail(`header length ${declaredLength} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit`);
  }
  const headerLength = Number(declaredLength);
  if (8 + headerLength > bytes.byteLength) {
    throw fail(`header length ${headerLength} runs past the end of the file (${bytes.byteLength} bytes)`);
  }

  let headerText: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, where JSON.parse rejects it, as the reference does.
    headerText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (err) {
    throw fail(`header is not valid JSON (${errorMessage(err)})`);
  }
  if (!isJsonObject(header)) throw fail(`header is not a JSON object but ${describe(header).slice(0, 40)}`);

  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  let metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!isJsonObject(value)) throw fail(`__metadata__ is not an object of strings but ${describe(value)}`);
      for (const [key, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw fail(`__metadata__ value of '${key}' is ${describe(v)}, not a string`);
      }
      // fromEntries defines own properties, so a key like "__proto__" cannot reach the prototype.
      metadata = Object.fromEntries(Object.entries(value)) as Record<string, string>;
      continue;
    }
    if (!isJsonObject(value)) throw fail(`entry of tensor '${name}' is not an object`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string' || !isSafetensorsDtype(dtype)) {
      const supported = Object.keys(DTYPE_BYTE_SIZES).join(', ');
      throw fail(`tensor '${name}' has unknown dtype ${describe(dtype)} (supported: ${supported})`);
    }
    const count = elementCount(shape);
    if (count === undefined) {
      throw fail(`tensor '${name}' has bad shape ${describe(shape)}; dimensions must be non-negative integers`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o: unknown) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      throw fail(`tensor '${name}' has bad data_offsets ${describe(offsets)}; need two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw fail(`tensor '${name}' has data_offsets [${begin}, ${end}] with end before begin`);
    if (end > dataLength) {
      throw fail(
        `tensor '${name}' has data_offsets [${begin}, ${end}] out of range of the ${dataLength}-byte data buffer`,
      );
    }
    const expected = count * DTYPE_BYTE_SIZES[dtype];
    if (end - begin !== expected) {
      throw fail(
        `tensor '${name}' spans ${end - begin} bytes but shape ${describe(shape)} of ${dtype} needs ${expected} bytes`,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // The format requires the tensors to tile the data buffer exactly; anything else means a corrupt or truncated file.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous = '';
  for (const e of entries) {
    if (e.begin < covered) {
      throw fail(
        `tensor '${e.name}' at bytes [${e.begin}, ${e.end}) overlaps tensor '${previous}' (ends at ${covered})`,
      );
    }
    if (e.begin > covered) {
      throw fail(`gap of ${e.begin - covered} bytes in the data buffer before tensor '${e.name}' at ${e.begin}`);
    }
    covered = e.end;
    previous = e.name;
  }
  if (covered !== dataLength) {
    throw fail(`${dataLength - covered} trailing bytes after the last tensor (data buffer ${dataLength} bytes)`);
  }

  const decoded = new Map<string, RawTensor>();
  for (const e of entries) {
    decoded.set(e.name, {
      dtype: e.dtype,
      shape: e.shape,
      data: new Uint8Array(bytes.buffer, bytes.byteOffset + dataStart + e.begin, e.end - e.begin),
    });
  }
  return { tensors: decoded, metadata };
}

function rawFromTyped(
  dtype: SafetensorsDtype,
  data: ArrayBufferView & { length: number },
  shape: readonly number[],
  where: string,
): RawTensor {
  const n = elementCount(shape);
  if (n === undefined) {
    throw new Error(`${where}: bad shape ${describe(shape)}; dimensions must be non-negative integers`);
  }
  if (n !== data.length) {
    throw new Error(`${where}: shape ${describe(shape)} holds ${n} elements but data has ${data.length}`);
  }
  requireLittleEndianHost();
  return { dtype, shape: [...shape], data: copyBytes(data) };
}

/**
 * Packs float32 values as a tensor, stored as `F32` or, halving the size, as `F16` (rounded to nearest even; values
 * beyond ±65504 become ±Infinity). The bytes are a copy.
 *
 * @param data - Elements in row-major order.
 * @param shape - Dimensions; their product must equal `data.length`.
 * @param dtype - Storage type.
 * @example
 * ```ts
 * const t = rawFromFloat32(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], 'F16');
 * ```
 */
export function rawFromFloat32(data: Float32Array, shape: readonly number[], dtype: 'F32' | 'F16' = 'F32'): RawTensor {
  return dtype === 'F16'
    ? rawFromTyped('F16', float32ToFloat16Bits(data), shape, 'rawFromFloat32')
    : rawFromTyped('F32', data, shape, 'rawFromFloat32');
}

/**
 * Packs 32-bit integers as an `I32` tensor. The bytes are a copy.
 *
 * @param data - Elements in row-major order.
 * @param shape - Dimensions; their product must equal `data.length`.
 */
export function rawFromInt32(data: Int32Array, shape: readonly number[]): RawTensor {
  return rawFromTyped('I32', data, shape, 'rawFromInt32');
}

/**
 * Packs signed bytes as an `I8` tensor (e.g. int8-quantized weights). The bytes are a copy.
 *
 * @param data - Elements in row-major order.
 * @param shape - Dimensions; their product must equal `data.length`.
 */
export function rawFromInt8(data: Int8Array, shape: readonly number[]): RawTensor {
  return rawFromTyped('I8', data, shape, 'rawFromInt8');
}

/**
 * Packs unsigned bytes as a `U8` tensor. The bytes are a copy.
 *
 * @param data - Elements in row-major order.
 * @param shape - Dimensions; their product must equal `data.length`.
 */
export function rawFromUint8(data: Uint8Array, shape: readonly number[]): RawTensor {
  return rawFromTyped('U8', data, shape, 'rawFromUint8');
}

/**
 * The elements of a tensor as its natural typed array (see {@link TypedArrayByDtype}; `F16` and `BF16` come back as
 * bit patterns). Always a fresh copy, aligned whatever the alignment of `t.data`.
 *
 * @param t - A tensor, e.g. from {@link decodeSafetensors}.
 * @throws Error when the data length does not match dtype and shape.
 * @example
 * ```ts
 * const steps = rawToTypedArray(tensors.get('timesteps')!); // Int32Array for an I32 tensor
 * ```
 */
export function rawToTypedArray<D extends SafetensorsDtype>(t: RawTensor & { dtype: D }): TypedArrayByDtype[D] {
  checkRawTensor(t, 'rawToTypedArray');
  requireLittleEndianHost();
  const Ctor: new (buffer: ArrayBuffer) => TypedArrayByDtype[D] = TYPED_ARRAY_CONSTRUCTORS[t.dtype];
  return new Ctor(copyBytes(t.data).buffer);
}

/**
 * The elements of a tensor converted to float32, a fresh array in row-major order. `F16` and `BF16` widen exactly;
 * `F64` and integers wider than 24 bits round to the nearest float32; `BOOL` gives 0 and 1.
 *
 * @param t - A tensor of any supported dtype.
 * @throws Error when the data length does not match dtype and shape, or for an `I64` value beyond ±(2^53 − 1),
 *   which cannot pass through a JavaScript number safely.
 * @example
 * ```ts
 * const values = rawToFloat32(tensors.get('conv.weight')!);
 * ```
 */
export function rawToFloat32(t: RawTensor): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return rawToTypedArray({ ...t, dtype: 'F32' });
    case 'F16':
      return float16BitsToFloat32(rawToTypedArray({ ...t, dtype: 'F16' }));
    case 'BF16': {
      const halves = rawToTypedArray({ ...t, dtype: 'BF16' });
      const bits = new Uint32Array(halves.length);
      for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case 'I64': {
      const wide = rawToTypedArray({ ...t, dtype: 'I64' });
      const out = new Float32Array(wide.length);
      const limit = BigInt(Number.MAX_SAFE_INTEGER);
      for (let i = 0; i < wide.length; i++) {
        const v = wide[i];
        if (v > limit || v < -limit) {
          throw new Error(`rawToFloat32: I64 value ${v} at index ${i} is beyond ±(2^53 - 1)`);
        }
        out[i] = Number(v);
      }
      return out;
    }
    case 'BOOL':
      return Float32Array.from(rawToTypedArray({ ...t, dtype: 'BOOL' }), (b) => (b === 0 ? 0 : 1));
    default:
      return new Float32Array(rawToTypedArray({ ...t, dtype: t.dtype }));
  }
}

/**
 * Writes tensors to a safetensors file atomically: the bytes go to a temporary file next to `filePath` (named
 * `<filePath>.tmp-<pid>-<random>`), are flushed to disk, and the file is renamed into place, so a crash mid-write
 * never leaves a truncated checkpoint under the real name. Missing parent directories are created.
 *
 * @param filePath - Destination, conventionally ending in `.safetensors`.
 * @param tensors - Tensors by name; see {@link encodeSafetensors}.
 * @param metadata - Optional `__metadata__` entries.
 * @throws Error naming `filePath` when encoding or writing fails; the temporary file is removed.
 * @example
 * ```ts
 * writeSafetensorsFile('ckpt/unet.safetensors', { w: rawFromFloat32(weights, [64, 3, 3, 3]) }, { format: 'pt' });
 * ```
 */
export function writeSafetensorsFile(
  filePath: string,
  tensors: Record<string, RawTensor> | Map<string, RawTensor>,
  metadata?: Record<string, string>,
): void {
  let bytes: Uint8Array;
  try {
    bytes = encodeSafetensors(tensors, metadata);
  } catch (err) {
    throw new Error(`cannot write safetensors file '${filePath}': ${errorMessage(err)}`, { cause: err });
  }
  try {
    writeFileAtomic(filePath, bytes);
  } catch (err) {
    throw new Error(`cannot write safetensors file '${filePath}': ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * Reads and decodes a safetensors file. The whole file is read into memory (Node caps a single read at 2 GiB).
 *
 * @param filePath - The file.
 * @returns The tensors, their `data` views into the file's bytes, and the metadata; see {@link decodeSafetensors}.
 * @throws Error naming `filePath` when the file cannot be read or is not valid safetensors.
 * @example
 * ```ts
 * const { tensors } = readSafetensorsFile('ckpt/unet.safetensors');
 * ```
 */
export function readSafetensorsFile(filePath: string): DecodedSafetensors {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(filePath);
  } catch (err) {
    throw new Error(`cannot read safetensors file '${filePath}': ${errorMessage(err)}`, { cause: err });
  }
  return decodeSafetensors(bytes, { source: filePath });
}
