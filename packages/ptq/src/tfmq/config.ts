import { z } from 'zod';
import { reconConfigBase } from '../common/base-config';
import { ReconConfigBase } from '../common/config';
import { FscScope } from '../quant/quantize-unet';

/** TFMQ-DM's activation calibration: EMA min-max, no step-size learning. */
export interface TfmqActivationSetting {
  /** EMA momentum of the min-max ranges (default 0.95). */
  momentum: number;
  /**
   * Rows of each sampler step per EMA update (default 4): every calibration pass holds this many rows of every
   * step, so a step's range is a running average over ⌈rows per step / emaBatch⌉ updates (one update: plain min-max,
   * which the phase name then says), and a single range sees every step in every update.
   */
  emaBatch: number;
}

/**
 * The parsed config of `tfmq` (defaults filled in): the shared fields with defaults W4A8, TFMQ-DM's FP set
 * (`tfmq`), every step × 16 calibration rows (FSC needs every step), split shortcuts on (like Q-Diffusion, for a
 * like-for-like comparison); plus TFMQ-DM's switches.
 */
export interface TfmqConfig extends ReconConfigBase {
  /** Temporal information aware reconstruction (default true); false reconstructs the temporal layers inside their blocks. */
  tiar: boolean;
  /** Finite set calibration: one activation (Δ, z) per sampler step (default true). */
  fsc: boolean;
  /** Which activation quantizers get per-step parameters (default `all`, as the reference code). */
  fscScope: FscScope;
  /** Activation calibration. */
  activations: TfmqActivationSetting;
}

/**
 * Config of `tfmq` (TFMQ-DM, Huang et al., CVPR 2024; ptq spec §4). Strict: unknown keys are errors; every field has
 * a default. `tiar: false, fsc: false` is the BRECQ baseline of the paper's ablation.
 */
export const tfmqConfig: z.ZodType<TfmqConfig> = reconConfigBase({
  weightBits: 4,
  keepFp: 'tfmq',
  calibration: { strategy: 'all', steps: 20, perStep: 16 },
  calibrationUse: 'calibration rows; FSC needs rows at every step (strategy all)',
}).extend({
  tiar: z.boolean().default(true).describe('temporal information aware reconstruction of the time MLP and the block projections, before the other units'),
  fsc: z.boolean().default(true).describe('finite set calibration: one activation (Δ, z) per sampler step, EMA min-max'),
  fscScope: z.enum(['temporal', 'all']).default('all').describe("per-step parameters for the temporal features only (the paper's description) or every activation quantizer (the reference code)"),
  activations: z
    .strictObject({
      momentum: z.number().min(0).lt(1).default(0.95).describe('EMA momentum of the min-max activation ranges'),
      emaBatch: z
        .number()
        .int()
        .min(1)
        .max(1024)
        .default(4)
        .describe('rows of each sampler step per EMA update: every pass holds this many rows of every step, so a step gets ceil(perStep / emaBatch) updates (1 update = plain min-max)'),
    })
    .prefault({})
    .describe('activation calibration (EMA min-max; TFMQ-DM learns no activation step sizes)'),
});
