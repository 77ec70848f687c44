import { z } from 'zod';
import { activationBitsSchema, calibrationSchema, commonFields, keepFpSchema, weightBitsSchema } from '../common/config';

/**
 * Config of `ptq-naive`, the "Linear Quant" baseline of the PTQ papers (ptq spec §2). Strict: unknown keys are
 * errors; every field has a default.
 */
export const ptqNaiveConfig = z.strictObject({
  weightBits: weightBitsSchema.default(8).describe('weight bits (per output channel, asymmetric, min-max, round-to-nearest)'),
  activationBits: activationBitsSchema.default(8).describe('activation bits (per tensor, min-max); 32 keeps activations FP'),
  ...commonFields,
  keepFp: keepFpSchema.default('none').describe("layers kept FP: 'none' (everything quantized), 'tfmq', 'tfmq-reference', or {layers, activations} globs"),
  calibration: calibrationSchema({ strategy: 'single', steps: 1, perStep: 32 }).describe('activation ranges come from one batch at one timestep (default: the middle step of the sampler)'),
});

/** The parsed config of `ptq-naive`. */
export type PtqNaiveConfig = z.output<typeof ptqNaiveConfig>;
