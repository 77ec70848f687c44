import { z } from 'zod';
import { SamplerConfig } from '@diffpress/diffusion';
import { METRICS } from '@diffpress/eval';

/** Sampler section: which sampler, how many model calls, and its options (`@diffpress/diffusion` `SamplerConfig`). */
const samplerSchema = z.strictObject({
  kind: z.enum(['ddim', 'ddpm']).default('ddim').describe('sampler: ddim (deterministic at eta 0) or ddpm (ancestral)'),
  steps: z.number().int().min(1).max(100_000).describe('model calls per sample'),
  eta: z.number().min(0).max(1).optional().describe('DDIM stochasticity (0 = deterministic)'),
  spacing: z.enum(['uniform', 'quadratic']).optional().describe('time-step spacing'),
  clipDenoised: z.boolean().optional().describe('clip x̂ to [-1, 1] at every step (default true)'),
  ddpmVariance: z.enum(['small', 'large']).optional().describe('DDPM noise variance (default small)'),
  batchSize: z.number().int().min(1).max(1024).default(64).describe('samples per model call (memory, not results)'),
});

/** Training-stage section: train a base model like a shipped one, with overrides. */
const trainSchema = z.strictObject({
  like: z.string().describe('shipped model id whose training spec is the starting point (e.g. unet-mnist-s-eps)'),
  steps: z.number().int().min(1).max(10_000_000).optional().describe('number of updates'),
  batchSize: z.number().int().min(1).max(1024).optional().describe('batch size'),
  lr: z.number().positive().max(1).optional().describe('peak learning rate'),
  seed: z.number().int().min(0).optional().describe('training seed'),
  checkpointEvery: z.number().int().min(1).default(100).describe('updates between checkpoints (resume points)'),
});

/** Base-model section: a shipped model id, a checkpoint file, or a training stage (exactly one). */
const modelSchema = z.preprocess(
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
const stepSchema = z.strictObject({
  method: z.string().min(1).describe('registered method id (experiments list)'),
  config: z.record(z.string(), z.unknown()).default({}).describe("the method's config"),
});

/** Names of the metrics a recipe may ask for. */
export const METRIC_NAMES = Object.keys(METRICS) as [string, ...string[]];

const positionSchema = z.union([z.literal('baseline'), z.literal('final'), z.string().regex(/^after:\d+$/)]);

/** Evaluation section. */
const evalSchema = z.strictObject({
  samples: z.number().int().min(1).max(1_000_000).describe('samples per evaluated model (indices 0 … n − 1 of the seeded noise)'),
  metrics: z.array(z.enum(METRIC_NAMES)).min(1).describe('metric names (eval METRICS)'),
  positions: z.array(positionSchema).min(1).default(['baseline', 'final']).describe('baseline, after:<step index>, final'),
  featureNet: z.string().default('mnist-classifier-v1').describe('feature network id or model.json path'),
  floor: z.boolean().default(true).describe('add the floor row: the test split against the reference split'),
  latency: z.boolean().default(true).describe('measure ms per UNet call and per sample'),
  grid: z.number().int().min(0).max(64).default(8).describe('samples per row of the sample grids (0: none)'),
});

/** Data section. */
const dataSchema = z.strictObject({
  dataset: z.enum(['mnist']).default('mnist').describe('dataset'),
  reference: z.enum(['train']).default('train').describe('reference split of the feature metrics'),
});

/** One ablation axis: a recipe path and the values it takes. */
const axisSchema = z.strictObject({
  path: z.string().min(1).describe('dotted recipe path, e.g. sample.steps or pipeline[0].config.bits'),
  values: z.array(z.unknown()).min(1).describe('values of the axis'),
  name: z.string().optional().describe('column name in the report (default: the path)'),
  labels: z.array(z.string()).optional().describe('display names of the values in reports, one per value (e.g. for whole pipeline steps)'),
});

/** Ablation section. */
const ablationSchema = z.strictObject({
  mode: z.enum(['grid', 'zip']).default('grid').describe('grid: cartesian product of the axes; zip: i-th values together'),
  axes: z.array(axisSchema).min(1),
});

/** The whole recipe (architecture guide §7): strict (unknown keys are errors), defaults filled in on parsing. */
export const recipeSchema: z.ZodType<Recipe> = z.strictObject({
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


/** The sampler section. */
export interface RecipeSampler {
  /** `ddim` (deterministic at η = 0) or `ddpm` (ancestral). */
  kind: 'ddim' | 'ddpm';
  /** Model calls per sample. */
  steps: number;
  /** DDIM stochasticity η ∈ [0, 1]. */
  eta?: number;
  /** Time-step spacing. */
  spacing?: 'uniform' | 'quadratic';
  /** Clip x̂ to [−1, 1] at every step (default true). */
  clipDenoised?: boolean;
  /** DDPM noise variance (default `small`). */
  ddpmVariance?: 'small' | 'large';
  /** Samples per model call (memory only; default 64). */
  batchSize: number;
}

/** A training stage: train the base model like a shipped one, with overrides. */
export interface RecipeTrainStage {
  /** Shipped model id whose training spec is the starting point. */
  like: string;
  /** Number of updates. */
  steps?: number;
  /** Batch size. */
  batchSize?: number;
  /** Peak learning rate. */
  lr?: number;
  /** Training seed. */
  seed?: number;
  /** Updates between checkpoints (resume points; default 100). */
  checkpointEvery: number;
}

/** The base model: exactly one of a shipped id, a checkpoint file or a training stage. In YAML a bare string is an id. */
export interface RecipeModel {
  /** Shipped model id (`models/<id>/`). */
  id?: string;
  /** A `.safetensors` file saved with model metadata (relative to the recipe file). */
  checkpoint?: string;
  /** A training stage. */
  train?: RecipeTrainStage;
}

/** One pipeline step. */
export interface RecipeStep {
  /** Registered method id (`experiments list`). */
  method: string;
  /** The method's config (checked against its own schema). */
  config: Record<string, unknown>;
}

/** The evaluation section. */
export interface RecipeEval {
  /** Samples per evaluated model. */
  samples: number;
  /** Metric names (eval `METRICS`). */
  metrics: string[];
  /** Where to evaluate: `baseline`, `after:<step index>`, `final` (default baseline and final). */
  positions: string[];
  /** Feature network id or `model.json` path (default `mnist-classifier-v1`). */
  featureNet: string;
  /** Add the floor row (default true). */
  floor: boolean;
  /** Measure the UNet call latency (default true). */
  latency: boolean;
  /** Samples per row of the sample strips (0: none; default 8). */
  grid: number;
}

/** The data section. */
export interface RecipeData {
  /** Dataset. */
  dataset: 'mnist';
  /** Reference split of the feature metrics. */
  reference: 'train';
}

/** One ablation axis. */
export interface RecipeAxis {
  /** Dotted recipe path (`sample.steps`, `pipeline[0].config.bits`). */
  path: string;
  /** Its values. */
  values: unknown[];
  /** Column name (default: the path). */
  name?: string;
  /** Display names of the values in reports (one per value). */
  labels?: string[];
}

/** The ablation section. */
export interface RecipeAblation {
  /** `grid`: cartesian product; `zip`: the i-th values together. */
  mode: 'grid' | 'zip';
  /** The axes. */
  axes: RecipeAxis[];
}

/** The output section. */
export interface RecipeOutput {
  /** Run folder (default `runs/<name>`). */
  dir?: string;
}

/** A recipe after parsing: defaults filled in, pipeline configs not yet checked against their methods. */
export interface Recipe {
  /** Name (run folder). */
  name: string;
  /** Free text for the report. */
  description?: string;
  /** Experiment seeds (default [0]). */
  seeds: number[];
  /** Data. */
  data: RecipeData;
  /** Base model. */
  model: RecipeModel;
  /** Compression steps in order (absent: the base model alone). */
  pipeline?: RecipeStep[];
  /** Sampler. */
  sample: RecipeSampler;
  /** Evaluation. */
  eval: RecipeEval;
  /** Ablation axes. */
  ablation?: RecipeAblation;
  /** Output. */
  output?: RecipeOutput;
}

/** The sampler settings of a recipe's sampler section: without the batch size, which changes memory, not results. */
export function samplerSettings(sample: RecipeSampler): SamplerConfig {
  const out: Partial<RecipeSampler> = { ...sample };
  delete out.batchSize;
  return out as SamplerConfig;
}
