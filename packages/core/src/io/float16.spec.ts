import { float16BitsToFloat32, float32ToFloat16Bits } from './float16';

function toHalf(x: number): number {
  return float32ToFloat16Bits(new Float32Array([x]))[0];
}

function fromHalf(h: number): number {
  return float16BitsToFloat32(new Uint16Array([h]))[0];
}

function hex(h: number): string {
  return h.toString(16).padStart(4, '0');
}

function isHalfNaN(h: number): boolean {
  return (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
}

describe('float32ToFloat16Bits', () => {
  it.each([
    [1.0, '3c00'],
    [-2, 'c000'],
    [65504, '7bff'],
    [65519, '7bff'],
    [65520, '7c00'],
    [1e6, '7c00'],
    [-1e6, 'fc00'],
    [6.1035156e-5, '0400'],
    [5.9604645e-8, '0001'],
    [0.1, '2e66'],
    [1 / 3, '3555'],
    [0, '0000'],
    [-0, '8000'],
    [Infinity, '7c00'],
    [-Infinity, 'fc00'],
    [1 + 2 ** -11, '3c00'], // tie, rounds down to the even 0x3c00
    [1 + 3 * 2 ** -11, '3c02'], // tie, rounds up to the even 0x3c02
    [1 + 2 ** -11 + 2 ** -20, '3c01'], // just above the tie
    [2 ** -25, '0000'], // half the smallest subnormal: tie, rounds to even zero
    [-(2 ** -25), '8000'],
    [3 * 2 ** -26, '0001'], // three quarters of the smallest subnormal
    [2 ** -26, '0000'],
    [1e-45, '0000'], // float32 subnormal
    [3 * 2 ** -25, '0002'], // 1.5 subnormals: tie, rounds to even 2
    [2 ** -14 - 2 ** -25, '0400'], // rounds up from the largest subnormal into the smallest normal
  ])('%p -> 0x%s', (x, expected) => {
    expect(hex(toHalf(x))).toBe(expected);
  });

  it('keeps NaN a NaN, including a float32 NaN whose payload is only in the dropped bits', () => {
    expect(isHalfNaN(toHalf(NaN))).toBe(true);
    const f32 = new Float32Array(1);
    new Uint32Array(f32.buffer)[0] = 0x7f800001;
    expect(Number.isNaN(f32[0])).toBe(true);
    expect(isHalfNaN(float32ToFloat16Bits(f32)[0])).toBe(true);
  });

  it('reads a Float32Array view at a non-zero offset', () => {
    const backing = new Float32Array([9, 1, -2, 9]);
    const view = backing.subarray(1, 3);
    expect(Array.from(float32ToFloat16Bits(view))).toEqual([0x3c00, 0xc000]);
  });

  it('rounds to the nearest half, ties to even, for random float32 values', () => {
    // Independent of the bit twiddling: the result must be at least as close as both of its neighbours.
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const xs = new Float32Array(20000);
    for (let i = 0; i < xs.length; i++) {
      // Magnitudes from far below the smallest subnormal to beyond the largest finite half.
      xs[i] = (random() - 0.5) * 2 ** Math.floor(random() * 46 - 28);
    }
    const hs = float32ToFloat16Bits(xs);
    const wrong: string[] = [];
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      const h = hs[i];
      if ((h & 0x7fff) === 0x7c00) {
        if (Math.abs(x) < 65520) wrong.push(`${x} -> infinity`);
        continue;
      }
      const err = Math.abs(fromHalf(h) - x);
      for (const neighbour of [h - 1, h + 1]) {
        if ((neighbour & 0x7fff) > 0x7c00 || (neighbour & 0x8000) !== (h & 0x8000)) continue;
        const other = Math.abs(fromHalf(neighbour) - x);
        if (err > other || (err === other && (h & 1) === 1)) wrong.push(`${x} -> 0x${hex(h)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('float16BitsToFloat32', () => {
  it.each([
    ['3c00', 1],
    ['c000', -2],
    ['7bff', 65504],
    ['0400', 2 ** -14],
    ['0001', 2 ** -24],
    ['03ff', 1023 * 2 ** -24],
    ['3555', 0.333251953125],
    ['7c00', Infinity],
    ['fc00', -Infinity],
  ])('0x%s -> %p', (h, expected) => {
    expect(fromHalf(parseInt(h, 16))).toBe(expected);
  });

  it('keeps the sign of zero', () => {
    expect(Object.is(fromHalf(0x8000), -0)).toBe(true);
    expect(Object.is(fromHalf(0x0000), 0)).toBe(true);
  });

  it('maps NaN patterns to NaN', () => {
    for (const h of [0x7c01, 0x7e00, 0xfe00, 0x7fff]) expect(Number.isNaN(fromHalf(h))).toBe(true);
  });

  it('round-trips every half pattern exactly, NaNs staying NaN', () => {
    const all = new Uint16Array(65536);
    for (let i = 0; i < all.length; i++) all[i] = i;
    const back = float32ToFloat16Bits(float16BitsToFloat32(all));
    for (let i = 0; i < all.length; i++) {
      if (isHalfNaN(i)) {
        expect(isHalfNaN(back[i])).toBe(true);
      } else if (back[i] !== i) {
        throw new Error(`0x${i.toString(16)} came back as 0x${back[i].toString(16)}`);
      }
    }
  });
});
