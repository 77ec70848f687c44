/**
 * Noise schedules of the variance-preserving forward process `z_t = α_t x + σ_t ε`, α² + σ² = 1, log-SNR
 * λ_t = log(α_t²/σ_t²). Two families share one interface:
 *
 * - {@link LinearBetaSchedule}: DDPM's discrete chain (T = 1000, β from 1e-4 to 0.02). Times are integer indices
 *   `0 … T−1`; `−1` denotes clean data (α = 1, σ = 0), the end point of a sampler.
 * - {@link CosineLogSnrSchedule}: continuous time `u ∈ [0, 1]` with `λ(u) = −2 log tan(a·u + b)`, as progressive
 *   distillation uses. `u = 0` is (almost) clean data, `u = 1` (almost) pure noise.
 *
 * The UNet never sees schedule times directly: {@link NoiseSchedule.modelTime} maps them to the 0…1000 range the
 * sinusoidal embedding expects, so the same network definition serves both families.
 */
export interface NoiseSchedule {
  /** `'discrete'` (integer times) or `'continuous'` (times in [0, 1]). */
  readonly kind: 'discrete' | 'continuous';
  /** Identifier recorded in checkpoints, e.g. `'linear-beta'`. */
  readonly id: string;
  /** Signal scale α_t ∈ (0, 1]. */
  alpha(t: number): number;
  /** Noise scale σ_t ∈ [0, 1). */
  sigma(t: number): number;
  /** log(α_t²/σ_t²); +∞ for clean data. */
  logSnr(t: number): number;
  /** The time value given to the network's timestep embedding for schedule time `t`. */
  modelTime(t: number): number;
  /** The time that stands for clean data (end point of sampling): −1 (discrete) or 0 (continuous). */
  readonly cleanTime: number;
  /**
   * Times of an `n`-step sampler, noisiest first (length `n`; the step after the last goes to {@link cleanTime}).
   *
   * @param n - Number of model calls, 1 … (T for discrete schedules).
   * @param spacing - `'uniform'` (DDIM's `range(0, T, T/n)` / `u_i = i/n`) or `'quadratic'` (DDIM's
   *   `linspace(0, √(0.8T), n)²`, dense near the data end).
   */
  samplingTimes(n: number, spacing?: TimeSpacing): number[];
  /**
   * A training time from a uniform variate `r ∈ [0, 1)`: a uniform integer in `0 … T−1` (discrete) or a uniform
   * real in `(0, 1]` (continuous, where u = 0 would be a noise-free input with nothing to learn).
   */
  trainingTime(r: number): number;
  /** Serialisable description, enough to rebuild the schedule with {@link scheduleFromConfig}. */
  toConfig(): ScheduleConfig;
}

/** Step spacing of a sampler. */
export type TimeSpacing = 'uniform' | 'quadratic';

/** Serialised {@link LinearBetaSchedule}. */
export interface LinearBetaConfig {
  /** Discriminator. */
  type: 'linear-beta';
  /** T. */
  timesteps: number;
  /** β_0. */
  betaStart: number;
  /** β_{T−1}. */
  betaEnd: number;
}

/** Serialised {@link CosineLogSnrSchedule}. */
export interface CosineLogSnrConfig {
  /** Discriminator. */
  type: 'cosine-logsnr';
  /** λ at u = 1. */
  logSnrMin: number;
  /** λ at u = 0. */
  logSnrMax: number;
}

/** Serialised form of a schedule (checkpoint metadata, recipes). */
export type ScheduleConfig = LinearBetaConfig | CosineLogSnrConfig;

function checkCount(n: number, max: number): void {
  if (!Number.isInteger(n) || n < 1 || n > max) throw new RangeError(`sampling steps must be an integer in [1, ${max}], got ${n}`);
}

/**
 * DDPM's linear β schedule over `T` discrete steps: `β_i = linspace(betaStart, betaEnd, T)`,
 * `α̅_t = Π_{i≤t} (1 − β_i)`, `α_t = √α̅_t`, `σ_t = √(1 − α̅_t)`. Time `t` is an index in `0 … T−1`, and `−1`
 * is clean data.
 *
 * @example
 * ```ts
 * const s = new LinearBetaSchedule();      // T = 1000, 1e-4 … 0.02
 * s.alpha(999);                            // ≈ 0.0064
 * s.samplingTimes(10);                     // [900, 800, …, 0]
 * ```
 */
export class LinearBetaSchedule implements NoiseSchedule {
  /** Always `'discrete'`. */
  readonly kind = 'discrete' as const;
  /** Always `'linear-beta'`. */
  readonly id = 'linear-beta';
  /** Clean data is time −1. */
  readonly cleanTime = -1;
  /** α̅_t for t = 0 … T−1, in float64. */
  readonly alphaBar: Float64Array;
  /** β_t for t = 0 … T−1. */
  readonly betas: Float64Array;

  /**
   * @param timesteps - T, number of diffusion steps (default 1000).
   * @param betaStart - β_0 (default 1e-4).
   * @param betaEnd - β_{T−1} (default 0.02).
   */
  constructor(
    readonly timesteps = 1000,
    readonly betaStart = 1e-4,
    readonly betaEnd = 0.02,
  ) {
    if (!Number.isInteger(timesteps) || timesteps < 2) throw new RangeError(`LinearBetaSchedule: timesteps must be an integer ≥ 2, got ${timesteps}`);
    if (!(betaStart > 0 && betaEnd < 1 && betaStart <= betaEnd)) {
      throw new RangeError(`LinearBetaSchedule: need 0 < betaStart ≤ betaEnd < 1, got ${betaStart}, ${betaEnd}`);
    }
    this.betas = new Float64Array(timesteps);
    this.alphaBar = new Float64Array(timesteps);
    let prod = 1;
    for (let i = 0; i < timesteps; i++) {
      this.betas[i] = betaStart + ((betaEnd - betaStart) * i) / (timesteps - 1);
      prod *= 1 - this.betas[i];
      this.alphaBar[i] = prod;
    }
  }

  private bar(t: number): number {
    if (t === -1) return 1;
    if (!Number.isInteger(t) || t < 0 || t >= this.timesteps) {
      throw new RangeError(`LinearBetaSchedule: time must be an integer in [-1, ${this.timesteps - 1}], got ${t}`);
    }
    return this.alphaBar[t];
  }

  /** √α̅_t (1 at t = −1). */
  alpha(t: number): number {
    return Math.sqrt(this.bar(t));
  }

  /** √(1 − α̅_t) (0 at t = −1). */
  sigma(t: number): number {
    return Math.sqrt(1 - this.bar(t));
  }

  /** log(α̅_t/(1 − α̅_t)). */
  logSnr(t: number): number {
    const b = this.bar(t);
    return Math.log(b) - Math.log1p(-b);
  }

  /** The index itself: DDPM networks embed integer steps 0 … T−1. */
  modelTime(t: number): number {
    return t;
  }

  /** DDIM's step selection (`range(0, T, T/n)` or the quadratic rule), noisiest first. */
  samplingTimes(n: number, spacing: TimeSpacing = 'uniform'): number[] {
    checkCount(n, this.timesteps);
    const T = this.timesteps;
    let seq: number[];
    if (spacing === 'uniform') {
      // DDIM's `range(0, T, T // n)` can give more than n entries when n does not divide T; taking floor(i·T/n)
      // keeps exactly n distinct steps and equals DDIM's list whenever n divides T.
      seq = Array.from({ length: n }, (_, i) => Math.floor((i * T) / n));
    } else if (spacing === 'quadratic') {
      const top = Math.sqrt(T * 0.8);
      seq = Array.from({ length: n }, (_, i) => Math.floor((n === 1 ? 0 : (top * i) / (n - 1)) ** 2));
      for (let i = 1; i < n; i++) if (seq[i] <= seq[i - 1]) seq[i] = seq[i - 1] + 1;
      if (seq[n - 1] >= T) throw new RangeError(`quadratic spacing cannot place ${n} distinct steps in ${T}`);
    } else {
      throw new RangeError(`unknown time spacing '${String(spacing)}' (expected 'uniform' or 'quadratic')`);
    }
    return seq.reverse();
  }

  /** `min(T − 1, ⌊r·T⌋)`. */
  trainingTime(r: number): number {
    return Math.min(this.timesteps - 1, Math.floor(r * this.timesteps));
  }

  /** `{type: 'linear-beta', timesteps, betaStart, betaEnd}`. */
  toConfig(): ScheduleConfig {
    return { type: 'linear-beta', timesteps: this.timesteps, betaStart: this.betaStart, betaEnd: this.betaEnd };
  }
}

/**
 * The cosine schedule in log-SNR form used by progressive distillation: `λ(u) = −2 log tan(a·u + b)` with
 * `b = atan(exp(−λmax/2))`, `a = atan(exp(−λmin/2)) − b`, so λ(0) = λmax and λ(1) = λmin; α² = sigmoid(λ),
 * σ² = sigmoid(−λ). Times are real numbers in [0, 1].
 *
 * @example
 * ```ts
 * const s = new CosineLogSnrSchedule();   // λ ∈ [−20, 20]
 * s.logSnr(0.5);                           // 0 (α = σ)
 * s.samplingTimes(4);                      // [1, 0.75, 0.5, 0.25]
 * ```
 */
export class CosineLogSnrSchedule implements NoiseSchedule {
  /** Always `'continuous'`. */
  readonly kind = 'continuous' as const;
  /** Always `'cosine-logsnr'`. */
  readonly id = 'cosine-logsnr';
  /** Clean data is u = 0 (where λ = λmax). */
  readonly cleanTime = 0;
  private readonly a: number;
  private readonly b: number;

  /**
   * @param logSnrMin - λ at u = 1 (default −20).
   * @param logSnrMax - λ at u = 0 (default 20).
   */
  constructor(
    readonly logSnrMin = -20,
    readonly logSnrMax = 20,
  ) {
    if (!(logSnrMin < logSnrMax)) throw new RangeError(`CosineLogSnrSchedule: need logSnrMin < logSnrMax, got ${logSnrMin}, ${logSnrMax}`);
    this.b = Math.atan(Math.exp(-logSnrMax / 2));
    this.a = Math.atan(Math.exp(-logSnrMin / 2)) - this.b;
  }

  private check(u: number): void {
    if (!(u >= 0 && u <= 1)) throw new RangeError(`CosineLogSnrSchedule: time must be in [0, 1], got ${u}`);
  }

  /** λ(u) = −2 log tan(a·u + b). */
  logSnr(u: number): number {
    this.check(u);
    return -2 * Math.log(Math.tan(this.a * u + this.b));
  }

  /** √sigmoid(λ(u)). */
  alpha(u: number): number {
    return Math.sqrt(sigmoid(this.logSnr(u)));
  }

  /** √sigmoid(−λ(u)). */
  sigma(u: number): number {
    return Math.sqrt(sigmoid(-this.logSnr(u)));
  }

  /** `1000·u`, the scale of DDPM step indices, so the timestep embedding behaves as for discrete models. */
  modelTime(u: number): number {
    return 1000 * u;
  }

  /** `u_i = (i+1)/n` (uniform) or `((i+1)/n)²` (quadratic), noisiest first. */
  samplingTimes(n: number, spacing: TimeSpacing = 'uniform'): number[] {
    checkCount(n, Number.MAX_SAFE_INTEGER);
    if (spacing !== 'uniform' && spacing !== 'quadratic') throw new RangeError(`unknown time spacing '${String(spacing)}' (expected 'uniform' or 'quadratic')`);
    const out = Array.from({ length: n }, (_, i) => (spacing === 'uniform' ? (i + 1) / n : ((i + 1) / n) ** 2));
    return out.reverse();
  }

  /** `1 − r`. */
  trainingTime(r: number): number {
    return 1 - r;
  }

  /** `{type: 'cosine-logsnr', logSnrMin, logSnrMax}`. */
  toConfig(): ScheduleConfig {
    return { type: 'cosine-logsnr', logSnrMin: this.logSnrMin, logSnrMax: this.logSnrMax };
  }
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/**
 * Rebuilds a schedule from {@link NoiseSchedule.toConfig} output (e.g. read from checkpoint metadata).
 *
 * @throws Error on an unknown type.
 */
export function scheduleFromConfig(config: ScheduleConfig): NoiseSchedule {
  switch (config.type) {
    case 'linear-beta':
      return new LinearBetaSchedule(config.timesteps, config.betaStart, config.betaEnd);
    case 'cosine-logsnr':
      return new CosineLogSnrSchedule(config.logSnrMin, config.logSnrMax);
    default:
      throw new Error(`unknown schedule type '${(config as { type: string }).type}' (expected 'linear-beta' or 'cosine-logsnr')`);
  }
}
