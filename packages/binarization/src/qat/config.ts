import { z } from 'zod';
import { DEFAULT_KEEP_FP } from '../layers/binarize-unet';
import { DistillKind, FeatureDistillOptions } from './feature-distillation';
import { QatTrainConfig } from './qat';

/** The `train` block of every binarization method: QAT updates, AdamW and the monitor (see {@link QatTrainConfig}). */
export const qatTrainSchema: z.ZodType<QatTrainConfig> = z
  .strictObject({
    steps: z.number().int().min(1).max(1_000_000).default(2000).describe('QAT updates'),
    batchSize: z.number().int().min(1).max(512).default(32).describe('training samples per update'),
    lr: z
      .number()
      .positive()
      .default(5e-5)
      .describe('peak AdamW learning rate (spec: 1/10–1/100 of the FP training rate; the shipped MNIST models trained at 5e-4)'),
    weightDecay: z.number().min(0).default(0).describe("AdamW's decoupled weight decay (the FP models trained without)"),
    warmupSteps: z.number().int().min(0).default(0).describe('linear learning-rate warm-up updates'),
    decay: z
      .enum(['constant', 'cosine'])
      .default('constant')
      .describe("learning-rate decay after the warm-up ('constant' as the reference's LDM training; with cosine, EBB's second stage has little rate left to recover from the removal)"),
    clipGradNorm: z.number().positive().nullable().default(1).describe('clip the global gradient norm to this (null: off; the FP models trained with 1)'),
    monitorEvery: z.number().int().min(1).default(100).describe('updates between evaluations of the fixed monitor batch (the training curves)'),
    monitorSamples: z.number().int().min(1).max(4096).default(128).describe('training samples of the monitor batch (fixed t and ε)'),
  })
  .prefault({});

/** Feature distillation settings as recipes write them (see {@link FeatureDistillOptions}). */
export function distillSchema(defaults: { kind: DistillKind; lambda: number }): z.ZodType<FeatureDistillOptions> {
  return z
    .strictObject({
      kind: z
        .enum(['lrm', 'mse', 'none'])
        .default(defaults.kind)
        .describe("block-output distillation from the FP teacher: 'lrm' (low-rank PCA projections, BinaryDM), 'mse' (plain), 'none'"),
      lambda: z
        .number()
        .min(0)
        .default(defaults.lambda)
        .describe('weight λ of the feature term (BinaryDM: 1e-4 at LDM scale; recorded in the report)'),
      axis: z
        .enum(['channel', 'width'])
        .default('channel')
        .describe("LRM's projected axis: 'channel' (the paper) or 'width' (the reference code's NCHW last axis)"),
      factor: z.number().int().min(1).default(4).describe("LRM keeps ⌈d/factor⌉ principal components per block (paper K = 4)"),
    })
    .prefault({});
}

/** Layers kept FP: glob patterns over module paths. */
export const keepFpSchema = z
  .array(z.string().min(1))
  .default([...DEFAULT_KEEP_FP])
  .describe("glob patterns of conv/linear layers kept FP (default the papers' set: time MLP, stem, output head)");
