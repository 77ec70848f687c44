/**
 * Reading PyTorch checkpoints (`torch.save` files, `.pt`/`.pth`/`.ckpt`/`.bin`) without executing any of their code.
 *
 * Since PyTorch 1.6 `torch.save` writes a zip archive: `<name>/data.pkl` is a pickle of the saved object in which
 * every tensor is a call `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` and every storage a
 * persistent id `('storage', torch.FloatStorage, key, location, numel)` whose bytes are the entry
 * `<name>/data/<key>`. A pickle is a program for a stack machine that may import and call any Python function;
 * `torch.load` runs it. This module interprets it instead, with a restricted unpickler: it implements only the
 * opcodes a dict of tensors needs and knows only the globals of {@link TORCH_PICKLE_GLOBALS}, whose effect it
 * reproduces in TypeScript. Anything else (`os.system`, `builtins.eval`, a class instance such as a whole
 * `nn.Module`, a numpy array) stops the reading with an error naming it; nothing is ever executed.
 *
 * The result has the shape of {@link decodeSafetensors}'s (tensor name → {@link RawTensor}), so a caller handles both
 * formats with one code path.
 */
import * as fs from 'node:fs';
import { RawTensor, SafetensorsDtype, dtypeByteSize } from './safetensors';
import { openZipArchive } from './zip-archive';

/**
 * The Python globals a checkpoint's pickle may name, and nothing else: `collections.OrderedDict` (how state dicts
 * are pickled), `torch._utils._rebuild_tensor_v2` (every tensor), `torch._utils._rebuild_parameter` (an
 * `nn.Parameter`), and the typed storage classes, by the dtype their bytes hold.
 */
export const TORCH_PICKLE_GLOBALS: readonly string[] = [
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch.FloatStorage',
  'torch.DoubleStorage',
  'torch.HalfStorage',
  'torch.BFloat16Storage',
  'torch.LongStorage',
  'torch.IntStorage',
  'torch.ShortStorage',
  'torch.CharStorage',
  'torch.ByteStorage',
  'torch.BoolStorage',
];

const STORAGE_DTYPES: Record<string, SafetensorsDtype> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/**
 * Entries of a saved dict that are tried, in this order, when the state dict is not the top-level object:
 * the EMA weights first (what sampling uses), then the usual names of the trained weights.
 */
export const TORCH_STATE_DICT_ENTRIES: readonly string[] = ['ema', 'state_dict', 'model'];

/** Options of {@link decodeTorchCheckpoint}. */
export interface DecodeTorchCheckpointOptions {
  /** Where the bytes came from (usually the file path); named in every error message. */
  source?: string;
  /**
   * Which entry of the saved object holds the state dict: a key of a top-level dict (`'model'`) or an index of a
   * top-level list (`'0'`). Default: the top-level object when it is a dict of tensors, else the first of
   * {@link TORCH_STATE_DICT_ENTRIES} present, else the only dict of tensors in it.
   */
  entry?: string;
}

/** Content of a PyTorch checkpoint: the state dict as raw tensors, and where in the file it was. */
export interface DecodedTorchCheckpoint {
  /** Tensors by name, in pickle order, each materialised row-major (contiguous) whatever its strides in the file. */
  tensors: Map<string, RawTensor>;
  /** The entry the tensors came from (`'ema'`, `'0'`, …), or `null` when the saved object itself is the state dict. */
  entry: string | null;
  /** Other entries that are also dicts of tensors (e.g. `'model'` when `'ema'` was used). */
  otherEntries: string[];
  /** `torch.archive` (the archive's folder name), `torch.version` (its `version` record) and `torch.entry`. */
  metadata: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------------------------
// Python values the unpickler can build

class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

class PyList {
  constructor(readonly items: PyValue[] = []) {}
}

type PyKey = string | number | bigint | boolean | null;

class PyDict {
  readonly keys: PyValue[] = [];
  readonly values: PyValue[] = [];
  private readonly index = new Map<PyKey, number>();

  set(key: PyValue, value: PyValue, fail: (problem: string) => Error): void {
    if (!isPrimitive(key)) throw fail(`a dict key of type ${typeName(key)} (only str, int, float, bool and None keys are supported)`);
    const at = this.index.get(key);
    if (at !== undefined) this.values[at] = value;
    else {
      this.index.set(key, this.keys.length);
      this.keys.push(key);
      this.values.push(value);
    }
  }
}

/** A callable or class named by GLOBAL: only the allow-listed ones are ever created. */
class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

class TorchStorage {
  constructor(
    readonly key: string,
    readonly dtype: SafetensorsDtype,
    readonly numel: number,
  ) {}
}

class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

type PyValue = null | boolean | number | bigint | string | Uint8Array | PyTuple | PyList | PyDict | PyGlobal | TorchStorage | TorchTensor;

function isPrimitive(v: PyValue): v is PyKey {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean';
}

function typeName(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyList) return 'list';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PyGlobal) return v.qualified;
  if (v instanceof TorchStorage) return 'storage';
  return 'tensor';
}

// ---------------------------------------------------------------------------------------------------------------
// The restricted unpickler

const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** The opcode as the pickletools name, e.g. `NEWOBJ (0x81)`. */
function opcodeName(op: number): string {
  const hex = `0x${op.toString(16).padStart(2, '0')}`;
  return OPCODE_NAMES[op] ? `${OPCODE_NAMES[op]} (${hex})` : `unknown opcode ${hex}`;
}

const ALLOWED = new Set(TORCH_PICKLE_GLOBALS);
const REFUSAL_HINT =
  'only a dict of tensors can be read without executing code (nothing was executed); if the file holds a whole model ' +
  'or other Python objects, load it in a trusted Python session and save its state dict: torch.save(model.state_dict(), f)';

/**
 * Interprets `pickle` with the restricted unpickler.
 *
 * @param where - Names the pickle in error messages.
 * @param storageOf - Resolves a persistent storage id (key, dtype, element count).
 */
function unpickle(pickle: Uint8Array, where: string, storageOf: (key: string, dtype: SafetensorsDtype, numel: number) => TorchStorage): PyValue {
  const view = new DataView(pickle.buffer, pickle.byteOffset, pickle.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = 0;
  let opAt = 0;
  const fail = (problem: string): Error => new Error(`${where}, byte ${opAt}: ${problem}`);
  const take = (n: number): Uint8Array => {
    if (pos + n > pickle.byteLength) throw fail(`the pickle ends in the middle of an instruction: truncated or corrupt`);
    const out = pickle.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const u8 = (): number => take(1)[0];
  const u16 = (): number => {
    take(2);
    return view.getUint16(pos - 2, true);
  };
  const u32 = (): number => {
    take(4);
    return view.getUint32(pos - 4, true);
  };
  const u64 = (): number => {
    take(8);
    const v = view.getBigUint64(pos - 8, true);
    if (v > BigInt(pickle.byteLength)) throw fail(`a length of ${v} bytes exceeds the pickle`);
    return Number(v);
  };
  const text = (n: number): string => {
    try {
      return utf8.decode(take(n));
    } catch {
      throw fail('a string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = pickle.indexOf(0x0a, pos);
    if (end < 0) throw fail('GLOBAL without a terminating newline: truncated or corrupt');
    const s = new TextDecoder('latin1').decode(pickle.subarray(pos, end));
    pos = end + 1;
    return s;
  };

  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();
  const pop = (): PyValue => {
    if (stack.length === 0) throw fail('stack underflow: corrupt pickle');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw fail('stack underflow: corrupt pickle');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const previous = marks.pop();
    if (!previous) throw fail('no MARK on the stack: corrupt pickle');
    stack = previous;
    return items;
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) throw fail(`memo entry ${i} was never stored: corrupt pickle`);
    return memo.get(i) as PyValue;
  };
  const global = (module: string, name: string): PyGlobal => {
    const qualified = `${module}.${name}`;
    if (!ALLOWED.has(qualified)) throw fail(`refused global '${qualified}': ${REFUSAL_HINT}`);
    return new PyGlobal(module, name);
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (!(target instanceof PyDict)) throw fail(`SETITEM(S) on a ${typeName(target)}, not a dict`);
    if (items.length % 2 !== 0) throw fail('SETITEMS with an odd number of items: corrupt pickle');
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1], fail);
  };
  const int = (v: PyValue, what: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw fail(`${what} is ${typeName(v)} ${String(v)}, not a non-negative integer`);
    return v;
  };
  const ints = (v: PyValue, what: string): number[] => {
    if (!(v instanceof PyTuple)) throw fail(`${what} is a ${typeName(v)}, not a tuple`);
    return v.items.map((x, i) => int(x, `${what}[${i}]`));
  };
  const call = (fn: PyValue, args: PyValue): PyValue => {
    if (!(fn instanceof PyGlobal)) throw fail(`REDUCE calls a ${typeName(fn)}`);
    if (!(args instanceof PyTuple)) throw fail(`REDUCE of ${fn.qualified} with ${typeName(args)} arguments`);
    const a = args.items;
    switch (fn.qualified) {
      case 'collections.OrderedDict':
        if (a.length !== 0) throw fail('collections.OrderedDict called with arguments (only OrderedDict() is supported)');
        return new PyDict();
      case 'torch._utils._rebuild_tensor_v2': {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (a.length < 6 || a.length > 7) throw fail(`_rebuild_tensor_v2 with ${a.length} arguments (expected 6 or 7)`);
        const [storage, offset, size, stride, , hooks] = a;
        if (!(storage instanceof TorchStorage)) throw fail(`_rebuild_tensor_v2 of a ${typeName(storage)}, not a storage`);
        if (hooks instanceof PyDict && hooks.keys.length > 0) throw fail('a tensor with backward hooks');
        const shape = ints(size, 'tensor size');
        const strides = ints(stride, 'tensor stride');
        if (shape.length !== strides.length) throw fail(`tensor size ${shape.length}-d but stride ${strides.length}-d`);
        return new TorchTensor(storage, int(offset, 'storage offset'), shape, strides);
      }
      case 'torch._utils._rebuild_parameter': {
        // (data, requires_grad, backward_hooks)
        if (a.length !== 3 || !(a[0] instanceof TorchTensor)) throw fail('_rebuild_parameter without a tensor as its data');
        return a[0];
      }
      default:
        throw fail(`${fn.qualified} cannot be called (a storage type is only valid inside a persistent id)`);
    }
  };

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: {
        const proto = u8();
        if (proto > 5) throw fail(`pickle protocol ${proto} is newer than 5`);
        break;
      }
      case 0x95: // FRAME: a length hint
        take(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) throw fail(`STOP with ${stack.length} values and ${marks.length} marks on the stack: corrupt pickle`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e:
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4a:
        take(4);
        stack.push(view.getInt32(pos - 4, true));
        break;
      case 0x4b:
        stack.push(u8());
        break;
      case 0x4d:
        stack.push(u16());
        break;
      case 0x8a: {
        // LONG1: n bytes of little-endian two's complement
        const b = take(u8());
        let v = 0n;
        for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47:
        take(8);
        stack.push(view.getFloat64(pos - 8, false));
        break;
      case 0x58:
        stack.push(text(u32()));
        break;
      case 0x8c:
        stack.push(text(u8()));
        break;
      case 0x8d:
        stack.push(text(u64()));
        break;
      case 0x54: // BINSTRING, SHORT_BINSTRING: Python 2 str, bytes taken as Latin-1
        stack.push(new TextDecoder('latin1').decode(take(u32())));
        break;
      case 0x55:
        stack.push(new TextDecoder('latin1').decode(take(u8())));
        break;
      case 0x42:
        stack.push(take(u32()).slice());
        break;
      case 0x43:
        stack.push(take(u8()).slice());
        break;
      case 0x8e:
        stack.push(take(u64()).slice());
        break;
      case 0x29:
        stack.push(new PyTuple([]));
        break;
      case 0x74: {
        // Not `stack.push(new PyTuple(popMark()))`: that would push onto the array popMark just discarded.
        const t = new PyTuple(popMark());
        stack.push(t);
        break;
      }
      case 0x85:
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x5d:
        stack.push(new PyList());
        break;
      case 0x6c: {
        const l = new PyList(popMark());
        stack.push(l);
        break;
      }
      case 0x61: {
        const v = pop();
        const list = top();
        if (!(list instanceof PyList)) throw fail(`APPEND to a ${typeName(list)}`);
        list.items.push(v);
        break;
      }
      case 0x65: {
        const items = popMark();
        const list = top();
        if (!(list instanceof PyList)) throw fail(`APPENDS to a ${typeName(list)}`);
        list.items.push(...items);
        break;
      }
      case 0x7d:
        stack.push(new PyDict());
        break;
      case 0x64: {
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71:
        memo.set(u8(), top());
        break;
      case 0x72:
        memo.set(u32(), top());
        break;
      case 0x94:
        memo.set(memo.size, top());
        break;
      case 0x68:
        stack.push(memoGet(u8()));
        break;
      case 0x6a:
        stack.push(memoGet(u32()));
        break;
      case 0x63: {
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('STACK_GLOBAL without two strings');
        stack.push(global(module, name));
        break;
      }
      case 0x52: {
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: state_dict() pickles its `_metadata` (module versions) as instance state of the OrderedDict.
        const state = pop();
        const target = top();
        if (state !== null && !(target instanceof PyDict && state instanceof PyDict)) {
          throw fail(`BUILD sets the state of a ${typeName(target)} to a ${typeName(state)}`);
        }
        break;
      }
      case 0x51: {
        const pid = pop();
        if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage' || pid.items.length !== 5) {
          throw fail(`persistent id ${typeName(pid)} is not ('storage', type, key, location, numel)`);
        }
        const [, type, key, , numel] = pid.items;
        if (!(type instanceof PyGlobal) || type.module !== 'torch' || !STORAGE_DTYPES[type.name]) throw fail(`persistent id with storage type ${typeName(type)}`);
        if (typeof key !== 'string') throw fail(`storage key is a ${typeName(key)}`);
        stack.push(storageOf(key, STORAGE_DTYPES[type.name], int(numel, 'storage size')));
        break;
      }
      default:
        throw fail(`refused opcode ${opcodeName(op)}: ${REFUSAL_HINT}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Archive, state-dict selection, materialisation

const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

function isStateDict(v: PyValue): v is PyDict {
  return v instanceof PyDict && v.keys.length > 0 && v.keys.every((k) => typeof k === 'string') && v.values.every((x) => x instanceof TorchTensor);
}

/** Largest tensor materialised, in bytes (2 GiB). */
const MAX_TENSOR_BYTES = 2 ** 31;

/** Copies `t`'s elements, in row-major order of its shape, out of its storage bytes. */
function materialise(t: TorchTensor, bytes: Uint8Array, name: string, fail: (problem: string) => Error): RawTensor {
  const size = dtypeByteSize(t.storage.dtype);
  const n = t.shape.reduce((a, b) => a * b, 1);
  // Zero strides let a small storage claim an enormous tensor; nothing in a real checkpoint comes near this.
  if (!Number.isSafeInteger(n * size) || n * size > MAX_TENSOR_BYTES) {
    throw fail(`tensor '${name}' (size [${t.shape.join(', ')}]) would take ${n * size} bytes, over the ${MAX_TENSOR_BYTES}-byte limit`);
  }
  const out = new Uint8Array(n * size);
  if (n === 0) return { dtype: t.storage.dtype, shape: [...t.shape], data: out };
  let last = t.offset;
  for (let d = 0; d < t.shape.length; d++) last += (t.shape[d] - 1) * t.stride[d];
  if (last >= t.storage.numel) {
    throw fail(`tensor '${name}' (size [${t.shape.join(', ')}], stride [${t.stride.join(', ')}], offset ${t.offset}) reaches element ${last} of a ${t.storage.numel}-element storage`);
  }
  const contiguous = t.shape.every((_, d) => t.stride[d] === t.shape.slice(d + 1).reduce((a, b) => a * b, 1) || t.shape[d] === 1);
  if (contiguous) {
    out.set(bytes.subarray(t.offset * size, (t.offset + n) * size));
    return { dtype: t.storage.dtype, shape: [...t.shape], data: out };
  }
  // General strides: walk the output in row-major order with an odometer over the dimensions.
  const rank = t.shape.length;
  const index = new Array<number>(rank).fill(0);
  let src = t.offset;
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < size; b++) out[i * size + b] = bytes[src * size + b];
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      src += t.stride[d];
      if (index[d] < t.shape[d]) break;
      src -= t.stride[d] * t.shape[d];
      index[d] = 0;
    }
  }
  return { dtype: t.storage.dtype, shape: [...t.shape], data: out };
}

/** Picks the state dict out of the unpickled object; see {@link DecodeTorchCheckpointOptions.entry}. */
function selectStateDict(root: PyValue, wanted: string | undefined, fail: (problem: string) => Error): { dict: PyDict; entry: string | null; others: string[] } {
  const named: Array<[string, PyValue]> =
    root instanceof PyDict
      ? root.keys.flatMap((k, i): Array<[string, PyValue]> => (typeof k === 'string' || typeof k === 'number' ? [[String(k), root.values[i]]] : []))
      : root instanceof PyList || root instanceof PyTuple
        ? root.items.map((v, i): [string, PyValue] => [String(i), v])
        : [];
  const candidates = named.filter(([, v]) => isStateDict(v)).map(([k]) => k);
  const pick = (entry: string): { dict: PyDict; entry: string; others: string[] } => ({
    dict: (named.find(([k]) => k === entry) as [string, PyDict])[1],
    entry,
    others: candidates.filter((c) => c !== entry),
  });
  if (wanted !== undefined) {
    if (candidates.includes(wanted)) return pick(wanted);
    throw fail(`entry '${wanted}' is not a dict of tensors; ${candidates.length > 0 ? `entries that are: ${candidates.map((c) => `'${c}'`).join(', ')}` : 'no entry is'}`);
  }
  if (isStateDict(root)) return { dict: root, entry: null, others: [] };
  const preferred = TORCH_STATE_DICT_ENTRIES.find((e) => candidates.includes(e));
  if (preferred) return pick(preferred);
  if (candidates.length === 1) return pick(candidates[0]);
  if (candidates.length > 1) throw fail(`several entries are dicts of tensors (${candidates.map((c) => `'${c}'`).join(', ')}); choose one with the entry option`);
  const listed = named.slice(0, 12).map(([k, v]) => `'${k}': ${typeName(v)}`).join(', ');
  throw fail(`no dict of tensors found: the saved object is a ${typeName(root)}${named.length > 0 ? ` with ${listed}${named.length > 12 ? ', …' : ''}` : ''}`);
}

/**
 * Reads the bytes of a PyTorch checkpoint written by `torch.save` (PyTorch ≥ 1.6, the default zip format) without
 * executing any code in it, and returns its state dict as raw tensors.
 *
 * The state dict is the saved object itself when that is a dict of tensors, else an entry of it (see
 * {@link DecodeTorchCheckpointOptions.entry}); the result says which. Tensors that are views (a storage offset,
 * non-contiguous strides, several tensors sharing one storage) are copied out into contiguous row-major bytes.
 * Storages of every dtype in {@link TORCH_PICKLE_GLOBALS} are read; `F16`/`BF16` stay half precision (convert with
 * `rawToFloat32`).
 *
 * @param bytes - A whole `.pt`/`.pth`/`.ckpt`/`.bin` file.
 * @param options - Source name for errors; which entry holds the state dict.
 * @throws Error naming the source and the problem: not a zip archive (a truncated file, a safetensors file, the
 *   pre-1.6 legacy format, a bare pickle), a missing `data.pkl` or storage, a big-endian archive, a storage of the
 *   wrong size, a CRC failure, a truncated or corrupt pickle, any global outside {@link TORCH_PICKLE_GLOBALS}
 *   (`refused global 'posix.system'`) or opcode outside the supported set (`refused opcode NEWOBJ (0x81)`), a tensor
 *   reaching past its storage, or no dict of tensors where one was expected.
 * @example
 * ```ts
 * const { tensors, entry } = decodeTorchCheckpoint(fs.readFileSync('ema_cifar10.ckpt'), { source: 'ema_cifar10.ckpt' });
 * const w = rawToFloat32(tensors.get('conv_in.weight')!); // [128, 3, 3, 3], PyTorch layout
 * ```
 */
export function decodeTorchCheckpoint(bytes: Uint8Array, options: DecodeTorchCheckpointOptions = {}): DecodedTorchCheckpoint {
  const where = options.source === undefined ? 'torch checkpoint' : `torch checkpoint '${options.source}'`;
  const fail = (problem: string): Error => new Error(`${where}: ${problem}`);
  if (LEGACY_MAGIC.every((b, i) => bytes[i] === b)) {
    throw fail('this is the legacy (pre-PyTorch-1.6) torch.save format, which is not read; if you trust the file, re-save it in the zip format with a current PyTorch (torch.save(torch.load(f), f2))');
  }
  if (bytes.byteLength >= 9 && bytes[8] === 0x7b && bytes[0] !== 0x50) {
    throw fail('this looks like a safetensors file, not a torch.save zip archive (read it with readSafetensorsFile)');
  }
  if (bytes.byteLength > 0 && bytes[0] === 0x80) {
    throw fail('this is a bare pickle, not a torch.save zip archive; bare pickles are not read (save the state dict with torch.save)');
  }
  const zip = openZipArchive(bytes, where);
  const pickles = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    const code = [...zip.entries.keys()].some((n) => /^[^/]+\/code\//.test(n));
    throw fail(
      pickles.length === 0
        ? `no <name>/data.pkl in the archive${code ? '' : ` (entries: ${[...zip.entries.keys()].slice(0, 5).join(', ')}${zip.entries.size > 5 ? ', …' : ''})`}: not a torch.save file`
        : `${pickles.length} data.pkl records in the archive`,
    );
  }
  const archive = pickles[0].slice(0, -'/data.pkl'.length);
  if ([...zip.entries.keys()].some((n) => n.startsWith(`${archive}/code/`))) {
    throw fail('this is a TorchScript archive (torch.jit.save), which holds code; save the model\'s state dict with torch.save instead');
  }
  const byteorder = zip.entries.has(`${archive}/byteorder`) ? new TextDecoder().decode(zip.read(`${archive}/byteorder`)).trim() : 'little';
  if (byteorder !== 'little') throw fail(`the archive stores its tensors ${byteorder}-endian; only little-endian archives are read`);

  const storages = new Map<string, TorchStorage>();
  const root = unpickle(zip.read(pickles[0]), `${where}, ${pickles[0]}`, (key, dtype, numel) => {
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== dtype || known.numel !== numel) throw fail(`storage '${key}' is used as ${known.dtype}[${known.numel}] and as ${dtype}[${numel}]`);
      return known;
    }
    const s = new TorchStorage(key, dtype, numel);
    storages.set(key, s);
    return s;
  });
  const { dict, entry, others } = selectStateDict(root, options.entry, fail);

  const storageBytes = new Map<string, Uint8Array>();
  const tensors = new Map<string, RawTensor>();
  dict.keys.forEach((k, i) => {
    const name = k as string;
    const t = dict.values[i] as TorchTensor;
    let data = storageBytes.get(t.storage.key);
    if (!data) {
      const file = `${archive}/data/${t.storage.key}`;
      if (!zip.entries.has(file)) throw fail(`storage '${t.storage.key}' of tensor '${name}' has no record ${file}`);
      data = zip.read(file);
      const expected = t.storage.numel * dtypeByteSize(t.storage.dtype);
      if (data.byteLength !== expected) throw fail(`storage record ${file} has ${data.byteLength} bytes, its ${t.storage.numel} ${t.storage.dtype} elements need ${expected}`);
      storageBytes.set(t.storage.key, data);
    }
    tensors.set(name, materialise(t, data, name, fail));
  });
  const metadata: Record<string, string> = { 'torch.archive': archive, 'torch.entry': entry ?? '' };
  if (zip.entries.has(`${archive}/version`)) metadata['torch.version'] = new TextDecoder().decode(zip.read(`${archive}/version`)).trim();
  return { tensors, entry, otherEntries: others, metadata };
}

/**
 * Reads a PyTorch checkpoint file without executing code; see {@link decodeTorchCheckpoint}.
 *
 * @param filePath - A `.pt`/`.pth`/`.ckpt`/`.bin` file written by `torch.save`.
 * @param options - Which entry holds the state dict (the source is the path).
 * @throws Error naming `filePath` when it cannot be read or is refused.
 * @example
 * ```ts
 * const { tensors } = readTorchCheckpointFile('diffusion_pytorch_model.bin');
 * ```
 */
export function readTorchCheckpointFile(filePath: string, options: Omit<DecodeTorchCheckpointOptions, 'source'> = {}): DecodedTorchCheckpoint {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(filePath);
  } catch (err) {
    throw new Error(`cannot read torch checkpoint '${filePath}': ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return decodeTorchCheckpoint(bytes, { ...options, source: filePath });
}
