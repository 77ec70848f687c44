import { Rng } from '@diffpress/core';
import { ArrayDataset, validateDataset } from './dataset';

/** Options of the 2-D toy generators. */
export interface Toy2dOptions {
  /** Seed of the generator: integer in [0, 2⁵³). The same seed and `n` give bit-identical data. */
  seed: number;
  /** Standard deviation of the Gaussian noise; its units and default are those of each generator. */
  noise?: number;
  /** Dataset name (default `toy/<kind>`). */
  name?: string;
}

/** A 2-D toy dataset: points `[2]` labelled with the mode they were drawn from, for per-mode coverage metrics. */
export interface Toy2dDataset extends ArrayDataset {
  /** Mode index of each point, in `0 … numModes − 1`. */
  readonly labels: Int32Array;
  /** Number of modes (possible label values). */
  readonly numModes: number;
}

/** Names accepted by {@link toy2d}. */
export type Toy2dKind = 'swiss-roll' | 'eight-gaussians' | 'two-moons';

/** Radius of the circle the eight Gaussians sit on. */
export const EIGHT_GAUSSIANS_RADIUS = 2;

/**
 * Centres of {@link eightGaussians}, label `k` being centre `k`: the FFJORD set's directions (±1, 0), (0, ±1),
 * (±1/√2, ±1/√2), in FFJORD's order, times {@link EIGHT_GAUSSIANS_RADIUS}.
 */
export const EIGHT_GAUSSIANS_CENTERS: ReadonlyArray<readonly [number, number]> = (
  [
    [1, 0],
    [-1, 0],
    [0, 1],
    [0, -1],
    [Math.SQRT1_2, Math.SQRT1_2],
    [Math.SQRT1_2, -Math.SQRT1_2],
    [-Math.SQRT1_2, Math.SQRT1_2],
    [-Math.SQRT1_2, -Math.SQRT1_2],
  ] as const
).map(([x, y]) => [EIGHT_GAUSSIANS_RADIUS * x, EIGHT_GAUSSIANS_RADIUS * y] as const);

/**
 * Affine map applied to sklearn's `make_moons` points, `(p − TWO_MOONS_MEAN) / TWO_MOONS_STD` per axis: the exact
 * mean and standard deviation of the noise-free moons in the continuum limit (outer arc `(cos s, sin s)`, inner arc
 * `(1 − cos s, 1/2 − sin s)`, s uniform on [0, π], half the points each): mean `(1/2, 1/4)`, variances `3/4` and
 * `9/16 − 1/π`. The standardised set thus has mean ≈ 0 and standard deviation ≈ 1 (slightly more with noise).
 */
export const TWO_MOONS_MEAN: readonly [number, number] = [0.5, 0.25];
/** See {@link TWO_MOONS_MEAN}: `(√3/2, √(9/16 − 1/π))` ≈ (0.866, 0.494). */
export const TWO_MOONS_STD: readonly [number, number] = [Math.sqrt(3) / 2, Math.sqrt(9 / 16 - 1 / Math.PI)];

/**
 * Divisor of sklearn's swiss-roll coordinates. With `t` uniform on [3π/2, 9π/2], the noise-free `(t cos t, t sin t)`
 * has per-coordinate root mean square `√(E[t²]/2) = π√4.875 ≈ 6.94`, so dividing by 7 gives roughly unit scale
 * (FFJORD divides by 5). Not centred: the noise-free mean is `(2, 2/(3π))/7 ≈ (0.29, 0.03)`.
 */
export const SWISS_ROLL_SCALE = 7;
/** Number of swiss-roll labels: the roll parameter's range is cut into this many equal buckets. */
export const SWISS_ROLL_BUCKETS = 10;

function checkArgs(kind: string, n: number, noise: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${kind}: n must be a non-negative integer, got ${n}`);
  if (!Number.isFinite(noise) || noise < 0) throw new RangeError(`${kind}: noise must be a finite number ≥ 0, got ${noise}`);
}

function build(kind: Toy2dKind, options: Toy2dOptions, data: Float32Array, labels: Int32Array, numModes: number): Toy2dDataset {
  const ds: Toy2dDataset = { name: options.name ?? `toy/${kind}`, sampleShape: [2], size: labels.length, data, labels, numModes };
  validateDataset(ds);
  return ds;
}

/**
 * Eight Gaussians on a circle (the FFJORD "8gaussians" set, at radius 2): each point picks a centre of
 * {@link EIGHT_GAUSSIANS_CENTERS} uniformly at random and adds isotropic Gaussian noise.
 *
 * @param n - Number of points.
 * @param options - Seed; `noise` = standard deviation of each Gaussian (default 0.02).
 * @returns Points `[2]`, labels = centre index 0…7, `numModes` 8.
 * @throws RangeError on a bad count, noise or seed.
 *
 * @example
 * ```ts
 * const ds = eightGaussians(10000, { seed: 0 });
 * ```
 */
export function eightGaussians(n: number, options: Toy2dOptions): Toy2dDataset {
  const noise = options.noise ?? 0.02;
  checkArgs('eightGaussians', n, noise);
  const rng = new Rng(options.seed, 'toy2d/eight-gaussians');
  // Separate streams: changing one draw (say, the noise level's use) never shifts the other.
  const modeRng = rng.fork('mode');
  const eps = rng.fork('noise').normalArray(2 * n);
  const data = new Float32Array(2 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = modeRng.int(8);
    const [cx, cy] = EIGHT_GAUSSIANS_CENTERS[k];
    labels[i] = k;
    data[2 * i] = cx + noise * eps[2 * i];
    data[2 * i + 1] = cy + noise * eps[2 * i + 1];
  }
  return build('eight-gaussians', options, data, labels, 8);
}

/**
 * Two interleaving half circles, as sklearn's `make_moons(n, shuffle=True, noise)`: `⌊n/2⌋` points evenly spaced
 * on the outer arc `(cos s, sin s)` and the rest on the inner arc `(1 − cos s, 1/2 − sin s)`, `s = linspace(0, π)`,
 * shuffled, plus Gaussian noise; then standardised by the fixed map of {@link TWO_MOONS_MEAN}/{@link TWO_MOONS_STD}.
 *
 * @param n - Number of points.
 * @param options - Seed; `noise` = standard deviation of the noise before standardising, in make_moons' units
 *   (default 0.05).
 * @returns Points `[2]`, labels = moon (0 outer, 1 inner), `numModes` 2.
 * @throws RangeError on a bad count, noise or seed.
 *
 * @example
 * ```ts
 * const ds = twoMoons(10000, { seed: 0, noise: 0.1 });
 * ```
 */
export function twoMoons(n: number, options: Toy2dOptions): Toy2dDataset {
  const noise = options.noise ?? 0.05;
  checkArgs('twoMoons', n, noise);
  const rng = new Rng(options.seed, 'toy2d/two-moons');
  const order = rng.fork('shuffle').permutation(n);
  const eps = rng.fork('noise').normalArray(2 * n);
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  // np.linspace(0, π, m): m = 1 gives just 0.
  const arc = (j: number, m: number): number => (m > 1 ? (Math.PI * j) / (m - 1) : 0);
  const data = new Float32Array(2 * n);
  const labels = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const inner = j >= nOut;
    const s = inner ? arc(j - nOut, nIn) : arc(j, nOut);
    const x = inner ? 1 - Math.cos(s) : Math.cos(s);
    const y = inner ? 0.5 - Math.sin(s) : Math.sin(s);
    const i = order[j];
    labels[i] = inner ? 1 : 0;
    data[2 * i] = (x + noise * eps[2 * i] - TWO_MOONS_MEAN[0]) / TWO_MOONS_STD[0];
    data[2 * i + 1] = (y + noise * eps[2 * i + 1] - TWO_MOONS_MEAN[1]) / TWO_MOONS_STD[1];
  }
  return build('two-moons', options, data, labels, 2);
}

/**
 * The swiss roll as the 2-D projection of sklearn's `make_swiss_roll`: `t = 3π/2 · (1 + 2u)` with u uniform on
 * (0, 1), point `(t cos t, t sin t)` (sklearn's x and z) plus Gaussian noise, divided by {@link SWISS_ROLL_SCALE}.
 *
 * @param n - Number of points.
 * @param options - Seed; `noise` = standard deviation of the noise before scaling, in make_swiss_roll's units
 *   (default 1.0, as FFJORD; the arms are 2π apart in those units).
 * @returns Points `[2]`; labels = bucket `⌊10u⌋` of the roll parameter (0 at the inner end, 9 at the outer end;
 *   equal ranges of `t`, so equal expected counts), `numModes` {@link SWISS_ROLL_BUCKETS}.
 * @throws RangeError on a bad count, noise or seed.
 *
 * @example
 * ```ts
 * const ds = swissRoll(10000, { seed: 0 });
 * ```
 */
export function swissRoll(n: number, options: Toy2dOptions): Toy2dDataset {
  const noise = options.noise ?? 1;
  checkArgs('swissRoll', n, noise);
  const rng = new Rng(options.seed, 'toy2d/swiss-roll');
  const u = rng.fork('roll').uniformArray(n);
  const eps = rng.fork('noise').normalArray(2 * n);
  const data = new Float32Array(2 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = 1.5 * Math.PI * (1 + 2 * u[i]);
    // u < 1 strictly, but the min keeps the bucket in range should that ever change.
    labels[i] = Math.min(SWISS_ROLL_BUCKETS - 1, Math.floor(SWISS_ROLL_BUCKETS * u[i]));
    data[2 * i] = (t * Math.cos(t) + noise * eps[2 * i]) / SWISS_ROLL_SCALE;
    data[2 * i + 1] = (t * Math.sin(t) + noise * eps[2 * i + 1]) / SWISS_ROLL_SCALE;
  }
  return build('swiss-roll', options, data, labels, SWISS_ROLL_BUCKETS);
}

/**
 * One of the 2-D toy sets by name, for configuration files and command lines.
 *
 * @param kind - `'swiss-roll'`, `'eight-gaussians'` or `'two-moons'`.
 * @param n - Number of points.
 * @param options - Seed, noise (in the generator's own units and default) and name.
 * @throws RangeError on an unknown kind.
 *
 * @example
 * ```ts
 * const ds = toy2d('two-moons', 8192, { seed: 1 });
 * ```
 */
export function toy2d(kind: Toy2dKind, n: number, options: Toy2dOptions): Toy2dDataset {
  switch (kind) {
    case 'swiss-roll':
      return swissRoll(n, options);
    case 'eight-gaussians':
      return eightGaussians(n, options);
    case 'two-moons':
      return twoMoons(n, options);
    default:
      throw new RangeError(`toy2d: unknown kind '${String(kind)}' (swiss-roll, eight-gaussians, two-moons)`);
  }
}
