import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DecodedSafetensors,
  RawTensor,
  SAFETENSORS_MAX_HEADER_BYTES,
  decodeSafetensors,
  dtypeByteSize,
  encodeSafetensors,
  isSafetensorsDtype,
  rawFromFloat32,
  rawFromInt32,
  rawFromInt8,
  rawFromUint8,
  rawToFloat32,
  rawToTypedArray,
  readSafetensorsFile,
  writeSafetensorsFile,
} from './safetensors';

/** A safetensors file assembled byte by byte, independently of the encoder. */
function craft(headerText: string, data: readonly number[] = []): Uint8Array {
  const header = new TextEncoder().encode(headerText);
  const n = header.byteLength;
  const prefix = [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff, 0, 0, 0, 0];
  return Uint8Array.from([...prefix, ...header, ...data]);
}

function headerLengthOf(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(0, true);
}

function headerTextOf(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes.subarray(8, 8 + headerLengthOf(bytes)));
}

function dataRegionOf(bytes: Uint8Array): number[] {
  return Array.from(bytes.subarray(8 + headerLengthOf(bytes)));
}

function summary(decoded: DecodedSafetensors): Record<string, { dtype: string; shape: number[]; data: number[] }> {
  const out: Record<string, { dtype: string; shape: number[]; data: number[] }> = {};
  for (const [name, t] of decoded.tensors) out[name] = { dtype: t.dtype, shape: t.shape, data: Array.from(t.data) };
  return out;
}

/** `map.get(key)`, failing the test with the key's name when it is absent. */
function must<V>(map: ReadonlyMap<string, V>, key: string): V {
  const v = map.get(key);
  if (v === undefined) throw new Error(`missing '${key}'`);
  return v;
}

const F32_ONE = [0x00, 0x00, 0x80, 0x3f];
const F32_MINUS_TWO = [0x00, 0x00, 0x00, 0xc0];

describe('the hand-built fixture', () => {
  const headerText =
    '{"__metadata__":{"format":"pt"},' +
    '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}';
  const data = [...F32_ONE, ...F32_MINUS_TWO, 1, 2, 3];
  const fixture = craft(headerText, data);

  it('has the layout we think it has', () => {
    expect(headerText.length).toBe(138);
    expect(Array.from(fixture.subarray(0, 8))).toEqual([138, 0, 0, 0, 0, 0, 0, 0]);
    expect(fixture.byteLength).toBe(8 + 138 + 11);
  });

  it('decodes to exactly its tensors and metadata', () => {
    const decoded = decodeSafetensors(fixture);
    expect(decoded.metadata).toEqual({ format: 'pt' });
    expect(summary(decoded)).toEqual({
      a: { dtype: 'F32', shape: [2], data: [...F32_ONE, ...F32_MINUS_TWO] },
      b: { dtype: 'U8', shape: [3], data: [1, 2, 3] },
    });
    expect(Array.from(rawToFloat32(must(decoded.tensors, 'a')))).toEqual([1, -2]);
    expect(Array.from<number | bigint>(rawToTypedArray(must(decoded.tensors, 'b')))).toEqual([1, 2, 3]);
  });

  it('is what the encoder writes for the same content, up to header padding', () => {
    const encoded = encodeSafetensors(
      {
        b: { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 3]) },
        a: { dtype: 'F32', shape: [2], data: Uint8Array.from([...F32_ONE, ...F32_MINUS_TWO]) },
      },
      { format: 'pt' },
    );
    const n = headerLengthOf(encoded);
    expect(Array.from(encoded.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    expect((8 + n) % 8).toBe(0);
    const text = headerTextOf(encoded);
    expect(text.trimEnd()).toBe(headerText);
    expect(/^ *$/.test(text.slice(headerText.length))).toBe(true);
    expect(JSON.parse(text)).toEqual(JSON.parse(headerText));
    expect(dataRegionOf(encoded)).toEqual(data);
  });
});

describe('encodeSafetensors', () => {
  const sixFloats = [0, 1, 2, 3, 4, 5].flatMap((v) => Array.from(new Uint8Array(new Float32Array([v]).buffer)));

  it('writes an already aligned header without padding', () => {
    // A 64-byte header, the single-tensor example of the reference implementation's own tests.
    const bytes = encodeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data: Uint8Array.from(sixFloats) } });
    expect(Array.from(bytes.subarray(0, 8))).toEqual([64, 0, 0, 0, 0, 0, 0, 0]);
    expect(headerTextOf(bytes)).toBe('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}');
    expect(dataRegionOf(bytes)).toEqual(sixFloats);
  });

  it('pads the header with spaces to an 8-byte boundary', () => {
    const bytes = encodeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data: Uint8Array.from(sixFloats) } });
    expect(headerLengthOf(bytes)).toBe(72);
    expect(headerTextOf(bytes)).toBe('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ');
  });

  it('writes an empty file as {} and spaces', () => {
    const bytes = encodeSafetensors({});
    expect(Array.from(bytes)).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20]);
    expect(decodeSafetensors(bytes).tensors.size).toBe(0);
  });

  it('lays tensors out largest element first, then by name, each aligned to its element size', () => {
    const tensors: Record<string, RawTensor> = {
      u: rawFromUint8(Uint8Array.from([1, 2, 3]), [3]),
      h: rawFromFloat32(new Float32Array([1]), [1], 'F16'),
      i: rawFromInt8(Int8Array.from([-1]), [1]),
      d: { dtype: 'F64', shape: [1], data: new Uint8Array(new Float64Array([0.25]).buffer) },
      f2: rawFromFloat32(new Float32Array([2]), [1]),
      f1: rawFromFloat32(new Float32Array([1]), [1]),
      n: rawFromInt32(Int32Array.from([7]), [1]),
    };
    const bytes = encodeSafetensors(tensors);
    const header = JSON.parse(headerTextOf(bytes)) as Record<string, { dtype: string; data_offsets: number[] }>;
    expect(Object.keys(header)).toEqual(['d', 'f1', 'f2', 'n', 'h', 'i', 'u']);
    const dataStart = 8 + headerLengthOf(bytes);
    for (const entry of Object.values(header)) {
      expect((dataStart + entry.data_offsets[0]) % dtypeByteSize(entry.dtype as 'F32')).toBe(0);
    }
  });

  it('keeps integer-like names in file order in the header', () => {
    const bytes = encodeSafetensors({
      b: rawFromUint8(Uint8Array.from([1]), [1]),
      '10': rawFromUint8(Uint8Array.from([2]), [1]),
      '2': rawFromUint8(Uint8Array.from([3]), [1]),
    });
    expect(headerTextOf(bytes).indexOf('"10"')).toBeLessThan(headerTextOf(bytes).indexOf('"2"'));
    expect(dataRegionOf(bytes)).toEqual([2, 3, 1]);
  });

  it('is deterministic whatever the insertion order or container', () => {
    const make = (order: string[]): Map<string, RawTensor> =>
      new Map(order.map((name, i) => [name, rawFromFloat32(new Float32Array([i, name.length]), [2])] as const));
    const names = ['x', 'block.1.w', 'block.0.w', 'α'];
    const forward = make(names);
    const backward = new Map([...forward.entries()].reverse());
    const first = encodeSafetensors(forward, { step: '3', format: 'pt' });
    expect(Array.from(encodeSafetensors(forward, { step: '3', format: 'pt' }))).toEqual(Array.from(first));
    expect(Array.from(encodeSafetensors(backward, { format: 'pt', step: '3' }))).toEqual(Array.from(first));
    expect(Array.from(encodeSafetensors(Object.fromEntries(backward), { format: 'pt', step: '3' }))).toEqual(
      Array.from(first),
    );
  });

  it('omits __metadata__ when there is none', () => {
    const t = { a: rawFromUint8(Uint8Array.from([1]), [1]) };
    expect(headerTextOf(encodeSafetensors(t, {}))).not.toContain('__metadata__');
    expect(headerTextOf(encodeSafetensors(t))).not.toContain('__metadata__');
  });

  it('copies the bytes of views at an offset into a larger buffer', () => {
    const backing = Uint8Array.from([9, 9, 1, 2, 3, 9]);
    const bytes = encodeSafetensors({ a: { dtype: 'U8', shape: [3], data: backing.subarray(2, 5) } });
    expect(dataRegionOf(bytes)).toEqual([1, 2, 3]);
  });

  it.each<[string, Record<string, RawTensor>, Record<string, string> | undefined, string]>([
    ['an empty name', { '': rawFromUint8(new Uint8Array(1), [1]) }, undefined, 'invalid tensor name'],
    ['a reserved name', { __metadata__: rawFromUint8(new Uint8Array(1), [1]) }, undefined, 'invalid tensor name'],
    ['a negative dimension', { a: { dtype: 'U8', shape: [-1], data: new Uint8Array(0) } }, undefined, 'bad shape'],
    ['a fractional dimension', { a: { dtype: 'U8', shape: [1.5], data: new Uint8Array(1) } }, undefined, 'bad shape'],
    ['a short buffer', { a: { dtype: 'F32', shape: [2], data: new Uint8Array(7) } }, undefined, 'needs 8'],
    [
      'an unknown dtype',
      { a: { dtype: 'F8' as 'U8', shape: [1], data: new Uint8Array(1) } },
      undefined,
      'unknown dtype "F8"',
    ],
    ['a non-string metadata value', {}, { step: 3 as unknown as string }, '__metadata__ value'],
  ])('rejects %s', (_, tensors, metadata, message) => {
    expect(() => encodeSafetensors(tensors, metadata)).toThrow(message);
  });
});

describe('round trips', () => {
  function roundTrip(tensors: Record<string, RawTensor>): Map<string, RawTensor> {
    return decodeSafetensors(encodeSafetensors(tensors)).tensors;
  }

  it('F32', () => {
    const values = new Float32Array([0.1, -3.5, 1e-30, 3e38, -0]);
    const back = rawToFloat32(must(roundTrip({ w: rawFromFloat32(values, [5]) }), 'w'));
    expect(Array.from(back)).toEqual(Array.from(values));
  });

  it('F16', () => {
    const values = new Float32Array([1, -2, 0.1, 65504, 1e-7, 70000, -0]);
    const t = must(roundTrip({ w: rawFromFloat32(values, [7], 'F16') }), 'w');
    expect(t.dtype).toBe('F16');
    expect(t.data.byteLength).toBe(14);
    expect(Array.from(rawToTypedArray({ ...t, dtype: 'F16' }))).toEqual([
      0x3c00, 0xc000, 0x2e66, 0x7bff, 0x0002, 0x7c00, 0x8000,
    ]);
    expect(Array.from(rawToFloat32(t))).toEqual([1, -2, 0.0999755859375, 65504, 2 * 2 ** -24, Infinity, -0]);
  });

  it('I8', () => {
    const values = Int8Array.from([-128, -1, 0, 1, 127, 5]);
    const t = must(roundTrip({ q: rawFromInt8(values, [2, 3]) }), 'q');
    expect(t).toMatchObject({ dtype: 'I8', shape: [2, 3] });
    expect(Array.from<number | bigint>(rawToTypedArray(t))).toEqual(Array.from(values));
    expect(Array.from(rawToFloat32(t))).toEqual([-128, -1, 0, 1, 127, 5]);
  });

  it('I32', () => {
    const values = Int32Array.from([-2147483648, -1, 0, 2147483647]);
    const t = must(roundTrip({ steps: rawFromInt32(values, [2, 2]) }), 'steps');
    expect(Array.from<number | bigint>(rawToTypedArray(t))).toEqual(Array.from(values));
    expect(Array.from(rawToFloat32(t))).toEqual([-2147483648, -1, 0, 2147483648]);
  });

  it('a scalar and zero-size tensors', () => {
    const back = roundTrip({
      scale: rawFromFloat32(new Float32Array([0.5]), []),
      empty: rawFromFloat32(new Float32Array(0), [0, 3]),
      empty8: rawFromInt8(new Int8Array(0), [4, 0]),
    });
    expect(must(back, 'scale').shape).toEqual([]);
    expect(Array.from(rawToFloat32(must(back, 'scale')))).toEqual([0.5]);
    expect(must(back, 'empty').shape).toEqual([0, 3]);
    expect(must(back, 'empty').data.byteLength).toBe(0);
    expect(rawToFloat32(must(back, 'empty8')).length).toBe(0);
  });
});

describe('reading the other dtypes', () => {
  function single(dtype: string, shape: number[], data: number[]): RawTensor {
    const header = JSON.stringify({ t: { dtype, shape, data_offsets: [0, data.length] } });
    return must(decodeSafetensors(craft(header, data)).tensors, 't');
  }

  it('BF16 widens exactly', () => {
    // bfloat16 1.0 = 0x3f80, -2.5 = 0xc020
    expect(Array.from(rawToFloat32(single('BF16', [2], [0x80, 0x3f, 0x20, 0xc0])))).toEqual([1, -2.5]);
  });

  it('F64 rounds to float32', () => {
    const t = single('F64', [1], Array.from(new Uint8Array(new Float64Array([0.1]).buffer)));
    expect(rawToTypedArray({ ...t, dtype: 'F64' })[0]).toBe(0.1);
    expect(rawToFloat32(t)[0]).toBe(Math.fround(0.1));
  });

  it('I16, U8 and BOOL', () => {
    expect(Array.from(rawToFloat32(single('I16', [2], [0xff, 0xff, 0x00, 0x80])))).toEqual([-1, -32768]);
    expect(Array.from(rawToFloat32(single('U8', [2], [0, 255])))).toEqual([0, 255]);
    expect(Array.from(rawToFloat32(single('BOOL', [3], [0, 1, 1])))).toEqual([0, 1, 1]);
  });

  it('I64 while the values fit a double', () => {
    const small = single('I64', [2], [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(rawToTypedArray({ ...small, dtype: 'I64' }))).toEqual([-2n, 5n]);
    expect(Array.from(rawToFloat32(small))).toEqual([-2, 5]);
    const huge = single('I64', [1], [0, 0, 0, 0, 0, 0, 0x40, 0]);
    expect(() => rawToFloat32(huge)).toThrow('beyond');
  });

  it('tensors at odd byte offsets, as decoded views often are', () => {
    // One U8 byte before the F32 puts it at an odd offset in the data buffer, and the file itself sits at an offset
    // in its backing buffer chosen so that the F32 data cannot land on a multiple of 4 by chance.
    const header = JSON.stringify({
      u: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
      f: { dtype: 'F32', shape: [2], data_offsets: [1, 9] },
    });
    const file = craft(header, [7, ...F32_ONE, ...F32_MINUS_TWO]);
    const shift = (8 + header.length + 1) % 4 === 0 ? 1 : 0;
    const backing = new Uint8Array(file.byteLength + shift);
    backing.set(file, shift);
    const t = must(decodeSafetensors(backing.subarray(shift)).tensors, 'f');
    expect(t.data.byteOffset % 4).not.toBe(0);
    expect(Array.from(rawToFloat32(t))).toEqual([1, -2]);
  });
});

describe('decodeSafetensors', () => {
  it('returns views into the input bytes', () => {
    const file = craft('{"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', [1, 2]);
    const t = must(decodeSafetensors(file).tensors, 'b');
    file[file.byteLength - 1] = 42;
    expect(Array.from(t.data)).toEqual([1, 42]);
  });

  it('lists tensors in file order whatever the header order', () => {
    const header =
      '{"late":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},' +
      '"early":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    expect([...decodeSafetensors(craft(header, [1, 2])).tensors.keys()]).toEqual(['early', 'late']);
  });

  it('accepts zero-size tensors anywhere on the boundaries', () => {
    const header = JSON.stringify({
      a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
      z: { dtype: 'F32', shape: [0], data_offsets: [1, 1] },
      y: { dtype: 'F32', shape: [2, 0], data_offsets: [0, 0] },
    });
    expect(decodeSafetensors(craft(header, [5])).tensors.size).toBe(3);
  });

  it('keeps a "__proto__" metadata key as plain data', () => {
    const { metadata } = decodeSafetensors(craft('{"__metadata__":{"__proto__":"x","k":"v"}}'));
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(Object.keys(metadata).sort()).toEqual(['__proto__', 'k']);
  });

  it('names the source in errors', () => {
    expect(() => decodeSafetensors(new Uint8Array(3), { source: '/ckpt/unet.safetensors' })).toThrow(
      "invalid safetensors file '/ckpt/unet.safetensors': file is too short (3 bytes)",
    );
    expect(() => decodeSafetensors(new Uint8Array(3))).toThrow('invalid safetensors data: file is too short');
  });

  function withLength(length: bigint, rest: number[] = []): Uint8Array {
    const bytes = new Uint8Array(8 + rest.length);
    new DataView(bytes.buffer).setBigUint64(0, length, true);
    bytes.set(rest, 8);
    return bytes;
  }

  const u8 = (offsets: unknown, shape: unknown = [1]): string =>
    JSON.stringify({ t: { dtype: 'U8', shape, data_offsets: offsets } });

  it.each<[string, Uint8Array, string]>([
    ['an empty file', new Uint8Array(0), 'too short (0 bytes)'],
    ['a 7-byte file', new Uint8Array(7), 'too short (7 bytes)'],
    ['a header length past the end', withLength(10n, [0x7b, 0x7d]), 'header length 10 runs past the end'],
    ['an absurd header length', withLength(BigInt(SAFETENSORS_MAX_HEADER_BYTES) + 1n), 'exceeds the 100000000-byte'],
    ['a header length near 2^64', withLength(0xffffffffffffffffn), 'exceeds'],
    ['invalid UTF-8', withLength(3n, [0x7b, 0xff, 0x7d]), 'not valid UTF-8'],
    ['a byte-order mark', withLength(5n, [0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 'not valid JSON'],
    ['truncated JSON', craft('{"t":{"dtype":"U8",'), 'not valid JSON'],
    ['an empty header', craft(''), 'not valid JSON'],
    ['a JSON array', craft('[]'), 'not a JSON object'],
    ['JSON null', craft('null'), 'not a JSON object'],
    ['a tensor entry that is not an object', craft('{"t":5}'), "entry of tensor 't' is not an object"],
    ['metadata that is not an object', craft('{"__metadata__":["pt"]}'), '__metadata__ is not an object'],
    ['a non-string metadata value', craft('{"__metadata__":{"step":3}}'), "__metadata__ value of 'step' is 3"],
    [
      'an unknown dtype',
      craft('{"t":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', [0]),
      'unknown dtype "F8_E4M3"',
    ],
    ['a missing dtype', craft('{"t":{"shape":[1],"data_offsets":[0,1]}}', [0]), 'unknown dtype missing'],
    ['a negative dimension', craft(u8([0, 1], [-1]), [0]), 'bad shape [-1]'],
    ['a fractional dimension', craft(u8([0, 1], [0.5]), [0]), 'bad shape'],
    ['a string shape', craft(u8([0, 1], '1'), [0]), 'bad shape'],
    ['an overflowing shape', craft(u8([0, 1], [2 ** 30, 2 ** 30, 2 ** 30]), [0]), 'bad shape'],
    ['fractional data_offsets', craft(u8([0, 1.5]), [0]), 'bad data_offsets [0,1.5]'],
    ['negative data_offsets', craft(u8([-1, 0]), [0]), 'bad data_offsets'],
    ['one data offset', craft(u8([1]), [0]), 'bad data_offsets'],
    ['missing data_offsets', craft(u8(undefined), [0]), 'bad data_offsets missing'],
    ['string data_offsets', craft(u8(['0', '1']), [0]), 'bad data_offsets'],
    ['data_offsets end before begin', craft(u8([1, 0]), [0]), 'end before begin'],
    ['data_offsets out of range', craft(u8([0, 2]), [0]), 'out of range of the 1-byte data buffer'],
    ['a byte length that does not match the shape', craft(u8([0, 2]), [0, 0]), 'spans 2 bytes'],
    [
      'overlapping tensors',
      craft(
        JSON.stringify({
          a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
          b: { dtype: 'U8', shape: [2], data_offsets: [1, 3] },
        }),
        [0, 0, 0],
      ),
      "tensor 'b' at bytes [1, 3) overlaps tensor 'a'",
    ],
    [
      'a zero-size tensor inside another',
      craft(
        JSON.stringify({
          a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
          z: { dtype: 'U8', shape: [0], data_offsets: [1, 1] },
        }),
        [0, 0],
      ),
      "tensor 'z' at bytes [1, 1) overlaps",
    ],
    ['a gap before the first tensor', craft(u8([1, 2]), [0, 0]), "gap of 1 bytes in the data buffer before tensor 't'"],
    [
      'a gap between tensors',
      craft(
        JSON.stringify({
          a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
          b: { dtype: 'U8', shape: [1], data_offsets: [3, 4] },
        }),
        [0, 0, 0, 0],
      ),
      "gap of 2 bytes in the data buffer before tensor 'b'",
    ],
    ['trailing bytes', craft(u8([0, 1]), [0, 0, 0]), '2 trailing bytes'],
    ['data without tensors', craft('{}', [0]), '1 trailing bytes'],
  ])('rejects %s', (_, bytes, message) => {
    expect(() => decodeSafetensors(bytes, { source: 'bad.safetensors' })).toThrow(
      `invalid safetensors file 'bad.safetensors': `,
    );
    expect(() => decodeSafetensors(bytes)).toThrow(message);
  });
});

describe('typed-array helpers', () => {
  it('reject data that does not match the shape', () => {
    expect(() => rawFromFloat32(new Float32Array(5), [2, 3])).toThrow('shape [2,3] holds 6 elements but data has 5');
    expect(() => rawFromInt32(new Int32Array(1), [-1])).toThrow('bad shape');
    expect(() => rawToFloat32({ dtype: 'F32', shape: [2], data: new Uint8Array(4) })).toThrow('needs 8');
  });

  it('copy their input', () => {
    const values = new Float32Array([1, 2]);
    const t = rawFromFloat32(values, [2]);
    values[0] = 9;
    expect(Array.from(rawToFloat32(t))).toEqual([1, 2]);
    const out = rawToTypedArray(t);
    out[1] = 7;
    expect(Array.from(rawToFloat32(t))).toEqual([1, 2]);
  });

  it('know the supported dtypes', () => {
    expect(isSafetensorsDtype('BF16')).toBe(true);
    expect(isSafetensorsDtype('U16')).toBe(false);
    expect(isSafetensorsDtype('toString')).toBe(false);
    expect(['F64', 'F32', 'F16', 'I8', 'BOOL'].map((d) => dtypeByteSize(d as 'F32'))).toEqual([8, 4, 2, 1, 1]);
  });
});

describe('safetensors files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffpress-safetensors-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('round-trip through a new directory, leaving no temporary file', () => {
    const file = path.join(dir, 'nested', 'deeper', 'model.safetensors');
    const tensors = {
      w: rawFromFloat32(new Float32Array([1, -2, 3.5]), [3]),
      q: rawFromInt8(Int8Array.from([-3, 4]), [2]),
    };
    writeSafetensorsFile(file, tensors, { format: 'pt' });
    expect(fs.readdirSync(path.dirname(file))).toEqual(['model.safetensors']);
    expect(Array.from(fs.readFileSync(file))).toEqual(Array.from(encodeSafetensors(tensors, { format: 'pt' })));
    const back = readSafetensorsFile(file);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(Array.from(rawToFloat32(must(back.tensors, 'w')))).toEqual([1, -2, 3.5]);
    expect(Array.from<number | bigint>(rawToTypedArray(must(back.tensors, 'q')))).toEqual([-3, 4]);
  });

  it('replace an existing file', () => {
    const file = path.join(dir, 'model.safetensors');
    writeSafetensorsFile(file, { a: rawFromUint8(Uint8Array.from([1]), [1]) });
    writeSafetensorsFile(file, new Map([['b', rawFromUint8(Uint8Array.from([2]), [1])]]));
    expect([...readSafetensorsFile(file).tensors.keys()]).toEqual(['b']);
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('report the path when writing fails, and clean up', () => {
    const blocker = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocker, 'x');
    const file = path.join(blocker, 'model.safetensors');
    expect(() => writeSafetensorsFile(file, {})).toThrow(`cannot write safetensors file '${file}'`);
    const unnamed = { '': rawFromUint8(new Uint8Array(1), [1]) };
    expect(() => writeSafetensorsFile(path.join(dir, 'm.safetensors'), unnamed)).toThrow('invalid tensor name');
    expect(fs.readdirSync(dir)).toEqual(['not-a-dir']);
  });

  it('remove the temporary file when the final rename fails', () => {
    const file = path.join(dir, 'model.safetensors');
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, 'occupied'), 'x');
    expect(() => writeSafetensorsFile(file, { a: rawFromUint8(Uint8Array.from([1]), [1]) })).toThrow(
      `cannot write safetensors file '${file}'`,
    );
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('report the path when reading fails', () => {
    const missing = path.join(dir, 'missing.safetensors');
    expect(() => readSafetensorsFile(missing)).toThrow(`cannot read safetensors file '${missing}'`);
    const corrupt = path.join(dir, 'corrupt.safetensors');
    fs.writeFileSync(corrupt, Uint8Array.from([1, 2, 3]));
    expect(() => readSafetensorsFile(corrupt)).toThrow(`invalid safetensors file '${corrupt}': file is too short`);
  });
});
