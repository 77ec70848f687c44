import { z } from 'zod';
import { activationBitsSchema, calibrationSchema, commonFields, keepFpSchema, weightBitsSchema, weightReconSchema } from '../common/config';

/**
 * Config of `tfmq` (TFMQ-DM, Huang et al., CVPR 2024; ptq spec §4). Strict: unknown keys are errors; every field has
 * a default. `tiar: false, fsc: false` is the BRECQ baseline of the paper's ablation.
 */
export const tfmqConfig = z.strictObject({
  weightBits: weightBitsSchema.default(4).describe('weight bits (per output channel, asymmetric)'),
  activationBits: activationBitsSchema.default(8).describe('activation bits (per tensor); 32 keeps activations FP'),
  ...commonFields,
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

/** The parsed config of `tfmq`. */
export type TfmqConfig = z.output<typeof tfmqConfig>;
