/**
 * Philox4x32 counter-based generator (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3",
 * SC 2011; the Random123 library). A pure function of a 128-bit counter and a 64-bit key, so any draw can be
 * recomputed from its coordinates alone, with no hidden state to carry between processes.
 */

// Builtins bound once: a global `Math` lookup per call is not optimised inside vm contexts (jest, sandboxes), where
// it made this loop some 50 times slower.
const imul = Math.imul;

/** First Philox4x32 round multiplier (Random123 `PHILOX_M4x32_0`). */
export const PHILOX_M0 = 0xd2511f53;
/** Second Philox4x32 round multiplier (Random123 `PHILOX_M4x32_1`). */
export const PHILOX_M1 = 0xcd9e8d57;
/** Weyl increment added to key word 0 between rounds (golden ratio, Random123 `PHILOX_W32_0`). */
export const PHILOX_W0 = 0x9e3779b9;
/** Weyl increment added to key word 1 between rounds (√3 − 1, Random123 `PHILOX_W32_1`). */
export const PHILOX_W1 = 0xbb67ae85;
/** Round count of the standard Philox4x32-10, the variant Random123 recommends and its known-answer tests cover. */
export const PHILOX_DEFAULT_ROUNDS = 10;
/** Most rounds accepted; Random123 unrolls up to 16 and more adds nothing but time. */
export const PHILOX_MAX_ROUNDS = 16;

/**
 * High 32 bits of the exact 64-bit product of two unsigned 32-bit integers.
 *
 * A float64 product of two 32-bit numbers loses the low bits, so the factors are split into 16-bit halves whose
 * partial products are exact; the low word of the product is `Math.imul(a, b) >>> 0`.
 *
 * @param a - Unsigned 32-bit integer.
 * @param b - Unsigned 32-bit integer.
 * @returns `floor(a · b / 2³²)`, an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * mulHi32(0xffffffff, 0xffffffff); // 0xfffffffe  (the product is 0xfffffffe_00000001)
 * ```
 */
export function mulHi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  // Carry out of bits 16..31: the low halves of the cross terms plus the high half of the low product (< 3·2¹⁶).
  const mid = (loLo >>> 16) + (hiLo & 0xffff) + (loHi & 0xffff);
  return (aHi * bHi + (hiLo >>> 16) + (loHi >>> 16) + (mid >>> 16)) >>> 0;
}

function checkRounds(rounds: number): void {
  if (!Number.isInteger(rounds) || rounds < 0 || rounds > PHILOX_MAX_ROUNDS) {
    throw new RangeError(`philox: rounds must be an integer in [0, ${PHILOX_MAX_ROUNDS}], got ${rounds}`);
  }
}

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`philox: ${name} must be an unsigned 32-bit integer, got ${v}`);
  }
}

/**
 * Philox4x32 block function writing into a caller-owned buffer, for hot loops that would otherwise allocate a
 * tuple per block. Inputs are not validated (the hot path is the point); pass unsigned 32-bit integers and a round
 * count in [0, {@link PHILOX_MAX_ROUNDS}].
 *
 * @param out - Receives the four output words at `out[offset] … out[offset + 3]`.
 * @param offset - First index written in `out`.
 * @param c0 - Counter word 0 (least significant).
 * @param c1 - Counter word 1.
 * @param c2 - Counter word 2.
 * @param c3 - Counter word 3 (most significant).
 * @param k0 - Key word 0.
 * @param k1 - Key word 1.
 * @param rounds - Number of rounds (default {@link PHILOX_DEFAULT_ROUNDS}).
 *
 * @example
 * ```ts
 * const buf = new Uint32Array(4 * n);
 * for (let j = 0; j < n; j++) philox4x32Into(buf, 4 * j, j, 0, 0, 0, key0, key1);
 * ```
 */
export function philox4x32Into(
  out: Uint32Array,
  offset: number,
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  rounds: number = PHILOX_DEFAULT_ROUNDS,
): void {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let r = 0; r < rounds; r++) {
    // Random123 bumps the key before every round but the first.
    if (r > 0) {
      key0 = (key0 + PHILOX_W0) >>> 0;
      key1 = (key1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulHi32(PHILOX_M0, x0);
    const lo0 = imul(PHILOX_M0, x0) >>> 0;
    const hi1 = mulHi32(PHILOX_M1, x2);
    const lo1 = imul(PHILOX_M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
  }
  out[offset] = x0;
  out[offset + 1] = x1;
  out[offset + 2] = x2;
  out[offset + 3] = x3;
}

/**
 * Philox4x32-R block function: maps a 128-bit counter and a 64-bit key to 128 pseudo-random bits. Matches the
 * Random123 reference (`philox4x32_R`) word for word, including its known-answer vectors.
 *
 * @param counter - Four unsigned 32-bit counter words, least significant first.
 * @param key - Two unsigned 32-bit key words.
 * @param rounds - Number of rounds, integer in [0, {@link PHILOX_MAX_ROUNDS}] (default 10).
 * @returns Four unsigned 32-bit output words.
 * @throws RangeError when a word is not an unsigned 32-bit integer or `rounds` is out of range.
 *
 * @example
 * ```ts
 * philox4x32([0, 0, 0, 0], [0, 0]); // [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
 * ```
 */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
  rounds: number = PHILOX_DEFAULT_ROUNDS,
): [number, number, number, number] {
  counter.forEach((w, i) => checkU32(`counter[${i}]`, w));
  key.forEach((w, i) => checkU32(`key[${i}]`, w));
  checkRounds(rounds);
  const out = new Uint32Array(4);
  philox4x32Into(out, 0, counter[0], counter[1], counter[2], counter[3], key[0], key[1], rounds);
  return [out[0], out[1], out[2], out[3]];
}
