import * as tf from '@tensorflow/tfjs';
import { NoiseSchedule, TimeSpacing } from '../schedule/schedule';

/**
 * Which sampler and its settings. One shape for every registered sampler (k-diffusion's single sampler signature):
 * a kind from {@link SAMPLERS}, a step count, and the settings the kind reads.
 */
export interface SamplerConfig {
  /**
   * A registered sampler kind: `'ddim'` (Song et al. 2021; deterministic at η = 0), `'ddpm'` (ancestral sampling
   * from the posterior q(z_s | z_t, x̂), Ho et al. 2020), `'renoise'` (the k-step sampler of ADD and consistency
   * models: re-noise x̂ to the next time with fresh noise), or one added with {@link registerSampler}.
   */
  kind: string;
  /** Number of model calls. DDPM with steps = T is the original 1000-step chain. */
  steps: number;
  /** DDIM stochasticity η ≥ 0 (default 0; η = 1 has DDPM's posterior variance). */
  eta?: number;
  /** Step spacing (default `'uniform'`); ignored when `times` is given. */
  spacing?: TimeSpacing;
  /** Clip x̂ to [−1, 1] before each update, re-deriving ε̂ from the clipped x̂ (default true). */
  clipDenoised?: boolean;
  /** DDPM noise variance: `'small'` = posterior variance (default), `'large'` = 1 − α_t²/α_s² (β_t for adjacent steps). */
  ddpmVariance?: 'small' | 'large';
  /**
   * Explicit schedule times, noisiest first (`steps` of them): a student sampler's own times, e.g. ADD's
   * t ∈ {999, 749, 499, 249} of a 1000-step schedule. Default: the schedule's `steps` times at `spacing`.
   */
  times?: number[];
}

/** What one sampler update z_t → z_s is computed from. */
export interface SamplerUpdateInput {
  /** The schedule. */
  schedule: NoiseSchedule;
  /** The sampler's settings. */
  config: SamplerConfig;
  /** Current time. */
  t: number;
  /** Next time (`schedule.cleanTime` after the last step). */
  s: number;
  /** Predicted clean sample x̂. */
  xHat: tf.Tensor;
  /** Predicted noise ε̂ (consistent with x̂ and z_t). */
  epsHat: tf.Tensor;
  /** Standard normal noise shaped like x̂ for a stochastic update, else `null`. */
  noise: tf.Tensor | null;
}

/** A registered sampler: its update rule and what in its config changes results. */
export interface SamplerDefinition {
  /** Kind (the `kind` of {@link SamplerConfig}). */
  kind: string;
  /** One line for listings and docs. */
  description: string;
  /** Whether the step from `t` to a non-clean time draws noise. */
  stochastic(config: SamplerConfig): boolean;
  /** One update z_t → z_s (a new tensor). Returns x̂ itself when s is the clean time. */
  update(input: SamplerUpdateInput): tf.Tensor;
  /** The settings of `config` that this kind reads, defaults left out (sample-cache keys and labels use it). */
  canonical(config: SamplerConfig): SamplerConfig;
  /** Throws on settings the kind cannot use. */
  check?(config: SamplerConfig): void;
}

/** The settings every kind shares: step count, spacing or explicit times, clipping. */
function sharedCanonical(s: SamplerConfig): SamplerConfig {
  const out: SamplerConfig = { kind: s.kind, steps: s.steps };
  if (s.times) out.times = [...s.times];
  else if ((s.spacing ?? 'uniform') !== 'uniform') out.spacing = s.spacing;
  if ((s.clipDenoised ?? true) !== true) out.clipDenoised = s.clipDenoised;
  return out;
}

/**
 * `z_s = α_s x̂ + √(σ_s² − c²)·ε̂ + c·noise` for DDIM (c = η·√(σ_s²/σ_t² · (1 − α_t²/α_s²)); η = 1 gives DDPM's
 * posterior variance) and DDPM (c from the posterior, or √(1 − α_t²/α_s²) for the 'large' variance).
 */
function posteriorUpdate(u: SamplerUpdateInput, c: number): tf.Tensor {
  const { schedule, s, xHat, epsHat, noise } = u;
  if (s === schedule.cleanTime) return tf.clone(xHat);
  const as = schedule.alpha(s);
  const ss = schedule.sigma(s);
  // 'large' variance can exceed σ_s²; the ε̂ direction then gets no weight (as DDPM's fixed-large posterior mean).
  const dir = Math.sqrt(Math.max(0, ss * ss - c * c));
  return tf.tidy(() => {
    let z = tf.add(tf.mul(xHat, as), tf.mul(epsHat, dir));
    if (c > 0) {
      if (!noise) throw new Error('samplerUpdate: this sampler is stochastic and needs noise');
      z = tf.add(z, tf.mul(noise, c));
    }
    return z;
  });
}

/** 1 − α_t²/α_s²: the variance the forward process adds between s and t, relative to α_t². */
function decay(schedule: NoiseSchedule, t: number, s: number): number {
  const at = schedule.alpha(t);
  const as = schedule.alpha(s);
  return Math.max(0, 1 - (at * at) / (as * as));
}

function posteriorStd(schedule: NoiseSchedule, t: number, s: number): number {
  const ss = schedule.sigma(s);
  const st = schedule.sigma(t);
  return Math.sqrt(((ss * ss) / (st * st)) * decay(schedule, t, s));
}

const ddim: SamplerDefinition = {
  kind: 'ddim',
  description: 'DDIM (Song et al. 2021): deterministic at eta 0, DDPM posterior variance at eta 1',
  stochastic: (c) => (c.eta ?? 0) > 0,
  update: (u) => posteriorUpdate(u, u.s === u.schedule.cleanTime ? 0 : (u.config.eta ?? 0) * posteriorStd(u.schedule, u.t, u.s)),
  canonical: (c) => ({ ...sharedCanonical(c), ...((c.eta ?? 0) !== 0 ? { eta: c.eta } : {}) }),
  check: (c) => {
    const eta = c.eta ?? 0;
    if (!(eta >= 0)) throw new RangeError(`DDIM eta must be ≥ 0, got ${eta}`);
  },
};

const ddpm: SamplerDefinition = {
  kind: 'ddpm',
  description: 'DDPM ancestral sampling (Ho et al. 2020) from the posterior q(z_s | z_t, x̂)',
  stochastic: () => true,
  update: (u) => {
    if (u.s === u.schedule.cleanTime) return tf.clone(u.xHat);
    const large = (u.config.ddpmVariance ?? 'small') === 'large';
    return posteriorUpdate(u, large ? Math.sqrt(decay(u.schedule, u.t, u.s)) : posteriorStd(u.schedule, u.t, u.s));
  },
  canonical: (c) => ({ ...sharedCanonical(c), ...((c.ddpmVariance ?? 'small') !== 'small' ? { ddpmVariance: c.ddpmVariance } : {}) }),
};

const renoise: SamplerDefinition = {
  kind: 'renoise',
  description: 'k-step re-noising (ADD, consistency models): z_s = α_s x̂ + σ_s·fresh noise',
  stochastic: () => true,
  update: ({ schedule, s, xHat, noise }) => {
    if (s === schedule.cleanTime) return tf.clone(xHat);
    if (!noise) throw new Error('samplerUpdate: the renoise sampler needs noise');
    return tf.tidy(() => tf.add(tf.mul(xHat, schedule.alpha(s)), tf.mul(noise, schedule.sigma(s))));
  },
  canonical: sharedCanonical,
};

const registry = new Map<string, SamplerDefinition>([ddim, ddpm, renoise].map((d) => [d.kind, d]));

/** The registered samplers by kind (`ddim`, `ddpm`, `renoise`, and any added with {@link registerSampler}). */
export const SAMPLERS: ReadonlyMap<string, SamplerDefinition> = registry;

/**
 * Registers a sampler kind, so recipes, `sample()` and the sample cache accept it.
 *
 * @throws Error when the kind is already registered.
 */
export function registerSampler(definition: SamplerDefinition): void {
  if (registry.has(definition.kind)) throw new Error(`sampler '${definition.kind}' is already registered`);
  registry.set(definition.kind, definition);
}

/**
 * The definition of a sampler config's kind, after checking the config.
 *
 * @throws Error for an unknown kind (listing the known ones), a step count that is not a positive integer, explicit
 *   times whose number differs from `steps`, or settings the kind rejects.
 */
export function samplerDefinition(config: SamplerConfig): SamplerDefinition {
  const def = registry.get(config.kind);
  if (!def) throw new Error(`unknown sampler '${String(config.kind)}' (expected one of: ${[...registry.keys()].map((k) => `'${k}'`).join(', ')})`);
  if (!Number.isInteger(config.steps) || config.steps < 1) throw new RangeError(`sampler steps must be a positive integer, got ${config.steps}`);
  if (config.times && config.times.length !== config.steps) throw new RangeError(`sampler: ${config.times.length} explicit times for ${config.steps} steps`);
  def.check?.(config);
  return def;
}

/**
 * One sampler update from time t to time s given (x̂, ε̂), by the config's registered kind (see
 * {@link SamplerDefinition.update}). Returns x̂ itself when s is the clean time.
 *
 * @param noise - Standard normal noise shaped like x̂ (ignored by deterministic updates; may be `null` then).
 */
export function samplerUpdate(
  schedule: NoiseSchedule,
  config: SamplerConfig,
  t: number,
  s: number,
  xHat: tf.Tensor,
  epsHat: tf.Tensor,
  noise: tf.Tensor | null,
): tf.Tensor {
  return samplerDefinition(config).update({ schedule, config, t, s, xHat, epsHat, noise });
}

/** The schedule times a sampler config visits, noisiest first (its explicit `times`, else the schedule's spacing). */
export function samplerTimes(schedule: NoiseSchedule, config: SamplerConfig): number[] {
  samplerDefinition(config);
  return config.times ? [...config.times] : schedule.samplingTimes(config.steps, config.spacing ?? 'uniform');
}

/** Whether a sampler config draws noise at its steps (DDPM, DDIM with η > 0, re-noising). */
export function samplerIsStochastic(config: SamplerConfig): boolean {
  return samplerDefinition(config).stochastic(config);
}

/** The settings of a sampler config that change results, defaults left out (for cache keys and comparisons). */
export function canonicalSamplerConfig(config: SamplerConfig): SamplerConfig {
  return samplerDefinition(config).canonical(config);
}

/**
 * A sampler config as comparable text: its canonical form as JSON, or `none` without one. Two configs give the same
 * text exactly when they sample the same way (how a step's returned student sampler is checked against its declaration).
 */
export function samplerKey(config: SamplerConfig | undefined): string {
  return config ? JSON.stringify(canonicalSamplerConfig(config)) : 'none';
}
