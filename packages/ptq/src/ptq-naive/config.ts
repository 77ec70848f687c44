import { z } from 'zod';
import { ptqConfigBase } from '../common/base-config';
import { PtqConfigBase } from '../common/config';

/**
 * The parsed config of `ptq-naive` (defaults filled in): the shared fields only — weights per output channel,
 * min-max, round-to-nearest (default 8 bits); activations per tensor, min-max (default 8 bits); nothing kept FP
 * (`none`); activation ranges from one batch at one timestep (default: 32 rows at the middle step).
 */
export type PtqNaiveConfig = PtqConfigBase;

/**
 * Config of `ptq-naive`, the "Linear Quant" baseline of the PTQ papers (ptq spec §2). Strict: unknown keys are
 * errors; every field has a default.
 */
export const ptqNaiveConfig: z.ZodType<PtqNaiveConfig> = ptqConfigBase({
  weightBits: 8,
  keepFp: 'none',
  calibration: { strategy: 'single', steps: 1, perStep: 32 },
  calibrationUse: 'activation ranges come from one batch at one timestep (default: the middle step of the sampler)',
});
