import { z } from 'zod';
import {
  CalibrationSetting, DiagnosticsSetting, KeepFpSetting, activationBitsSchema, calibrationSchema, diagnosticsSchema, keepFpSchema, softmaxBitsSchema, weightBitsSchema,
} from '../common/config';

/** The parsed config of `ptq-naive` (defaults filled in). */
export interface PtqNaiveConfig {
  /** Weight bits, 2…8 (per output channel, asymmetric, min-max, round-to-nearest; default 8). */
  weightBits: number;
  /** Activation bits, 4…16 or 32 = FP (per tensor, min-max; default 8). */
  activationBits: number;
  /** Bits of the attention softmax output (default: `activationBits`). */
  softmaxBits?: number;
  /** Report tables. */
  diagnostics: DiagnosticsSetting;
  /** Layers kept FP (default `none`). */
  keepFp: KeepFpSetting;
  /** The one batch at one timestep the activation ranges come from (default: 32 rows at the middle step). */
  calibration: CalibrationSetting;
}

/**
 * Config of `ptq-naive`, the "Linear Quant" baseline of the PTQ papers (ptq spec §2). Strict: unknown keys are
 * errors; every field has a default.
 */
export const ptqNaiveConfig: z.ZodType<PtqNaiveConfig> = z.strictObject({
  weightBits: weightBitsSchema.default(8).describe('weight bits (per output channel, asymmetric, min-max, round-to-nearest)'),
  activationBits: activationBitsSchema.default(8).describe('activation bits (per tensor, min-max); 32 keeps activations FP'),
  softmaxBits: softmaxBitsSchema,
  diagnostics: diagnosticsSchema,
  keepFp: keepFpSchema.default('none').describe("layers kept FP: 'none' (everything quantized), 'tfmq', 'tfmq-reference', or {layers, activations} globs"),
  calibration: calibrationSchema({ strategy: 'single', steps: 1, perStep: 32 }).describe('activation ranges come from one batch at one timestep (default: the middle step of the sampler)'),
});
