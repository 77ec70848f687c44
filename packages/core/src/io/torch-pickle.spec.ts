import { deflateRawSync } from 'node:zlib';
import { encodeSafetensors, rawFromFloat32, rawToFloat32, rawToTypedArray } from './safetensors';
import { decodeTensorFile } from './tensor-file';
import { decodeTorchCheckpoint } from './torch-pickle';
import { crc32 } from './zip-archive';

// ---------------------------------------------------------------------------------------------------------------
// Hand-made archives: a zip writer and a pickle assembler, byte by byte, so the reader is tested against the
// formats' definitions rather than against itself.

interface ZipOptions {
  /** Deflate every entry (method 8) instead of storing it. */
  deflate?: boolean;
  /** End the archive with a zip64 end record and locator, as torch.save does. */
  zip64?: boolean;
}

function u16(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff];
}
function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
function u64(n: number): number[] {
  return [...u32(n), ...u32(Math.floor(n / 2 ** 32))];
}

function zip(files: Record<string, Uint8Array>, options: ZipOptions = {}): Uint8Array {
  const out: number[] = [];
  const central: number[] = [];
  const names = Object.keys(files);
  for (const name of names) {
    const data = files[name];
    const stored = options.deflate ? deflateRawSync(data) : data;
    const nameBytes = [...new TextEncoder().encode(name)];
    const offset = out.length;
    const common = [...u16(20), ...u16(0), ...u16(options.deflate ? 8 : 0), ...u16(0), ...u16(0), ...u32(crc32(data)), ...u32(stored.length), ...u32(data.length), ...u16(nameBytes.length), ...u16(0)];
    out.push(...u32(0x04034b50), ...common, ...nameBytes, ...stored);
    central.push(...u32(0x02014b50), ...u16(20), ...common, ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(offset), ...nameBytes);
  }
  const dirOffset = out.length;
  out.push(...central);
  if (options.zip64) {
    const rec = out.length;
    out.push(...u32(0x06064b50), ...u64(44), ...u16(45), ...u16(45), ...u32(0), ...u32(0), ...u64(names.length), ...u64(names.length), ...u64(central.length), ...u64(dirOffset));
    out.push(...u32(0x07064b50), ...u32(0), ...u64(rec), ...u32(1));
    out.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(0xffff), ...u16(0xffff), ...u32(0xffffffff), ...u32(0xffffffff), ...u16(0));
  } else {
    out.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(names.length), ...u16(names.length), ...u32(central.length), ...u32(dirOffset), ...u16(0));
  }
  return new Uint8Array(out);
}

/** A protocol-2 pickle assembler with the opcodes torch.save emits. */
class Pickle {
  readonly bytes: number[] = [0x80, 0x02];
  private memo = 0;

  op(...codes: number[]): this {
    this.bytes.push(...codes);
    return this;
  }
  str(s: string): this {
    const b = [...new TextEncoder().encode(s)];
    return this.op(0x58, ...u32(b.length), ...b);
  }
  int(n: number): this {
    return n < 256 ? this.op(0x4b, n) : this.op(0x4a, ...u32(n));
  }
  float(x: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, false);
    return this.op(0x47, ...b);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  put(): this {
    return this.op(0x71, this.memo++);
  }
  ints(values: number[]): this {
    this.op(0x28);
    values.forEach((v) => this.int(v));
    return this.op(0x74);
  }
  /** `_rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`. */
  tensor(type: string, key: string, numel: number, offset: number, size: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    this.op(0x28).str('storage').global('torch', type).str(key).str('cpu').int(numel).op(0x74, 0x51);
    this.int(offset).ints(size).ints(stride).op(0x89);
    this.global('collections', 'OrderedDict').op(0x29, 0x52);
    return this.op(0x74, 0x52);
  }
  stop(): Uint8Array {
    return new Uint8Array([...this.bytes, 0x2e]);
  }
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function archive(pickle: Uint8Array, storages: Record<string, Uint8Array>, options?: ZipOptions): Uint8Array {
  const files: Record<string, Uint8Array> = { 'archive/data.pkl': pickle };
  for (const [k, v] of Object.entries(storages)) files[`archive/data/${k}`] = v;
  files['archive/version'] = new TextEncoder().encode('3\n');
  return zip(files, options);
}

/** A state dict pickled as torch.save pickles `model.state_dict()`: OrderedDict items, then its `_metadata` by BUILD. */
function stateDictPickle(p: Pickle, body: (p: Pickle) => void): Pickle {
  p.global('collections', 'OrderedDict').put().op(0x29, 0x52).put().op(0x28);
  body(p);
  p.op(0x75);
  // BUILD with {'_metadata': OrderedDict({'': {'version': 1}})}
  p.op(0x7d).str('_metadata').global('collections', 'OrderedDict').op(0x29, 0x52).str('').op(0x7d).str('version').int(1).op(0x73, 0x73, 0x73, 0x62);
  return p;
}

// Storage 0: 12 floats 0…11; storage 1: 3 halves; storage 2: 2 int64.
const STORAGE0 = f32Bytes(Array.from({ length: 12 }, (_, i) => i));
const STORAGE1 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3800]).buffer); // 1, -2, 0.5
const STORAGE2 = new Uint8Array(new BigInt64Array([7n, -3n]).buffer);

function sampleStateDict(p: Pickle): void {
  p.str('a').tensor('FloatStorage', '0', 12, 0, [3, 4], [4, 1]); // the whole storage, contiguous
  p.str('a.T').tensor('FloatStorage', '0', 12, 0, [4, 3], [1, 4]); // its transpose: non-contiguous
  p.str('row1').tensor('FloatStorage', '0', 12, 4, [4], [1]); // offset view
  p.str('strided').tensor('FloatStorage', '0', 12, 1, [2, 2], [6, 2]); // offset and strides
  p.str('scalar').tensor('FloatStorage', '0', 12, 5, [], []);
  p.str('half').tensor('HalfStorage', '1', 3, 0, [3], [1]);
  p.str('long').tensor('LongStorage', '2', 2, 0, [2], [1]);
}

describe('decodeTorchCheckpoint: state dicts', () => {
  const expectSample = (tensors: Map<string, import('./safetensors').RawTensor>): void => {
    const get = (n: string): number[] => Array.from(rawToFloat32(tensors.get(n) as import('./safetensors').RawTensor));
    expect([...tensors.keys()]).toEqual(['a', 'a.T', 'row1', 'strided', 'scalar', 'half', 'long']);
    expect(get('a')).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(tensors.get('a.T')?.shape).toEqual([4, 3]);
    expect(get('a.T')).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(get('row1')).toEqual([4, 5, 6, 7]);
    expect(get('strided')).toEqual([1, 3, 7, 9]);
    expect(tensors.get('scalar')?.shape).toEqual([]);
    expect(get('scalar')).toEqual([5]);
    expect(tensors.get('half')?.dtype).toBe('F16');
    expect(get('half')).toEqual([1, -2, 0.5]);
    expect(Array.from(rawToTypedArray({ ...(tensors.get('long') as import('./safetensors').RawTensor), dtype: 'I64' }))).toEqual([7n, -3n]);
  };

  it('reads a state dict (OrderedDict + _metadata) with contiguous, offset, strided, scalar, half and int64 tensors', () => {
    const p = stateDictPickle(new Pickle(), sampleStateDict).stop();
    const out = decodeTorchCheckpoint(archive(p, { 0: STORAGE0, 1: STORAGE1, 2: STORAGE2 }), { source: 'sd.pt' });
    expect(out.entry).toBeNull();
    expect(out.metadata).toEqual({ 'torch.archive': 'archive', 'torch.entry': '', 'torch.version': '3' });
    expectSample(out.tensors);
  });

  it('reads deflated entries and a zip64 end record', () => {
    const p = stateDictPickle(new Pickle(), sampleStateDict).stop();
    expectSample(decodeTorchCheckpoint(archive(p, { 0: STORAGE0, 1: STORAGE1, 2: STORAGE2 }, { deflate: true })).tensors);
    expectSample(decodeTorchCheckpoint(archive(p, { 0: STORAGE0, 1: STORAGE1, 2: STORAGE2 }, { zip64: true })).tensors);
  });

  it('finds the state dict in a training checkpoint and reports which entry it used', () => {
    // {'epoch': 3, 'lr': 1e-4, 'flags': [True, None], 'model': {...}, 'ema': {...}}
    const p = new Pickle().op(0x7d).op(0x28);
    p.str('epoch').int(3).str('lr').float(1e-4).str('flags').op(0x5d, 0x28, 0x88, 0x4e, 0x65);
    p.str('model').op(0x7d, 0x28).str('w').tensor('FloatStorage', '0', 12, 0, [12], [1]).op(0x75);
    p.str('ema').op(0x7d, 0x28).str('w').tensor('FloatStorage', '0', 12, 1, [2], [1]).op(0x75);
    p.op(0x75);
    const bytes = archive(p.stop(), { 0: STORAGE0 });
    const ema = decodeTorchCheckpoint(bytes);
    expect(ema.entry).toBe('ema');
    expect(ema.otherEntries).toEqual(['model']);
    expect(Array.from(rawToFloat32(ema.tensors.get('w') as import('./safetensors').RawTensor))).toEqual([1, 2]);
    const model = decodeTorchCheckpoint(bytes, { entry: 'model' });
    expect(model.entry).toBe('model');
    expect(model.tensors.get('w')?.shape).toEqual([12]);
    expect(() => decodeTorchCheckpoint(bytes, { entry: 'epoch' })).toThrow("entry 'epoch' is not a dict of tensors; entries that are: 'model', 'ema'");
  });

  it("reads a list's only dict of tensors (DDIM's ckpt.pth is [state_dict, optimizer, epoch, step])", () => {
    const p = new Pickle().op(0x5d, 0x28).op(0x7d, 0x28).str('w').tensor('FloatStorage', '0', 12, 0, [12], [1]).op(0x75);
    p.op(0x7d, 0x28).str('state').op(0x7d).str('param_groups').op(0x5d).op(0x75).int(5).int(1000).op(0x65);
    const out = decodeTorchCheckpoint(archive(p.stop(), { 0: STORAGE0 }));
    expect(out.entry).toBe('0');
    expect([...out.tensors.keys()]).toEqual(['w']);
  });

  it('reads tensors saved as nn.Parameter (_rebuild_parameter)', () => {
    const p = new Pickle().op(0x7d, 0x28).str('w').global('torch._utils', '_rebuild_parameter').op(0x28);
    p.tensor('FloatStorage', '0', 12, 0, [2, 6], [6, 1]).op(0x88).global('collections', 'OrderedDict').op(0x29, 0x52, 0x74, 0x52, 0x75);
    expect(decodeTorchCheckpoint(archive(p.stop(), { 0: STORAGE0 })).tensors.get('w')?.shape).toEqual([2, 6]);
  });
});

describe('decodeTorchCheckpoint: refusals (nothing is executed)', () => {
  it("refuses GLOBAL os system, naming it, before anything is called", () => {
    // {'w': os.system('echo pwned')}
    const p = new Pickle().op(0x7d, 0x28).str('w').global('os', 'system').str('echo pwned').op(0x85, 0x52, 0x75);
    expect(() => decodeTorchCheckpoint(archive(p.stop(), {}), { source: 'evil.pt' })).toThrow(
      /^torch checkpoint 'evil\.pt', archive\/data\.pkl, byte 10: refused global 'os\.system': only a dict of tensors can be read without executing code \(nothing was executed\)/,
    );
  });

  it('refuses STACK_GLOBAL builtins.eval and any class instance (NEWOBJ)', () => {
    const evil = new Pickle().str('builtins').str('eval').op(0x93).op(0x28).str('1+1').op(0x74, 0x52);
    expect(() => decodeTorchCheckpoint(archive(evil.stop(), {}))).toThrow("refused global 'builtins.eval'");
    const module = new Pickle().global('torch.nn.modules.linear', 'Linear').op(0x29, 0x81);
    expect(() => decodeTorchCheckpoint(archive(module.stop(), {}))).toThrow("refused global 'torch.nn.modules.linear.Linear'");
    const newobj = new Pickle().global('collections', 'OrderedDict').op(0x29, 0x81);
    expect(() => decodeTorchCheckpoint(archive(newobj.stop(), {}))).toThrow('refused opcode NEWOBJ (0x81)');
  });

  it('refuses calling a storage type, tensors past their storage, and storages of the wrong size', () => {
    const call = new Pickle().global('torch', 'FloatStorage').op(0x29, 0x52);
    expect(() => decodeTorchCheckpoint(archive(call.stop(), {}))).toThrow('torch.FloatStorage cannot be called');
    const past = new Pickle().op(0x7d, 0x28).str('w').tensor('FloatStorage', '0', 12, 8, [2, 3], [3, 1]).op(0x75);
    expect(() => decodeTorchCheckpoint(archive(past.stop(), { 0: STORAGE0 }))).toThrow("tensor 'w' (size [2, 3], stride [3, 1], offset 8) reaches element 13 of a 12-element storage");
    const huge = new Pickle().op(0x7d, 0x28).str('w').tensor('FloatStorage', '0', 12, 0, [65536, 65536], [0, 0]).op(0x75);
    expect(() => decodeTorchCheckpoint(archive(huge.stop(), { 0: STORAGE0 }))).toThrow("tensor 'w' (size [65536, 65536]) would take 17179869184 bytes, over the 2147483648-byte limit");
    const short = new Pickle().op(0x7d, 0x28).str('w').tensor('FloatStorage', '0', 16, 0, [16], [1]).op(0x75);
    expect(() => decodeTorchCheckpoint(archive(short.stop(), { 0: STORAGE0 }))).toThrow('storage record archive/data/0 has 48 bytes, its 16 F32 elements need 64');
  });

  it('refuses truncated and corrupt files', () => {
    const good = archive(stateDictPickle(new Pickle(), sampleStateDict).stop(), { 0: STORAGE0, 1: STORAGE1, 2: STORAGE2 });
    expect(() => decodeTorchCheckpoint(good.subarray(0, good.length - 30), { source: 'cut.pt' })).toThrow(
      "torch checkpoint 'cut.pt': no end-of-central-directory record: not a zip archive, or truncated",
    );
    const pickle = stateDictPickle(new Pickle(), sampleStateDict).stop();
    for (const cut of [100, 87, pickle.length - 1]) {
      expect(() => decodeTorchCheckpoint(archive(pickle.subarray(0, cut), { 0: STORAGE0 }))).toThrow(/^torch checkpoint, archive\/data\.pkl, byte \d+: .*(truncated or corrupt|corrupt pickle)/);
    }
    const flipped = good.slice();
    flipped[30 + 'archive/data.pkl'.length + 10] ^= 0xff; // a byte inside data.pkl (the first entry)
    expect(() => decodeTorchCheckpoint(flipped)).toThrow("entry 'archive/data.pkl' fails its CRC-32 check: corrupt");
    const noStop = new Pickle().op(0x7d).op(0x7d).stop();
    expect(() => decodeTorchCheckpoint(archive(noStop, {}))).toThrow('STOP with 2 values and 0 marks on the stack: corrupt pickle');
  });

  it('refuses foreign files: a zip without data.pkl, a bare or legacy pickle, safetensors, anything else', () => {
    expect(() => decodeTorchCheckpoint(zip({ 'readme.txt': new TextEncoder().encode('hi') }))).toThrow('no <name>/data.pkl in the archive (entries: readme.txt): not a torch.save file');
    const legacy = new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
    expect(() => decodeTorchCheckpoint(legacy)).toThrow('legacy (pre-PyTorch-1.6) torch.save format');
    expect(() => decodeTorchCheckpoint(new Pickle().op(0x7d).stop())).toThrow('this is a bare pickle, not a torch.save zip archive');
    const st = encodeSafetensors({ w: rawFromFloat32(new Float32Array([1]), [1]) });
    expect(() => decodeTorchCheckpoint(st)).toThrow('this looks like a safetensors file');
    expect(() => decodeTensorFile(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0]), { source: 'x.png' })).toThrow(
      'x.png: neither a safetensors file nor a torch.save zip archive (first bytes: 89 50 4e 47 00 00 00 00)',
    );
    const notDict = new Pickle().int(5).stop();
    expect(() => decodeTorchCheckpoint(archive(notDict, {}))).toThrow('no dict of tensors found: the saved object is a int');
  });
});

describe('decodeTensorFile', () => {
  it('tells safetensors from torch archives by content', () => {
    const st = decodeTensorFile(encodeSafetensors({ w: rawFromFloat32(new Float32Array([1, 2]), [2]) }, { format: 'pt' }));
    expect(st.format).toBe('safetensors');
    expect(st.metadata).toEqual({ format: 'pt' });
    const pt = decodeTensorFile(archive(stateDictPickle(new Pickle(), sampleStateDict).stop(), { 0: STORAGE0, 1: STORAGE1, 2: STORAGE2 }));
    expect(pt.format).toBe('torch');
    expect(pt.tensors.size).toBe(7);
    // A header of 384 bytes: the file starts with 0x80 0x01, like a pickle, and is still safetensors.
    const withName = (n: number): Uint8Array => encodeSafetensors({ ['w'.repeat(n)]: rawFromFloat32(new Float32Array([1]), [1]) });
    let n = 1;
    while (withName(n)[0] !== 0x80 || withName(n)[1] !== 0x01) n++;
    const long = withName(n);
    expect(decodeTensorFile(long).format).toBe('safetensors');
  });
});
