import * as tf from '@tensorflow/tfjs';
import { UniformQuantizer, clampSTE } from '@diffpress/core';

/** Stretch of the rectified sigmoid `h(α)` (AdaRound, Nagel et al. ICML 2020): γ = −0.1, ζ = 1.1. */
export const ADAROUND_GAMMA = -0.1;
/** See {@link ADAROUND_GAMMA}. */
export const ADAROUND_ZETA = 1.1;

/**
 * Margin of the convergence measure: a rounding variable counts as not yet saturated while `h(α)` lies strictly
 * inside `(margin, 1 − margin)` = (0.01, 0.99). At convergence AdaRound has every `h(α)` at 0 or 1, so that the soft
 * weights it optimised are the hard ones it writes back; a large unsaturated share at the end means the hard rounding
 * differs from what the loss saw.
 */
export const ADAROUND_SATURATION_MARGIN = 0.01;

/** How many rounding variables of one or more {@link AdaRound}s are not yet saturated. */
export interface SaturationCount {
  /** Variables with `h(α)` strictly inside `(margin, 1 − margin)`. */
  unsaturated: number;
  /** All variables. */
  total: number;
}

/**
 * The share of the rounding variables of `roundings` whose `h(α)` is strictly inside `(margin, 1 − margin)`
 * (see {@link ADAROUND_SATURATION_MARGIN}); NaN when there are none.
 */
export function unsaturatedShare(roundings: readonly AdaRound[], margin = ADAROUND_SATURATION_MARGIN): number {
  let unsaturated = 0;
  let total = 0;
  for (const a of roundings) {
    const c = a.saturation(margin);
    unsaturated += c.unsaturated;
    total += c.total;
  }
  return total === 0 ? NaN : unsaturated / total;
}

/** Schedule of the rounding regulariser (ptq spec §1). */
export interface AdaRoundSchedule {
  /** Iterations of the reconstruction. */
  iters: number;
  /** Share of the iterations during which the regulariser is off and β stays at `startBeta` (default 0.2). */
  warmup?: number;
  /** β at the start of the decay (default 20). */
  startBeta?: number;
  /** β at the end (default 2). */
  endBeta?: number;
}

/**
 * β of the regulariser at iteration `iter` (0-based): `startBeta` during the warm-up, then a linear decay to
 * `endBeta` at the last iteration (BRECQ's `LinearTempDecay`).
 */
export function adaRoundBeta(iter: number, schedule: AdaRoundSchedule): number {
  const { iters } = schedule;
  const start = schedule.startBeta ?? 20;
  const end = schedule.endBeta ?? 2;
  const decayFrom = iters * (schedule.warmup ?? 0.2);
  if (iter < decayFrom) return start;
  const rel = (iter - decayFrom) / Math.max(1, iters - decayFrom);
  return end + (start - end) * Math.max(0, 1 - rel);
}

/** Whether the regulariser is on at iteration `iter` (off during the warm-up). */
export function adaRoundRegularizerOn(iter: number, schedule: AdaRoundSchedule): boolean {
  return iter >= schedule.iters * (schedule.warmup ?? 0.2);
}

/**
 * AdaRound over one weight tensor (ptq spec §1): the grid (Δ, z per output channel) of an initialised
 * {@link UniformQuantizer} is frozen, and each weight gets a continuous variable α deciding between rounding down
 * and up: `ŵ = (clamp(⌊w/Δ⌋ + h(α) + z, lo, hi) − z)·Δ` with `h(α) = clamp(sigmoid(α)·(ζ − γ) + γ, 0, 1)` (soft),
 * or `h = [α ≥ 0]` (hard). α starts where `h(α) = frac(w/Δ)`, so the hard weights start at round-to-nearest.
 *
 * The object is transient: a reconstruction creates it, optimises {@link AdaRound.alpha} with the task loss plus
 * {@link AdaRound.regularizer}, then writes the hard weights back with {@link AdaRound.hardWeight} and disposes it.
 */
export class AdaRound {
  /** The rounding variables, shaped like the weight (trainable). */
  readonly alpha: tf.Variable;
  /** Soft (optimisation) or hard (final) rounding. */
  soft = true;
  private readonly floor: tf.Tensor;

  /**
   * @param weight - The FP weight (read, not kept).
   * @param quantizer - Its initialised quantizer; Δ and z are read at each call and must stay fixed.
   */
  constructor(
    weight: tf.Tensor,
    readonly quantizer: UniformQuantizer,
  ) {
    const { floor, alpha } = tf.tidy(() => {
      const scaled = tf.div(weight, quantizer.delta);
      const fl = tf.floor(scaled);
      const rest = tf.sub(scaled, fl);
      // h(α) = rest  ⇔  sigmoid(α) = (rest − γ)/(ζ − γ)  ⇔  α = −log((ζ − γ)/(rest − γ) − 1).
      const a = tf.neg(tf.log(tf.sub(tf.div(ADAROUND_ZETA - ADAROUND_GAMMA, tf.sub(rest, ADAROUND_GAMMA)), 1)));
      return { floor: fl, alpha: a };
    });
    this.floor = floor;
    this.alpha = tf.variable(alpha, true);
    alpha.dispose();
  }

  /** `h(α)` in [0, 1]. */
  h(): tf.Tensor {
    return tf.tidy(() => tf.clipByValue(tf.add(tf.mul(tf.sigmoid(this.alpha), ADAROUND_ZETA - ADAROUND_GAMMA), ADAROUND_GAMMA), 0, 1));
  }

  /** The quantized weight, soft or hard per {@link AdaRound.soft}. */
  forward(): tf.Tensor {
    return tf.tidy(() => {
      const q = this.quantizer;
      const h = this.soft ? this.h() : tf.cast(tf.greaterEqual(this.alpha, 0), 'float32');
      const ints = clampSTE(tf.add(tf.add(this.floor, h), q.zero), q.levels.lo, q.levels.hi);
      return tf.mul(tf.sub(ints, q.zero), q.delta);
    });
  }

  /** How many of this tensor's `h(α)` are strictly inside `(margin, 1 − margin)` (see {@link ADAROUND_SATURATION_MARGIN}). */
  saturation(margin = ADAROUND_SATURATION_MARGIN): SaturationCount {
    const h = this.h();
    try {
      const v = h.dataSync();
      let unsaturated = 0;
      for (let i = 0; i < v.length; i++) if (v[i] > margin && v[i] < 1 - margin) unsaturated++;
      return { unsaturated, total: v.length };
    } finally {
      h.dispose();
    }
  }

  /** `Σ (1 − |2h(α) − 1|^β)`, which pushes every h(α) to 0 or 1 as β falls. */
  regularizer(beta: number): tf.Scalar {
    return tf.tidy(() => tf.sum(tf.sub(1, tf.pow(tf.abs(tf.sub(tf.mul(this.h(), 2), 1)), beta))) as tf.Scalar);
  }

  /** The hard-rounded weight `(clamp(⌊w/Δ⌋ + [α ≥ 0] + z, lo, hi) − z)·Δ` (a new tensor). */
  hardWeight(): tf.Tensor {
    const soft = this.soft;
    this.soft = false;
    try {
      return this.forward();
    } finally {
      this.soft = soft;
    }
  }

  /** Frees α and the cached floor. */
  dispose(): void {
    this.alpha.dispose();
    this.floor.dispose();
  }
}
