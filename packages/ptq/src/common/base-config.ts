import { z } from 'zod';
import { PtqBaseDefaults, activationBitsSchema, calibrationSchema, diagnosticsSchema, keepFpSchema, softmaxBitsSchema, weightBitsSchema, weightReconSchema } from './config';

// Kept out of the package index: the schemas' inferred shapes are internal; the public contract is the interfaces.

/**
 * The strict schema of `PtqConfigBase` with a method's defaults; each method extends it with its own fields.
 *
 * @example
 * ```ts
 * const schema = ptqConfigBase({ weightBits: 8, keepFp: 'none', calibration: { strategy: 'single', steps: 1, perStep: 32 }, calibrationUse: 'activation ranges' });
 * ```
 */
export function ptqConfigBase(d: PtqBaseDefaults) {
  return z.strictObject({
    weightBits: weightBitsSchema.default(d.weightBits).describe('weight bits (per output channel, asymmetric)'),
    activationBits: activationBitsSchema.default(8).describe('activation bits (per tensor); 32 keeps activations FP (weight-only, "W4A32")'),
    softmaxBits: softmaxBitsSchema,
    diagnostics: diagnosticsSchema,
    keepFp: keepFpSchema
      .default(d.keepFp)
      .describe("layers kept FP: 'none' (everything quantized, as Q-Diffusion's code), 'tfmq' (TFMQ-DM's FP set), 'tfmq-reference' (also shortcuts and down-sampling convs, as TFMQ-DM's code), or {layers, activations} globs"),
    calibration: calibrationSchema(d.calibration).describe(d.calibrationUse),
  });
}

/** The strict schema of `ReconConfigBase`: `ptqConfigBase` plus split shortcuts, weight reconstruction and the cache bound. */
export function reconConfigBase(d: PtqBaseDefaults) {
  return ptqConfigBase(d).extend({
    split: z.boolean().default(true).describe("split shortcut quantization of the decoder blocks' concatenated inputs"),
    weights: weightReconSchema.describe("BRECQ + AdaRound weight reconstruction (TFMQ-DM's TIAR uses the same settings)"),
    cacheLimitMiB: z.number().int().min(1).default(1024).describe('most MiB of cached unit inputs; above it inputs are recomputed per mini-batch'),
    heldOutRows: z
      .number()
      .int()
      .min(0)
      .max(1024)
      .default(32)
      .describe('calibration rows held out of every reconstruction (at most a quarter of the set; spread over its steps, seeded): each unit\'s hard-rounded loss is measured on them before and after'),
  });
}
