import { z } from 'zod';
import { SamplerConfig } from '@diffpress/diffusion';
import { METRICS } from '@diffpress/eval';

/** Sampler section: which sampler, how many model calls, and its options (`@diffpress/diffusion` `SamplerConfig`). */
export const samplerSchema = z.strictObject({
  kind: z.enum(['ddim', 'ddpm']).default('ddim').describe('sampler: ddim (deterministic at eta 0) or ddpm (ancestral)'),
  steps: z.number().int().min(1).max(100_000).describe('model calls per sample'),
  eta: z.number().min(0).max(1).optional().describe('DDIM stochasticity (0 = deterministic)'),
  spacing: z.enum(['uniform', 'quadratic']).optional().describe('time-step spacing'),
  clipDenoised: z.boolean().optional().describe('clip x̂ to [-1, 1] at every step (default true)'),
  ddpmVariance: z.enum(['small', 'large']).optional().describe('DDPM noise variance (default small)'),
  batchSize: z.number().int().min(1).max(1024).default(64).describe('samples per model call (memory, not results)'),
});

/** Training-stage section: train a base model like a shipped one, with overrides. */
export const trainSchema = z.strictObject({
  like: z.string().describe('shipped model id whose training spec is the starting point (e.g. unet-mnist-s-eps)'),
  steps: z.number().int().min(1).max(10_000_000).optional().describe('number of updates'),
  batchSize: z.number().int().min(1).max(1024).optional().describe('batch size'),
  lr: z.number().positive().max(1).optional().describe('peak learning rate'),
  seed: z.number().int().min(0).optional().describe('training seed'),
  checkpointEvery: z.number().int().min(1).default(100).describe('updates between checkpoints (resume points)'),
});

/** Base-model section: a shipped model id, a checkpoint file, or a training stage (exactly one). */
export const modelSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { id: v } : v),
  z
    .strictObject({
      id: z.string().min(1).optional().describe('shipped model id (models/<id>/)'),
      checkpoint: z.string().min(1).optional().describe('path of a .safetensors file saved with model metadata'),
      train: trainSchema.optional(),
    })
    .refine((m) => [m.id, m.checkpoint, m.train].filter((x) => x !== undefined).length === 1, {
      message: 'give exactly one of id, checkpoint or train',
    }),
);

/** One pipeline step: a registered method and its config (checked against the method's own schema). */
export const stepSchema = z.strictObject({
  method: z.string().min(1).describe('registered method id (experiments list)'),
  config: z.record(z.string(), z.unknown()).default({}).describe("the method's config"),
});

/** Names of the metrics a recipe may ask for. */
export const METRIC_NAMES = Object.keys(METRICS) as [string, ...string[]];

const positionSchema = z.union([z.literal('baseline'), z.literal('final'), z.string().regex(/^after:\d+$/)]);

/** Evaluation section. */
export const evalSchema = z.strictObject({
  samples: z.number().int().min(1).max(1_000_000).describe('samples per evaluated model (indices 0 … n − 1 of the seeded noise)'),
  metrics: z.array(z.enum(METRIC_NAMES)).min(1).describe('metric names (eval METRICS)'),
  positions: z.array(positionSchema).min(1).default(['baseline', 'final']).describe('baseline, after:<step index>, final'),
  featureNet: z.string().default('mnist-classifier-v1').describe('feature network id or model.json path'),
  floor: z.boolean().default(true).describe('add the floor row: the test split against the reference split'),
  latency: z.boolean().default(true).describe('measure ms per UNet call and per sample'),
  grid: z.number().int().min(0).max(64).default(8).describe('samples per row of the sample grids (0: none)'),
});

/** Data section. */
export const dataSchema = z.strictObject({
  dataset: z.enum(['mnist']).default('mnist').describe('dataset'),
  reference: z.enum(['train']).default('train').describe('reference split of the feature metrics'),
});

/** One ablation axis: a recipe path and the values it takes. */
export const axisSchema = z.strictObject({
  path: z.string().min(1).describe('dotted recipe path, e.g. sample.steps or pipeline[0].config.bits'),
  values: z.array(z.unknown()).min(1).describe('values of the axis'),
  name: z.string().optional().describe('column name in the report (default: the path)'),
});

/** Ablation section. */
export const ablationSchema = z.strictObject({
  mode: z.enum(['grid', 'zip']).default('grid').describe('grid: cartesian product of the axes; zip: i-th values together'),
  axes: z.array(axisSchema).min(1),
});

/** The whole recipe (architecture guide §7). */
export const recipeSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" or "-"').describe('recipe name (output folder)'),
  description: z.string().optional(),
  seeds: z.array(z.number().int().min(0)).min(1).default([0]).describe('experiment seeds (repeats report mean ± std)'),
  data: dataSchema.default({ dataset: 'mnist', reference: 'train' }),
  model: modelSchema,
  pipeline: z.array(stepSchema).min(1).optional().describe('compression steps in order (omit to evaluate the base model alone)'),
  sample: samplerSchema,
  eval: evalSchema,
  ablation: ablationSchema.optional(),
  output: z.strictObject({ dir: z.string().optional().describe('run folder (default runs/<name>)') }).optional(),
});

/** A recipe after parsing: defaults filled in, pipeline configs not yet checked against their methods. */
export type Recipe = z.output<typeof recipeSchema>;

/** One pipeline step of a parsed recipe. */
export type RecipeStep = z.output<typeof stepSchema>;

/** The sampler section of a parsed recipe. */
export type RecipeSampler = z.output<typeof samplerSchema>;

/** The sampler settings of a recipe's sampler section: without the batch size, which changes memory, not results. */
export function samplerSettings(sample: RecipeSampler): SamplerConfig {
  const out: Partial<RecipeSampler> = { ...sample };
  delete out.batchSize;
  return out as SamplerConfig;
}
