/**
 * Learning-rate schedule: linear warm-up from 0 to `lr` over `warmupSteps`, then `constant`, `cosine` (half cosine
 * from `lr` down to `minLr` at `totalSteps`) or `linear` (straight to 0 at `totalSteps`, as progressive
 * distillation anneals each stage).
 */
export interface LrScheduleConfig {
  /** Peak learning rate. */
  lr: number;
  /** Shape after warm-up (default `'constant'`). */
  decay?: 'constant' | 'cosine' | 'linear';
  /** Warm-up steps (default 0). */
  warmupSteps?: number;
  /** Steps of the whole run (needed by `cosine` and `linear`). */
  totalSteps?: number;
  /** Floor of the cosine decay (default 0). */
  minLr?: number;
}

/**
 * The learning rate for update number `step` (0-based).
 *
 * @example
 * ```ts
 * learningRate({ lr: 1e-3, decay: 'cosine', warmupSteps: 100, totalSteps: 1000 }, 550); // 5e-4
 * ```
 */
export function learningRate(config: LrScheduleConfig, step: number): number {
  const { lr, decay = 'constant', warmupSteps = 0, minLr = 0 } = config;
  if (!(lr > 0)) throw new RangeError(`learning rate must be positive, got ${lr}`);
  if (!['constant', 'cosine', 'linear'].includes(decay)) throw new RangeError(`unknown learning-rate decay '${String(decay)}' (expected constant, cosine or linear)`);
  if (!(minLr >= 0 && minLr <= lr)) throw new RangeError(`minLr must be in [0, lr], got ${minLr}`);
  const total = config.totalSteps;
  // Validated before the warm-up branch so a bad config fails at step 0, not after the warm-up.
  if (decay !== 'constant' && (total == null || !(total > warmupSteps))) {
    throw new RangeError(`'${decay}' learning-rate decay needs totalSteps > warmupSteps, got ${String(total)}`);
  }
  if (warmupSteps > 0 && step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  if (decay === 'constant' || total == null) return lr;
  const progress = Math.min(1, (step - warmupSteps) / (total - warmupSteps));
  if (decay === 'cosine') return minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
  return lr * (1 - progress);
}
