import { mulHi32, philox4x32, philox4x32Into, PHILOX_M0 } from './philox';

type Block = [number, number, number, number];

/**
 * Known-answer vectors of Random123 (D. E. Shaw Research), file `tests/kat_vectors`, lines `philox4x32 7` and
 * `philox4x32 10`: counter (4 words), key (2 words), expected output (4 words).
 */
const KAT: Array<{ rounds: number; ctr: Block; key: [number, number]; out: Block }> = [
  { rounds: 7, ctr: [0, 0, 0, 0], key: [0, 0], out: [0x5f6fb709, 0x0d893f64, 0x4f121f81, 0x4f730a48] },
  {
    rounds: 7,
    ctr: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    key: [0xffffffff, 0xffffffff],
    out: [0x5207ddc2, 0x45165e59, 0x4d8ee751, 0x8c52f662],
  },
  {
    rounds: 7,
    ctr: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    key: [0xa4093822, 0x299f31d0],
    out: [0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a],
  },
  { rounds: 10, ctr: [0, 0, 0, 0], key: [0, 0], out: [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8] },
  {
    rounds: 10,
    ctr: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    key: [0xffffffff, 0xffffffff],
    out: [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  },
  {
    rounds: 10,
    ctr: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    key: [0xa4093822, 0x299f31d0],
    out: [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  },
];

const hex = (ws: readonly number[]): string[] => ws.map((w) => w.toString(16).padStart(8, '0'));

describe('mulHi32', () => {
  it.each([
    [0xffffffff, 0xffffffff, 0xfffffffe], // (2³² − 1)² = 2⁶⁴ − 2³³ + 1
    [0, 0xffffffff, 0],
    [1, 0xffffffff, 0],
    [2, 0xffffffff, 1],
    [0x10000, 0x10000, 1],
    [0x80000000, 2, 1],
    [0x80000000, 0x80000000, 0x40000000],
    [0xffff, 0xffff, 0], // 0xfffe0001 fits in the low word
    [0x10001, 0xffff0000, 0xffff],
    [0xffffffff, 0x10001, 0x10000], // carries out of the middle partial products
  ])('hi(%i × %i) = %i', (a, b, hi) => {
    expect(mulHi32(a, b)).toBe(hi);
    expect(mulHi32(b, a)).toBe(hi);
  });

  it('with Math.imul for the low word, reproduces the exact 64-bit product', () => {
    expect(Math.imul(0xffffffff, 0xffffffff) >>> 0).toBe(1);
    let s = 12345;
    const next = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 2000; i++) {
      const a = next();
      const b = i % 2 === 0 ? next() : PHILOX_M0;
      const p = BigInt(a) * BigInt(b);
      expect(mulHi32(a, b)).toBe(Number(p >> 32n));
      expect(Math.imul(a, b) >>> 0).toBe(Number(p & 0xffffffffn));
    }
  });
});

describe('philox4x32', () => {
  it.each(KAT)('matches the Random123 known-answer vector (%#)', ({ rounds, ctr, key, out }) => {
    expect(hex(philox4x32(ctr, key, rounds))).toEqual(hex(out));
  });

  it('defaults to 10 rounds', () => {
    expect(philox4x32([0, 0, 0, 0], [0, 0])).toEqual(KAT[3].out);
  });

  it('is the identity with zero rounds and one hand-computed round otherwise', () => {
    expect(philox4x32([1, 2, 3, 4], [5, 6], 0)).toEqual([1, 2, 3, 4]);
    // One round on counter [1, 0, 0, 0], key [0, 0]: M0·1 = (hi 0, lo M0), M1·0 = 0, so out = [0, 0, 0, M0].
    expect(philox4x32([1, 0, 0, 0], [0, 0], 1)).toEqual([0, 0, 0, 0xd2511f53]);
    // Same with key [7, 9]: the key words are XORed into output words 0 and 2.
    expect(philox4x32([1, 0, 0, 0], [7, 9], 1)).toEqual([7, 0, 9, 0xd2511f53]);
  });

  it('does not mutate its inputs', () => {
    const ctr: Block = [1, 2, 3, 4];
    const key: [number, number] = [5, 6];
    philox4x32(ctr, key);
    expect(ctr).toEqual([1, 2, 3, 4]);
    expect(key).toEqual([5, 6]);
  });

  it('rejects words that are not unsigned 32-bit integers and bad round counts', () => {
    expect(() => philox4x32([-1, 0, 0, 0], [0, 0])).toThrow(/counter\[0\]/);
    expect(() => philox4x32([0, 0, 0, 2 ** 32], [0, 0])).toThrow(/counter\[3\]/);
    expect(() => philox4x32([0, 0.5, 0, 0], [0, 0])).toThrow(/counter\[1\]/);
    expect(() => philox4x32([0, 0, 0, 0], [0, NaN])).toThrow(/key\[1\]/);
    expect(() => philox4x32([0, 0, 0, 0], [0, 0], -1)).toThrow(/rounds/);
    expect(() => philox4x32([0, 0, 0, 0], [0, 0], 17)).toThrow(/rounds/);
    expect(() => philox4x32([0, 0, 0, 0], [0, 0], 2.5)).toThrow(/rounds/);
  });
});

describe('philox4x32Into', () => {
  it('writes the same words as philox4x32 at the offset and leaves the rest alone', () => {
    const buf = new Uint32Array(12).fill(0xabcdef);
    for (const { rounds, ctr, key, out } of KAT) {
      buf.fill(0xabcdef);
      philox4x32Into(buf, 4, ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1], rounds);
      expect(hex(Array.from(buf.subarray(4, 8)))).toEqual(hex(out));
      expect(Array.from(buf.subarray(0, 4))).toEqual([0xabcdef, 0xabcdef, 0xabcdef, 0xabcdef]);
      expect(Array.from(buf.subarray(8))).toEqual([0xabcdef, 0xabcdef, 0xabcdef, 0xabcdef]);
    }
  });

  it('gives distinct blocks for consecutive counters', () => {
    const buf = new Uint32Array(4 * 256);
    for (let j = 0; j < 256; j++) philox4x32Into(buf, 4 * j, j, 0, 0, 0, 0, 0);
    expect(new Set(Array.from(buf)).size).toBe(buf.length);
  });
});
