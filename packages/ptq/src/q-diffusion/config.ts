import { z } from 'zod';
import {
  CalibrationSetting, DiagnosticsSetting, KeepFpSetting, WeightReconSetting, activationBitsSchema, calibrationSchema, diagnosticsSchema, keepFpSchema, softmaxBitsSchema,
  weightBitsSchema, weightReconSchema,
} from '../common/config';

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

/** The parsed config of `q-diffusion` (defaults filled in). */
export interface QDiffusionConfig {
  /** Weight bits, 2…8 (default 4). */
  weightBits: number;
  /** Activation bits, 4…16 or 32 = FP (default 8). */
  activationBits: number;
  /** Bits of the attention softmax output (default: `activationBits`). */
  softmaxBits?: number;
  /** Report tables. */
  diagnostics: DiagnosticsSetting;
  /** Split shortcut quantization of the decoder blocks (default true). */
  split: boolean;
  /** Layers kept FP (default `none`, as the reference code). */
  keepFp: KeepFpSetting;
  /** Time step-aware calibration (default uniform, 20 steps × 32). */
  calibration: CalibrationSetting;
  /** Weight reconstruction. */
  weights: WeightReconSetting;
  /** Activation calibration. */
  activations: QDiffusionActivationSetting;
  /** Most MiB of cached unit inputs; above it inputs are recomputed per mini-batch (default 1024). */
  cacheLimitMiB: number;
}

/**
 * Config of `q-diffusion` (Li et al., ICCV 2023; ptq spec §3). Strict: unknown keys are errors; every field has a
 * default (the paper's W4A8 setting with scaled-down iteration counts).
 */
export const qDiffusionConfig: z.ZodType<QDiffusionConfig> = z.strictObject({
  weightBits: weightBitsSchema.default(4).describe('weight bits (per output channel, asymmetric)'),
  activationBits: activationBitsSchema.default(8).describe('activation bits (per tensor); 32 keeps activations FP (weight-only, "W4A32")'),
  softmaxBits: softmaxBitsSchema,
  diagnostics: diagnosticsSchema,
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
