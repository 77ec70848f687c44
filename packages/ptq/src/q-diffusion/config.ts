import { z } from 'zod';
import { activationBitsSchema, calibrationSchema, commonFields, keepFpSchema, weightBitsSchema, weightReconSchema } from '../common/config';

/**
 * Config of `q-diffusion` (Li et al., ICCV 2023; ptq spec §3). Strict: unknown keys are errors; every field has a
 * default (the paper's W4A8 setting with our scaled-down iteration counts).
 */
export const qDiffusionConfig = z.strictObject({
  weightBits: weightBitsSchema.default(4).describe('weight bits (per output channel, asymmetric)'),
  activationBits: activationBitsSchema.default(8).describe('activation bits (per tensor); 32 keeps activations FP (weight-only, "W4A32")'),
  ...commonFields,
  split: z.boolean().default(true).describe('split shortcut quantization of the decoder blocks\' concatenated inputs'),
  keepFp: keepFpSchema.default('none').describe("layers kept FP: 'none' (the reference code quantizes everything), 'tfmq', 'tfmq-reference', or {layers, activations} globs"),
  calibration: calibrationSchema({ strategy: 'uniform', steps: 20, perStep: 32 }).describe('time step-aware calibration: uniform over the trajectory (paper: 20 steps × 256 samples)'),
  weights: weightReconSchema.describe('BRECQ + AdaRound weight reconstruction'),
  activations: z
    .strictObject({
      init: z.enum(['minmax', 'mse', 'ema']).default('mse').describe('range init of the activation quantizers'),
      initRows: z.number().int().min(1).max(1024).default(64).describe('calibration rows (mixed steps) of the init pass'),
      learn: z.boolean().default(true).describe('learn the activation step sizes per unit against FP outputs'),
      iters: z.number().int().min(0).max(100_000).default(500).describe('step-size learning steps per unit'),
      batchSize: z.number().int().min(1).max(256).default(32).describe('calibration rows per step'),
      lr: z.number().positive().default(4e-4).describe('Adam learning rate (cosine decay to 0)'),
      p: z.number().positive().default(2.4).describe('exponent of the reconstruction loss'),
    })
    .prefault({})
    .describe('activation calibration'),
  cacheLimitMiB: z.number().int().min(1).default(1024).describe('most MiB of cached unit inputs; above it inputs are recomputed per mini-batch'),
});

/** The parsed config of `q-diffusion`. */
export type QDiffusionConfig = z.output<typeof qDiffusionConfig>;
