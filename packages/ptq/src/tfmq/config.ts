import { z } from 'zod';
import {
  CalibrationSetting, DiagnosticsSetting, KeepFpSetting, WeightReconSetting, activationBitsSchema, calibrationSchema, diagnosticsSchema, keepFpSchema, softmaxBitsSchema,
  weightBitsSchema, weightReconSchema,
} from '../common/config';
import { FscScope } from '../quant/quantize-unet';

/** TFMQ-DM's activation calibration: EMA min-max, no step-size learning. */
export interface TfmqActivationSetting {
  /** EMA momentum of the min-max ranges (default 0.95). */
  momentum: number;
}

/** The parsed config of `tfmq` (defaults filled in). */
export interface TfmqConfig {
  /** Weight bits, 2…8 (default 4). */
  weightBits: number;
  /** Activation bits, 4…16 or 32 = FP (default 8). */
  activationBits: number;
  /** Bits of the attention softmax output (default: `activationBits`). */
  softmaxBits?: number;
  /** Report tables. */
  diagnostics: DiagnosticsSetting;
  /** Temporal information aware reconstruction (default true); false reconstructs the temporal layers inside their blocks. */
  tiar: boolean;
  /** Finite set calibration: one activation (Δ, z) per sampler step (default true). */
  fsc: boolean;
  /** Which activation quantizers get per-step parameters (default `all`, as the reference code). */
  fscScope: FscScope;
  /** Split shortcut quantization (default true, like Q-Diffusion). */
  split: boolean;
  /** Layers kept FP (default `tfmq`). */
  keepFp: KeepFpSetting;
  /** Calibration rows (default all 20 steps × 16; FSC needs every step). */
  calibration: CalibrationSetting;
  /** Weight reconstruction (TIAR uses the same settings). */
  weights: WeightReconSetting;
  /** Activation calibration. */
  activations: TfmqActivationSetting;
  /** Most MiB of cached unit inputs; above it inputs are recomputed per mini-batch (default 1024). */
  cacheLimitMiB: number;
}

/**
 * Config of `tfmq` (TFMQ-DM, Huang et al., CVPR 2024; ptq spec §4). Strict: unknown keys are errors; every field has
 * a default. `tiar: false, fsc: false` is the BRECQ baseline of the paper's ablation.
 */
export const tfmqConfig: z.ZodType<TfmqConfig> = z.strictObject({
  weightBits: weightBitsSchema.default(4).describe('weight bits (per output channel, asymmetric)'),
  activationBits: activationBitsSchema.default(8).describe('activation bits (per tensor); 32 keeps activations FP'),
  softmaxBits: softmaxBitsSchema,
  diagnostics: diagnosticsSchema,
  tiar: z.boolean().default(true).describe('temporal information aware reconstruction of the time MLP and the block projections, before the other units'),
  fsc: z.boolean().default(true).describe('finite set calibration: one activation (Δ, z) per sampler step, EMA min-max'),
  fscScope: z.enum(['temporal', 'all']).default('all').describe("per-step parameters for the temporal features only (the paper's description) or every activation quantizer (the reference code)"),
  split: z.boolean().default(true).describe('split shortcut quantization (on by default, for a like-for-like comparison with Q-Diffusion)'),
  keepFp: keepFpSchema.default('tfmq').describe("layers kept FP: 'tfmq' (the paper's FP set), 'tfmq-reference' (also shortcuts and down-sampling convs, as the reference code), 'none', or globs"),
  calibration: calibrationSchema({ strategy: 'all', steps: 20, perStep: 16 }).describe('calibration rows; FSC needs rows at every step (strategy all)'),
  weights: weightReconSchema.describe('BRECQ + AdaRound weight reconstruction (TIAR uses the same settings)'),
  activations: z
    .strictObject({
      momentum: z.number().min(0).lt(1).default(0.95).describe('EMA momentum of the min-max activation ranges'),
    })
    .prefault({})
    .describe('activation calibration (EMA min-max; TFMQ-DM learns no activation step sizes)'),
  cacheLimitMiB: z.number().int().min(1).default(1024).describe('most MiB of cached unit inputs; above it inputs are recomputed per mini-batch'),
});
