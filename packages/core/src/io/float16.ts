/**
 * IEEE 754 binary16 ("half", safetensors `F16`) conversion, done by hand because JavaScript has no `Float16Array` in
 * the Node versions we support. Half values travel as their raw 16-bit patterns in a `Uint16Array`.
 *
 * Layout of a half: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. Largest finite value 65504, smallest
 * normal 2^-14 ≈ 6.1035e-5, smallest subnormal 2^-24 ≈ 5.9605e-8.
 */

/**
 * Quiet bit of a half NaN. Always set on converted NaNs: a float32 NaN whose payload lives only in the 13 dropped bits
 * would otherwise come out as infinity.
 */
const HALF_QUIET_NAN_BIT = 0x0200;
/** Exponent and fraction bits of a half infinity. */
const HALF_INFINITY = 0x7c00;

/**
 * Converts float32 values to half-precision bit patterns, rounding to nearest with ties to even (the IEEE default,
 * and what PyTorch's `tensor.half()` does).
 *
 * Magnitudes from 65520 up become ±Infinity, magnitudes at or below 2^-25 become ±0, the sign of zero is kept, and a
 * NaN stays a quiet NaN (the top 9 payload bits are kept).
 *
 * @param x - Values to convert.
 * @returns A new array of the same length holding one binary16 bit pattern per value.
 * @example
 * ```ts
 * float32ToFloat16Bits(new Float32Array([1, -2, 65504])); // Uint16Array [0x3c00, 0xc000, 0x7bff]
 * ```
 */
export function float32ToFloat16Bits(x: Float32Array): Uint16Array {
  // A Float32Array is always 4-byte aligned, and both views use the host's byte order, so reading its bits through a
  // Uint32Array over the same memory is exact on any host.
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    const sign = (b >>> 16) & 0x8000;
    const exponent = (b >>> 23) & 0xff;
    const fraction = b & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = fraction === 0 ? sign | HALF_INFINITY : sign | HALF_INFINITY | HALF_QUIET_NAN_BIT | (fraction >>> 13);
      continue;
    }
    // Exponent re-biased from 127 to 15.
    const e = exponent - 112;
    if (e >= 0x1f) {
      out[i] = sign | HALF_INFINITY;
    } else if (e > 0) {
      // Normal half: keep the top 10 of 23 fraction bits and round on the 13 dropped ones. A carry out of the fraction
      // correctly bumps the exponent, up to infinity for values from 65520.
      let h = (e << 10) | (fraction >>> 13);
      const rest = fraction & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
      out[i] = sign | h;
    } else if (e >= -10) {
      // Subnormal half: the value is significand × 2^(e - 14 - 10) with the implicit leading 1 made explicit, so the
      // half fraction is the 24-bit significand shifted right by 14 - e (14 to 24 bits). A carry reaches the smallest
      // normal, which is the right answer.
      const significand = fraction | 0x800000;
      const shift = 14 - e;
      let h = significand >>> shift;
      const rest = significand & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rest > half || (rest === half && (h & 1) === 1)) h++;
      out[i] = sign | h;
    } else {
      // Below 2^-25, i.e. under half the smallest subnormal: rounds to zero (float32 subnormals land here too).
      out[i] = sign;
    }
  }
  return out;
}

/**
 * Converts half-precision bit patterns to float32 values. Exact: every half value is representable in float32,
 * including subnormals, ±0 and ±Infinity; NaN patterns become float32 NaNs with the same payload.
 *
 * @param h - binary16 bit patterns, e.g. the raw data of a safetensors `F16` tensor.
 * @returns A new array of the same length holding the values.
 * @example
 * ```ts
 * float16BitsToFloat32(new Uint16Array([0x3c00, 0x0001])); // Float32Array [1, 5.9604645e-8]
 * ```
 */
export function float16BitsToFloat32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < h.length; i++) {
    const v = h[i];
    const sign = (v & 0x8000) << 16;
    const exponent = (v >>> 10) & 0x1f;
    const fraction = v & 0x3ff;
    if (exponent === 0) {
      // Zero or subnormal: fraction × 2^-24, exact in float32; the multiplication keeps the sign of zero.
      out[i] = (sign === 0 ? 1 : -1) * fraction * 2 ** -24;
    } else if (exponent === 0x1f) {
      bits[i] = (sign | 0x7f800000 | (fraction << 13)) >>> 0;
    } else {
      bits[i] = (sign | ((exponent + 112) << 23) | (fraction << 13)) >>> 0;
    }
  }
  return out;
}
