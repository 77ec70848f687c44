import { z } from 'zod';
import { FeatureDistillOptions } from '../qat/feature-distillation';
import { QatTrainConfig } from '../qat/qat';
import { distillSchema, keepFpSchema, qatTrainSchema } from '../qat/config';

/**
 * BinaryDM's weight binarizer: `vanilla` (learnable α₁·sign(W) everywhere), `lmb` (the learnable multi-basis
 * binarizer in the multi-basis scope, both bases for the whole run: the reference code) or `ebb` (the ICLR
 * version: α₂ regularised by τ, the second basis removed half-way).
 */
export type BinarydmBasis = 'vanilla' | 'lmb' | 'ebb';

/** Where the multi-basis binarizer is used: layers in these UNet levels, or in blocks matching these globs. */
export interface MultiBasisScope {
  /** Resolution levels (0 = highest resolution), encoder and decoder alike. */
  levels: number[];
  /** Module-path globs of further blocks (e.g. `up.1.res.*`). */
  blocks: string[];
}

/** EBB's settings (the ICLR version's evolvable-basis binarizer). */
export interface EbbSettings {
  /** Weight τ of the regulariser `τ·mean_layers(mean_channels(α₂))`. */
  tau: number;
  /** Share of the updates after which the second basis is removed. */
  removeAt: number;
}

/** The parsed config of `binarydm`. */
export interface BinarydmConfig {
  /** See {@link BinarydmBasis}. */
  basis: BinarydmBasis;
  /** See {@link MultiBasisScope}. */
  multiBasis: MultiBasisScope;
  /** Input-activation bits of the binarized layers (32: W1A32). */
  activationBits: number;
  /** Also quantize attention's q, k, softmax and v at the activation bits (when below 32). */
  quantizeAttention: boolean;
  /** Re-initialise the LSQ steps at every forward, as the reference code does by mistake. */
  dynamicActivationInit: boolean;
  /** Progressive initialisation: binarize one resolution group per `progressiveEvery` updates, middle first (default: on for `lmb` only). */
  progressive?: boolean;
  /** Updates between two groups of the progressive initialisation. */
  progressiveEvery: number;
  /** EBB's α₂ regulariser weight τ and the share of training after which the second basis is removed. */
  ebb: EbbSettings;
  /** Block-output distillation (LRM by default). */
  distill: FeatureDistillOptions;
  /** Layers kept FP (module-path globs). */
  keepFp: string[];
  /** QAT settings. */
  train: QatTrainConfig;
  /**
   * A shipped trained student (an id under `models/` or a folder) to use instead of training: its recorded config
   * defines the structure, and the other fields of this config are ignored.
   */
  pretrained?: string;
}

/** Activation bits: 2…8, or 32 for FP activations. */
const bitsSchema = z.union([z.number().int().min(2).max(8), z.literal(32)]);

/** Config of `binarydm`: strict (unknown keys are errors); every field has a default and a description. */
export const binarydmConfig: z.ZodType<BinarydmConfig> = z.strictObject({
  basis: z
    .enum(['vanilla', 'lmb', 'ebb'])
    .default('lmb')
    .describe("weight binarizer: 'vanilla' (learnable α₁·sign W), 'lmb' (multi-basis for the whole run, reference code), 'ebb' (ICLR: τ-regularised α₂, second basis removed at removeAt)"),
  multiBasis: z
    .strictObject({
      levels: z.array(z.number().int().min(0)).default([0, 1]).describe('UNet levels (0 = highest resolution) whose blocks use two bases, encoder and decoder (paper: the first and last blocks)'),
      blocks: z.array(z.string().min(1)).default([]).describe('further module-path globs using two bases'),
    })
    .prefault({}),
  activationBits: bitsSchema.default(32).describe('LSQ input-activation bits of the binarized layers; 32 keeps activations FP (W1A32)'),
  quantizeAttention: z.boolean().default(true).describe("also quantize attention's q, k, softmax and v (LSQ at the activation bits) when activations are quantized"),
  dynamicActivationInit: z.boolean().default(false).describe("re-initialise every LSQ step from each batch (the reference code's behaviour) instead of once"),
  progressive: z.boolean().optional().describe('progressive initialisation, middle block first then outward one level at a time (default: on for lmb, off otherwise)'),
  progressiveEvery: z.number().int().min(1).default(1).describe('updates between two groups of the progressive initialisation (reference: 1)'),
  ebb: z
    .strictObject({
      tau: z.number().min(0).default(0.09).describe("EBB's regulariser weight τ on mean α₂"),
      removeAt: z.number().gt(0).lt(1).default(0.5).describe('share of the updates after which EBB removes the second basis'),
    })
    .prefault({}),
  distill: distillSchema({ kind: 'lrm', lambda: 1e-4 }),
  keepFp: keepFpSchema,
  train: qatTrainSchema,
  pretrained: z
    .string()
    .min(1)
    .optional()
    .describe('a shipped trained student (id under models/, or a folder) used instead of training; its recorded config replaces the other fields'),
});
