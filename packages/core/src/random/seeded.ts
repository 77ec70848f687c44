/**
 * Seeded, counter-based randomness. Every value is a pure function of its coordinates (seed, stream, sample index,
 * substream, position), so sample `i` gets the same noise in every model, every process and every batch layout:
 * comparisons between a compressed model and its teacher then differ only by the model, never by the noise.
 *
 * Philox input layout (all words unsigned 32-bit):
 * - counter = `[block j, index, stream word, substream]`, where block `j` yields four 32-bit words;
 * - key = the 64-bit integer `seed + 2⁵³ · domain` as `[low word, high word]`, with domain 0 for uniforms, 1 for
 *   normals and 2 for {@link Rng}. The seed never reaches bit 53, so the three uses never share a Philox input and
 *   a uniform and a normal draw under the same {@link NoiseKey} are independent.
 */
import * as tf from '@tensorflow/tfjs';
import { philox4x32Into } from './philox';

/**
 * Coordinates of one sample's noise.
 *
 * @example
 * ```ts
 * const key: NoiseKey = { seed: 42, stream: 'ddpm-step', index: 7, substream: step };
 * ```
 */
export interface NoiseKey {
  /** Experiment seed: integer in [0, 2⁵³). */
  seed: number;
  /**
   * What the noise is for, e.g. `'x_T'` (initial latent) or `'ddpm-step'` (per-step sampler noise). A string is
   * hashed with {@link fnv1a32}; a number is used as the stream word directly and must be an unsigned 32-bit
   * integer, so `fnv1a32('x_T')` and `'x_T'` name the same stream.
   */
  stream: string | number;
  /** Sample index within the experiment (not within a batch): unsigned 32-bit integer. */
  index: number;
  /** Sub-stream of the sample, e.g. the sampler step: unsigned 32-bit integer, default 0. */
  substream?: number;
}

/**
 * Coordinates of a batch of samples' noise: one {@link NoiseKey} per entry of `indices`, sharing the other fields.
 *
 * @example
 * ```ts
 * const opts: BatchNoiseKey = { seed: 42, stream: 'x_T', indices: [64, 65, 66, 67] };
 * ```
 */
export interface BatchNoiseKey {
  /** Experiment seed: integer in [0, 2⁵³). */
  seed: number;
  /** Stream name or word, as in {@link NoiseKey.stream}. */
  stream: string | number;
  /** Sample index of each batch row: unsigned 32-bit integers, in any order, repeats allowed. */
  indices: readonly number[];
  /** Sub-stream shared by all rows, e.g. the sampler step: unsigned 32-bit integer, default 0. */
  substream?: number;
}

/**
 * Serialisable position of an {@link Rng}: plain JSON, exact for every valid value, so a checkpoint written with
 * `JSON.stringify(rng.state())` resumes the identical sequence via {@link Rng.fromState}.
 */
export interface RngState {
  /** Seed of the generator: integer in [0, 2⁵³). */
  seed: number;
  /** Stream of the generator, including fork path segments such as `'init/conv1'`. */
  stream: string | number;
  /** Number of 32-bit words consumed so far: integer in [0, 2⁵³). */
  position: number;
}

// Builtins bound once: a global `Math` lookup per call is not optimised inside vm contexts (jest, sandboxes).
const { cos, floor, imul, log, sin, sqrt } = Math;

const TWO_POW_32 = 0x100000000;
/** Key high-word offset of one domain step: 2⁵³ / 2³². */
const DOMAIN_STEP = 0x200000;
const DOMAIN_UNIFORM = 0;
const DOMAIN_NORMAL = 1;
const DOMAIN_RNG = 2;
const TWO_PI = 2 * Math.PI;
const POW2_M23 = 2 ** -23;
const POW2_M53 = 2 ** -53;
const POW2_26 = 0x4000000;
const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

const utf8 = new TextEncoder();

/**
 * 32-bit FNV-1a hash of the UTF-8 bytes of `text`; turns stream names into Philox counter words.
 *
 * @param text - Any string.
 * @returns Unsigned 32-bit hash.
 *
 * @example
 * ```ts
 * fnv1a32('');  // 0x811c9dc5
 * fnv1a32('a'); // 0xe40c292c
 * ```
 */
export function fnv1a32(text: string): number {
  let h = FNV_OFFSET_BASIS;
  for (const byte of utf8.encode(text)) {
    h = imul(h ^ byte, FNV_PRIME) >>> 0;
  }
  return h;
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function checkU32(what: string, v: number): void {
  if (typeof v !== 'number' || !isU32(v)) {
    throw new RangeError(`diffpress random: ${what} must be an integer in [0, 2^32), got ${String(v)}`);
  }
}

function checkSeed(seed: number): void {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`diffpress random: seed must be an integer in [0, 2^53), got ${String(seed)}`);
  }
}

function streamWord(stream: string | number): number {
  if (typeof stream === 'string') return fnv1a32(stream);
  if (typeof stream === 'number' && isU32(stream)) return stream;
  throw new RangeError(`diffpress random: stream must be a string or an integer in [0, 2^32), got ${String(stream)}`);
}

function checkCount(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`diffpress random: element count must be a non-negative integer, got ${n}`);
  }
}

function shapeSize(shape: readonly number[]): number {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new RangeError(`diffpress random: shape must be non-negative integers, got [${String(shape)}]`);
  }
  return shape.reduce((a, d) => a * d, 1);
}

function checkRange(lo: number, hi: number): void {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
    throw new RangeError(`diffpress random: need finite lo < hi, got lo=${lo}, hi=${hi}`);
  }
}

function checkMoments(mean: number, std: number): void {
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0) {
    throw new RangeError(`diffpress random: need finite mean and finite std >= 0, got mean=${mean}, std=${std}`);
  }
}

/**
 * The 23 high bits of a word as the midpoint of one of 2²³ equal cells of (0, 1). Exactly representable in float32
 * (24 significant bits), so the value stays strictly inside (0, 1) after rounding; `(u + 0.5) / 2³²` would round to
 * exactly 1 in float32 for the top 128 words.
 */
function unitFloat(w: number): number {
  return ((w >>> 9) + 0.5) * POW2_M23;
}

/** Box–Muller radius from a 53-bit uniform in (0, 1], so the logarithm is never of 0; at most √(106 ln 2) ≈ 8.57. */
function bmRadius(w0: number, w1: number): number {
  return sqrt(-2 * log(((w0 >>> 5) * POW2_26 + (w1 >>> 6) + 1) * POW2_M53));
}

/** Box–Muller angle from a 53-bit uniform in [0, 1). */
function bmAngle(w2: number, w3: number): number {
  return TWO_PI * ((w2 >>> 5) * POW2_26 + (w3 >>> 6)) * POW2_M53;
}

interface ResolvedKey {
  k0: number;
  k1: number;
  stream: number;
  substream: number;
}

function resolveKey(seed: number, stream: string | number, substream: number | undefined, domain: number): ResolvedKey {
  checkSeed(seed);
  const sub = substream ?? 0;
  checkU32('substream', sub);
  return {
    k0: seed % TWO_POW_32,
    k1: floor(seed / TWO_POW_32) + domain * DOMAIN_STEP,
    stream: streamWord(stream),
    substream: sub,
  };
}

function fillUniform(out: Float32Array, offset: number, n: number, key: ResolvedKey, index: number, lo: number, hi: number): void {
  const words = new Uint32Array(4);
  const span = hi - lo;
  for (let j = 0, i = 0; i < n; j++) {
    philox4x32Into(words, 0, j, index, key.stream, key.substream, key.k0, key.k1);
    for (let w = 0; w < 4 && i < n; w++, i++) out[offset + i] = lo + span * unitFloat(words[w]);
  }
}

function fillNormal(out: Float32Array, offset: number, n: number, key: ResolvedKey, index: number, mean: number, std: number): void {
  const words = new Uint32Array(4);
  for (let j = 0, i = 0; i < n; j++, i += 2) {
    philox4x32Into(words, 0, j, index, key.stream, key.substream, key.k0, key.k1);
    const r = std * bmRadius(words[0], words[1]);
    const t = bmAngle(words[2], words[3]);
    out[offset + i] = mean + r * cos(t);
    if (i + 1 < n) out[offset + i + 1] = mean + r * sin(t);
  }
}

/**
 * `n` uniform values strictly inside (0, 1), a pure function of `key`: the midpoints of 2²³ equal cells, one
 * value per 32-bit Philox word (four per block). Element `e` does not depend on `n`, so a shorter draw is a prefix
 * of a longer one.
 *
 * @param n - Number of values (non-negative integer).
 * @param key - Noise coordinates.
 * @returns Float32 values in (0, 1), min 2⁻²⁴, max 1 − 2⁻²⁴.
 * @throws RangeError on an invalid count or key.
 *
 * @example
 * ```ts
 * const u = seededUniformArray(16, { seed: 1, stream: 'dropout', index: 3 });
 * ```
 */
export function seededUniformArray(n: number, key: NoiseKey): Float32Array {
  checkCount(n);
  const k = resolveKey(key.seed, key.stream, key.substream, DOMAIN_UNIFORM);
  checkU32('index', key.index);
  const out = new Float32Array(n);
  fillUniform(out, 0, n, k, key.index, 0, 1);
  return out;
}

/**
 * `n` standard normal values, a pure function of `key`. Box–Muller in float64 (rounded once to float32): each
 * Philox block gives two 53-bit uniforms and hence two normals, so elements `2j` and `2j + 1` come from block `j`
 * and a shorter draw is a prefix of a longer one. Magnitudes never exceed about 8.57.
 *
 * Bit-exact across processes on the same JavaScript engine; engines whose `Math.log`/`cos`/`sin` differ in the last
 * float64 place may, rarely, differ in the last float32 place.
 *
 * @param n - Number of values (non-negative integer).
 * @param key - Noise coordinates.
 * @returns Float32 values from N(0, 1).
 * @throws RangeError on an invalid count or key.
 *
 * @example
 * ```ts
 * const z = seededNormalArray(28 * 28, { seed: 0, stream: 'x_T', index: 5 });
 * ```
 */
export function seededNormalArray(n: number, key: NoiseKey): Float32Array {
  checkCount(n);
  const k = resolveKey(key.seed, key.stream, key.substream, DOMAIN_NORMAL);
  checkU32('index', key.index);
  const out = new Float32Array(n);
  fillNormal(out, 0, n, k, key.index, 0, 1);
  return out;
}

/**
 * Float32 tensor of uniform values in [lo, hi], a pure function of `key`; the values are
 * `lo + (hi − lo) · seededUniformArray(size, key)` computed in float64 and rounded once. With the default range
 * they lie strictly inside (0, 1); otherwise float32 rounding can reach `lo` or `hi` itself.
 *
 * @param shape - Tensor shape (non-negative integers; `[]` for a scalar).
 * @param key - Noise coordinates.
 * @param lo - Lower end of the range (finite, default 0).
 * @param hi - Upper end of the range (finite, greater than `lo`, default 1).
 * @returns A new float32 tensor; the caller owns (and disposes) it.
 * @throws RangeError on an invalid shape, key or range.
 *
 * @example
 * ```ts
 * const keep = tf.tidy(() => seededUniform([8, 16], { seed: 1, stream: 'mask', index: 0 }).greater(0.1));
 * ```
 */
export function seededUniform(shape: number[], key: NoiseKey, lo = 0, hi = 1): tf.Tensor {
  checkRange(lo, hi);
  return draw(shape, shape, key.seed, key.stream, key.substream, [key.index], DOMAIN_UNIFORM, lo, hi, true);
}

/**
 * Float32 tensor of normal values, a pure function of `key`; the values are `mean + std · z` with `z` the values of
 * {@link seededNormalArray}, computed in float64 and rounded once.
 *
 * @param shape - Tensor shape (non-negative integers; `[]` for a scalar).
 * @param key - Noise coordinates.
 * @param mean - Mean (finite, default 0).
 * @param std - Standard deviation (finite, ≥ 0, default 1).
 * @returns A new float32 tensor; the caller owns (and disposes) it.
 * @throws RangeError on an invalid shape, key, mean or std.
 *
 * @example
 * ```ts
 * const xT = seededNormal([28, 28, 1], { seed: 0, stream: 'x_T', index: 12 });
 * ```
 */
export function seededNormal(shape: number[], key: NoiseKey, mean = 0, std = 1): tf.Tensor {
  checkMoments(mean, std);
  return draw(shape, shape, key.seed, key.stream, key.substream, [key.index], DOMAIN_NORMAL, mean, std, true);
}

/**
 * One block of `sampleShape` values per index, drawn in `domain` and written row after row, as a tensor of
 * `outShape`. The single-sample functions are the one-index case (`single` only names the index in errors), which
 * is what makes a batch row equal to the single draw. `a, b` are (lo, hi) for uniforms and (mean, std) for normals.
 */
function draw(
  sampleShape: number[],
  outShape: number[],
  seed: number,
  stream: string | number,
  substream: number | undefined,
  indices: readonly number[],
  domain: number,
  a: number,
  b: number,
  single: boolean,
): tf.Tensor {
  const size = shapeSize(sampleShape);
  const k = resolveKey(seed, stream, substream, domain);
  if (!Array.isArray(indices)) throw new TypeError('diffpress random: indices must be an array');
  indices.forEach((ix, row) => checkU32(single ? 'index' : `indices[${row}]`, ix));
  const out = new Float32Array(indices.length * size);
  const fill = domain === DOMAIN_NORMAL ? fillNormal : fillUniform;
  indices.forEach((ix, row) => fill(out, row * size, size, k, ix, a, b));
  return tf.tensor(out, outShape, 'float32');
}

function batch(sampleShape: number[], opts: BatchNoiseKey, domain: number): tf.Tensor {
  const rows = Array.isArray(opts.indices) ? opts.indices.length : 0;
  return draw(sampleShape, [rows, ...sampleShape], opts.seed, opts.stream, opts.substream, opts.indices, domain, 0, 1, false);
}

/**
 * Standard normal noise for a batch of samples: shape `[indices.length, ...sampleShape]`, where row `b` equals
 * `seededNormal(sampleShape, { seed, stream, index: indices[b], substream })` bit for bit. A sample's noise is
 * therefore independent of batch size, batch order and which other samples share its batch.
 *
 * @param sampleShape - Shape of one sample (non-negative integers).
 * @param opts - Seed, stream, per-row sample indices and substream.
 * @returns A new float32 tensor; the caller owns (and disposes) it.
 * @throws RangeError on an invalid shape or key.
 *
 * @example
 * ```ts
 * // Initial latents of samples 64..67, identical to drawing each sample alone.
 * const xT = seededNormalBatch([28, 28, 1], { seed: 0, stream: 'x_T', indices: [64, 65, 66, 67] });
 * // Per-step noise of a stochastic sampler.
 * const eps = seededNormalBatch([28, 28, 1], { seed: 0, stream: 'ddpm-step', indices, substream: t });
 * ```
 */
export function seededNormalBatch(sampleShape: number[], opts: BatchNoiseKey): tf.Tensor {
  return batch(sampleShape, opts, DOMAIN_NORMAL);
}

/**
 * Uniform (0, 1) noise for a batch of samples: shape `[indices.length, ...sampleShape]`, where row `b` equals
 * `seededUniform(sampleShape, { seed, stream, index: indices[b], substream })` bit for bit.
 *
 * @param sampleShape - Shape of one sample (non-negative integers).
 * @param opts - Seed, stream, per-row sample indices and substream.
 * @returns A new float32 tensor with values strictly inside (0, 1); the caller owns (and disposes) it.
 * @throws RangeError on an invalid shape or key.
 *
 * @example
 * ```ts
 * const u = seededUniformBatch([10], { seed: 3, stream: 'augment', indices: [0, 1, 2] });
 * ```
 */
export function seededUniformBatch(sampleShape: number[], opts: BatchNoiseKey): tf.Tensor {
  return batch(sampleShape, opts, DOMAIN_UNIFORM);
}

/**
 * Sequential, serialisable random generator for parameter initialisation, shuffling and dropout masks: the
 * stateful counterpart of the seeded functions. Word `p` of generator `(seed, stream)` is word `p mod 4` of the
 * Philox block with counter `[⌊p/4⌋ mod 2³², ⌊p/2³⁴⌋, fnv1a32(stream), 0]` under the {@link Rng} key domain, so the
 * state is just (seed, stream, position) and a restored generator continues exactly where the saved one was.
 *
 * @example
 * ```ts
 * const rng = new Rng(42, 'init');
 * const w = rng.fork('conv1').normal([3, 3, 16, 32], 0, 0.05);
 * const order = rng.permutation(60000);
 * const saved = JSON.stringify(rng.state());
 * const resumed = Rng.fromState(JSON.parse(saved)); // continues the same sequence
 * ```
 */
export class Rng {
  /** Seed of this generator: integer in [0, 2⁵³). */
  readonly seed: number;
  /** Stream of this generator; forks append `/name`. */
  readonly stream: string | number;
  /** Philox key word 0 (low seed word). */
  private readonly k0: number;
  /** Philox key word 1 (high seed word plus the {@link Rng} domain). */
  private readonly k1: number;
  /** Philox counter word 2, from the stream. */
  private readonly streamWord: number;
  /** Words consumed so far; the whole mutable state. */
  private position = 0;
  /** Cache of the block holding the word at `position`, so four consecutive words cost one Philox call. */
  private readonly block = new Uint32Array(4);
  /** Index of the block in `block`; −1 before the first draw. */
  private blockIndex = -1;

  /**
   * @param seed - Integer in [0, 2⁵³).
   * @param stream - Stream name, or an unsigned 32-bit stream word (default `'default'`).
   * @throws RangeError on an invalid seed or stream.
   */
  constructor(seed: number, stream: string | number = 'default') {
    const k = resolveKey(seed, stream, 0, DOMAIN_RNG);
    this.seed = seed;
    this.stream = stream;
    this.k0 = k.k0;
    this.k1 = k.k1;
    this.streamWord = k.stream;
  }

  /**
   * Restores a generator saved with {@link Rng.state}; it produces exactly the values the saved one would have
   * produced next.
   *
   * @param s - A state, typically parsed from JSON.
   * @returns A new generator.
   * @throws RangeError on a malformed state.
   */
  static fromState(s: RngState): Rng {
    if (typeof s !== 'object' || s === null) throw new TypeError('diffpress random: RngState must be an object');
    const rng = new Rng(s.seed, s.stream);
    if (!Number.isSafeInteger(s.position) || s.position < 0) {
      throw new RangeError(`diffpress random: RngState.position must be an integer in [0, 2^53), got ${String(s.position)}`);
    }
    rng.position = s.position;
    return rng;
  }

  /**
   * Current position as plain JSON-safe data.
   *
   * @returns A snapshot; later draws do not change it.
   */
  state(): RngState {
    return { seed: this.seed, stream: this.stream, position: this.position };
  }

  /**
   * Child generator `(seed, stream + '/' + name)`: independent of this one and of its position, so adding draws to
   * the parent never shifts a child's values. Forking the same name twice gives the same sequence, so give each
   * consumer (layer, mask, …) its own name.
   *
   * @param name - Name of the child stream.
   * @returns A new generator at position 0.
   *
   * @example
   * ```ts
   * const init = new Rng(0, 'init');
   * const a = init.fork('conv1'); // same as new Rng(0, 'init/conv1')
   * ```
   */
  fork(name: string): Rng {
    if (typeof name !== 'string') throw new TypeError('diffpress random: fork name must be a string');
    return new Rng(this.seed, `${this.stream}/${name}`);
  }

  /**
   * Next 32 random bits.
   *
   * @returns Unsigned 32-bit integer.
   */
  nextU32(): number {
    const b = floor(this.position / 4);
    if (b !== this.blockIndex) {
      philox4x32Into(this.block, 0, b % TWO_POW_32, floor(b / TWO_POW_32), this.streamWord, 0, this.k0, this.k1);
      this.blockIndex = b;
    }
    return this.block[this.position++ % 4];
  }

  /**
   * `n` uniform values strictly inside (0, 1) (the grid of {@link seededUniformArray}), one word each.
   *
   * @param n - Number of values (non-negative integer).
   * @returns Float32 values in (0, 1).
   */
  uniformArray(n: number): Float32Array {
    checkCount(n);
    return this.fillUniform(new Float32Array(n), 0, 1);
  }

  /**
   * `n` standard normal values (Box–Muller as in {@link seededNormalArray}); consumes four words per pair, so an
   * odd `n` discards the last pair's second value.
   *
   * @param n - Number of values (non-negative integer).
   * @returns Float32 values from N(0, 1).
   */
  normalArray(n: number): Float32Array {
    checkCount(n);
    return this.fillNormal(new Float32Array(n), 0, 1);
  }

  /**
   * Float32 tensor of uniform values in [lo, hi] (strictly inside (0, 1) for the default range).
   *
   * @param shape - Tensor shape.
   * @param lo - Lower end (finite, default 0).
   * @param hi - Upper end (finite, greater than `lo`, default 1).
   * @returns A new tensor; the caller owns (and disposes) it.
   */
  uniform(shape: number[], lo = 0, hi = 1): tf.Tensor {
    const n = shapeSize(shape);
    checkRange(lo, hi);
    return tf.tensor(this.fillUniform(new Float32Array(n), lo, hi), shape, 'float32');
  }

  /**
   * Float32 tensor of normal values `mean + std · z`.
   *
   * @param shape - Tensor shape.
   * @param mean - Mean (finite, default 0).
   * @param std - Standard deviation (finite, ≥ 0, default 1).
   * @returns A new tensor; the caller owns (and disposes) it.
   */
  normal(shape: number[], mean = 0, std = 1): tf.Tensor {
    const n = shapeSize(shape);
    checkMoments(mean, std);
    return tf.tensor(this.fillNormal(new Float32Array(n), mean, std), shape, 'float32');
  }

  /**
   * Uniform integer in [0, maxExclusive), exactly unbiased: words from the incomplete top cycle of 2³² mod
   * `maxExclusive` are rejected and redrawn (on average fewer than two words per call).
   *
   * @param maxExclusive - Integer in [1, 2³²].
   * @returns Integer in [0, maxExclusive).
   * @throws RangeError when `maxExclusive` is out of range.
   */
  int(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive < 1 || maxExclusive > TWO_POW_32) {
      throw new RangeError(`diffpress random: int bound must be an integer in [1, 2^32], got ${maxExclusive}`);
    }
    return this.below(maxExclusive);
  }

  /**
   * Shuffles `array` in place with Fisher–Yates; every permutation is equally likely.
   *
   * @param array - Array to shuffle (at most 2³² elements).
   * @returns The same array, shuffled.
   */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /**
   * Uniformly random permutation of `0 … n − 1`.
   *
   * @param n - Length (non-negative integer).
   * @returns A new array.
   */
  permutation(n: number): number[] {
    checkCount(n);
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** {@link Rng.int} without argument checks, for loops whose bounds are valid by construction. */
  private below(maxExclusive: number): number {
    const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
    let u = this.nextU32();
    while (u >= limit) u = this.nextU32();
    return u % maxExclusive;
  }

  private fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    const span = hi - lo;
    for (let i = 0; i < out.length; i++) out[i] = lo + span * unitFloat(this.nextU32());
    return out;
  }

  private fillNormal(out: Float32Array, mean: number, std: number): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const r = std * bmRadius(this.nextU32(), this.nextU32());
      const t = bmAngle(this.nextU32(), this.nextU32());
      out[i] = mean + r * cos(t);
      if (i + 1 < out.length) out[i + 1] = mean + r * sin(t);
    }
    return out;
  }
}
