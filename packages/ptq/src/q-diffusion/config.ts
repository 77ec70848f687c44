import { z } from 'zod';
import { reconConfigBase } from '../common/base-config';
import { ReconConfigBase } from '../common/config';

/** Q-Diffusion's activation calibration (ptq spec §3.4). */
export interface QDiffusionActivationSetting {
  /** Range init of the activation quantizers (default `mse`). */
  init: 'minmax' | 'mse' | 'ema';
  /** Calibration rows (mixed steps) of the min-max / MSE init pass (EMA passes the whole set). */
  initRows: number;
  /** Learn the activation step sizes per unit against FP outputs (default true). */
  learn: boolean;
  /** Step-size learning steps per unit. */
  iters: number;
  /** Calibration rows per step. */
  batchSize: number;
  /** Adam learning rate (cosine decay to 0; default 4e-4). */
  lr: number;
  /** Exponent of the reconstruction loss (default 2.4). */
  p: number;
}

/**
 * The parsed config of `q-diffusion` (defaults filled in): the shared fields with defaults W4A8, nothing kept FP
 * (`none`, as the reference code), time step-aware calibration (`uniform` with k = 10: every ⌈T/10⌉-th step — every
 * 2nd of DDIM-20, every 10th of DDIM-100 — × 32 trajectories; the paper takes every 5th step of DDIM-100); plus the
 * activation calibration.
 */
export interface QDiffusionConfig extends ReconConfigBase {
  /** Activation calibration. */
  activations: QDiffusionActivationSetting;
}

/**
 * Config of `q-diffusion` (Li et al., ICCV 2023; ptq spec §3). Strict: unknown keys are errors; every field has a
 * default (the paper's W4A8 setting with scaled-down iteration counts).
 */
export const qDiffusionConfig: z.ZodType<QDiffusionConfig> = reconConfigBase({
  weightBits: 4,
  keepFp: 'none',
  calibration: { strategy: 'uniform', steps: 10, perStep: 32 },
  calibrationUse: 'time step-aware calibration: every c-th step of the trajectory, c = ceil(T/steps) (paper: every 5th of DDIM-100, 20 steps × 256 samples); default every 2nd step of DDIM-20',
}).extend({
  activations: z
    .strictObject({
      init: z
        .enum(['minmax', 'mse', 'ema'])
        .default('mse')
        .describe('range init of the activation quantizers: min-max or MSE search on one batch of initRows rows; ema over the whole set, in passes of floor(32 / steps) rows of every step'),
      initRows: z.number().int().min(1).max(1024).default(64).describe('calibration rows (mixed steps) of the init pass'),
      learn: z.boolean().default(true).describe('learn the activation step sizes per unit against FP outputs'),
      iters: z.number().int().min(0).max(100_000).default(500).describe('step-size learning steps per unit'),
      batchSize: z.number().int().min(1).max(256).default(32).describe('calibration rows per step'),
      lr: z.number().positive().default(4e-4).describe('Adam learning rate (cosine decay to 0)'),
      p: z.number().positive().default(2.4).describe('exponent of the reconstruction loss'),
    })
    .prefault({})
    .describe('activation calibration'),
});
