import type { ZodType } from 'zod';

/** The compression families the framework knows (architecture guide §6). */
export type MethodFamily = 'binarization' | 'ptq' | 'distillation' | 'encoder-propagation';

/** The method families, in the order the docs list them. */
export const METHOD_FAMILIES: readonly MethodFamily[] = ['binarization', 'ptq', 'distillation', 'encoder-propagation'];

/** A JSON value: what method state and configs are made of, so that they round-trip through `compression-state.json`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Weight and activation bit-widths of one layer (32 = floating point). */
export interface LayerBits {
  /** Bits per weight. */
  weightBits: number;
  /** Bits per input activation. */
  activationBits: number;
}

/** Per-layer bit-widths by module path (e.g. `down.0.res.1.conv1`); layers not listed are FP32. */
export type BitWidths = Record<string, LayerBits>;

/**
 * Ordering rules a method declares, checked when a recipe is validated (before any tensor is touched).
 * Ids refer to other methods' {@link CompressionMethod.id}.
 */
export interface MethodCompatibility {
  /** At least one of these must appear earlier in the pipeline (e.g. a sampler method after a step-distillation). */
  mustFollow?: string[];
  /** None of these may appear anywhere else in the same pipeline. */
  conflictsWith?: string[];
  /** A warning (not an error) when one of these appears earlier. */
  warnAfter?: string[];
}

/** One step of a model's compression history, as recorded in `compression-state.json`. */
export interface MethodRecord {
  /** Method id. */
  method: string;
  /** Version of the package that produced the step. */
  version: string;
  /** The resolved config (defaults filled in). */
  config: JsonValue;
  /** The method's state (see {@link StageResult.state}). */
  state: JsonValue;
}

/** The paper a method implements. */
export interface PaperRef {
  /** Title. */
  title: string;
  /** arXiv identifier, e.g. `2302.04304`. */
  arxiv?: string;
}

/**
 * The types a pipeline domain plugs into the contract (diffusion: `DiffusionDomain`): its model, the sampling hook a
 * step may contribute, its sampler settings, and the training data a step may read.
 */
export interface StageDomain {
  /** The model type that flows through the pipeline. */
  model: unknown;
  /** The sampling-time contribution of a step (chained with those of the other steps). */
  hook: unknown;
  /** Sampler settings (a step may return its own: a distilled student's sampler). */
  sampler: unknown;
  /** The training data a step may read. */
  data: unknown;
}

/**
 * Recipe inputs a step may read besides its parent model, config and seed. A step is keyed on exactly what it
 * reads, so that an ablation over an input it does not read reuses it: a distillation step that does not read the
 * sampler is not retrained for every sampler step count.
 */
export type StageInput = 'sampler' | 'data';

/** What {@link CompressionMethod.reads} defaults to: the sampler only (what every PTQ method calibrates for). */
export const DEFAULT_STAGE_INPUTS: readonly StageInput[] = ['sampler'];

/**
 * Makes `field` of a stage context a getter that throws `message`: how a runner withholds an input a step did not
 * declare in {@link CompressionMethod.reads}. The getter is not enumerable, so a method may still copy its context
 * with `{ ...ctx }` (the copy simply lacks the input); only reading it throws.
 *
 * @returns `context`, changed in place.
 */
export function withholdInput<T extends object>(context: T, field: keyof T & string, message: string): T {
  Object.defineProperty(context, field, {
    enumerable: false,
    configurable: true,
    get: () => {
      throw new Error(message);
    },
  });
  return context;
}

/** Resumable training state of a step, kept in its `workDir` (see {@link TrainingContext.checkpoints}). */
export interface StageCheckpoints {
  /** Folder of the checkpoints (inside the step's `workDir`); a killed step resumes from the newest. */
  dir: string;
  /** Updates between checkpoints the run asks for. */
  every: number;
}

/** What a training step (QAT, distillation) gets besides its parent model. */
export interface TrainingContext<D extends StageDomain> {
  /** The recipe's dataset (train split, seeded batches). Only for steps whose {@link CompressionMethod.reads} lists `data`. */
  data: D['data'];
  /**
   * The FP teacher: the pipeline's base model, whatever steps came before. Frozen: a step must not train or change
   * it (other steps and the evaluation share it).
   */
  teacher: D['model'];
  /** Reports training progress (updates done of total) on the run's progress lines. */
  progress(done: number, total: number): void;
  /** Where to checkpoint so that a killed step resumes (the trainer resumes from it and stops on NaN). */
  checkpoints: StageCheckpoints;
}

/** What a pipeline step sees. `D` names the model, hook, sampler and data types of the pipeline's domain. */
export interface StageContext<D extends StageDomain> extends TrainingContext<D> {
  /** The model entering this step (the base model, or the previous step's output). */
  model: D['model'];
  /** Sampling hooks of the earlier steps, in pipeline order (sample through them to see the model as it runs). */
  hooks: readonly D['hook'][];
  /** The steps applied so far, oldest first. */
  history: readonly MethodRecord[];
  /** The run's seed: methods draw all randomness from it (deterministic under a fixed seed). */
  seed: number;
  /**
   * The sampler at this position: the recipe's, or the student sampler an earlier step returned. Methods with
   * per-step state (TFMQ, encoder propagation) calibrate for exactly these steps. Only for steps whose
   * {@link CompressionMethod.reads} lists `sampler` (the default).
   */
  sampler: D['sampler'];
  /** A folder private to this step and its inputs that survives a killed run (calibration data, checkpoints). */
  workDir: string;
  /**
   * A content-addressed cache shared by every step and run of the same store (the artifact store's root): where
   * methods keep reusable intermediate products keyed by their inputs, such as PTQ calibration sets. Absent:
   * nothing is shared.
   */
  cacheDir?: string;
  /** Progress and notes for the run log. */
  log(line: string): void;
}

/**
 * What {@link CompressionMethod.warnings} sees of a step's place in its recipe: checked when the recipe is validated,
 * before anything runs.
 */
export interface StagePosition<D extends StageDomain> {
  /** The sampler the step's output is sampled with: the recipe's, or the student sampler of the last earlier step that returns one. */
  sampler: D['sampler'];
  /** Method ids of the earlier steps, in pipeline order. */
  before: readonly string[];
}

/** A table a method adds to the run report (per-step errors, measured ranges, timings, …). */
export interface DiagnosticTable {
  /** Stable identifier, `<method>.<name>` (e.g. `q-diffusion.eps-mse-per-step`); tables of equal id are merged over seeds. */
  id: string;
  /** Heading in the report. */
  title: string;
  /** One or two sentences: what was measured and how to read it. */
  description?: string;
  /** Column names. */
  columns: string[];
  /** Rows; numbers are averaged over seeds in the report (by row position), strings must agree. */
  rows: Array<Array<string | number | null>>;
}

/** What a pipeline step produces. */
export interface StageResult<D extends StageDomain> {
  /** The transformed model (omit when the step only changes sampling). */
  model?: D['model'];
  /**
   * A sampling hook (how the network is called at each step): encoder propagation's feature reuse, per-step
   * quantizers' step checks. It is chained after the hooks of earlier steps.
   */
  hook?: D['hook'];
  /**
   * The sampler the output model must be sampled with (a distilled student's own steps); later positions evaluate
   * with it instead of the recipe's. Must equal {@link CompressionMethod.studentSampler} of the config.
   */
  sampler?: D['sampler'];
  /** Per-layer bit-widths of the output model, for efficiency accounting. */
  bitWidths?: BitWidths;
  /** Everything besides the weights that {@link CompressionMethod.restore} needs (quantizer parameters, …). */
  state?: JsonValue;
  /** Report tables of {@link CompressionMethod.apply} (restore need not return them: the runner stores them). */
  diagnostics?: DiagnosticTable[];
}

/**
 * A compression method as the recipes package runs it (architecture guide §6). A method package exports one object
 * per method and registers it with one line in its index.
 *
 * The runner saves a step's output model as weights plus `compression-state.json` (the ordered {@link MethodRecord}
 * history); loading calls {@link restore} on the parent model, then loads the saved weights into the result — so
 * `restore` must build the same module structure that {@link apply} built, without repeating the expensive work.
 *
 * @typeParam C - The config type (the output of {@link config}).
 * @typeParam D - The domain's model, hook, sampler and data types (diffusion: `DiffusionDomain`).
 * @example
 * ```ts
 * export const halfPrecision: CompressionMethod<{ bits: number }, DiffusionDomain> = {
 *   id: 'round-weights', family: 'ptq', version: '0.1.0', description: 'rounds weights to a grid',
 *   config: z.strictObject({ bits: z.number().int().min(2).max(16).default(8) }),
 *   apply: async (ctx, config) => ({ model: roundWeights(ctx.model, config.bits) }),
 *   restore: async (ctx) => ({ model: cloneStructure(ctx.model) }),
 * };
 * ```
 */
export interface CompressionMethod<C, D extends StageDomain> {
  /** Recipe id, kebab-case (`q-diffusion`). */
  id: string;
  /** Family. */
  family: MethodFamily;
  /** One line for `experiments list` and the docs. */
  description: string;
  /** Version of the implementation; part of every artifact key it produces, so changing it invalidates them. */
  version: string;
  /** The paper it implements. */
  paper?: PaperRef;
  /** Strict schema of the config (unknown keys rejected; defaults filled in). */
  config: ZodType<C>;
  /** Ordering rules within a pipeline. */
  compatibility?: MethodCompatibility;
  /** Recipe inputs the step reads and is keyed on (default {@link DEFAULT_STAGE_INPUTS}: the sampler). */
  reads?: readonly StageInput[];
  /**
   * The sampler the step's output must be sampled with, known from the config alone (a 4-step student), so that
   * a recipe whose sampler conflicts with it is rejected before anything runs. Omit for steps that keep the
   * recipe's sampler.
   */
  studentSampler?(config: C): D['sampler'];
  /**
   * Warnings about a valid config at its position (printed by validation; they do not stop the run): settings that
   * run but make little sense there, such as caching features over a 4-step student sampler.
   */
  warnings?(config: C, at: StagePosition<D>): string[];
  /** Runs the method. */
  apply(ctx: StageContext<D>, config: C): Promise<StageResult<D>>;
  /**
   * Rebuilds the result of {@link apply} from its saved state: the same module structure and hook, with weights
   * still to be loaded by the caller.
   */
  restore(ctx: StageContext<D>, config: C, state: JsonValue): Promise<StageResult<D>>;
}

/** Format version of `compression-state.json`; readers refuse newer ones. */
export const COMPRESSION_STATE_FORMAT = 1;

/** The `compression-state.json` sidecar saved beside a compressed model's weights. */
export interface CompressionState {
  /** {@link COMPRESSION_STATE_FORMAT} at writing time. */
  format: number;
  /** The base model (shipped id or artifact key). */
  base: string;
  /** The applied steps, oldest first. */
  history: MethodRecord[];
  /** Per-layer bit-widths after the last step. */
  bitWidths: BitWidths;
}

/**
 * Checks a parsed `compression-state.json`.
 *
 * @throws Error when the format is newer than this code knows, or the content is malformed.
 */
export function checkCompressionState(value: unknown, source: string): CompressionState {
  const v = value as Partial<CompressionState> | null;
  if (!v || typeof v !== 'object' || typeof v.format !== 'number') throw new Error(`${source}: not a compression-state file (no numeric 'format')`);
  if (v.format > COMPRESSION_STATE_FORMAT) {
    throw new Error(`${source}: compression-state format ${v.format} is newer than this version of diffpress understands (${COMPRESSION_STATE_FORMAT}); update diffpress`);
  }
  if (typeof v.base !== 'string' || !Array.isArray(v.history) || !v.bitWidths || typeof v.bitWidths !== 'object') {
    throw new Error(`${source}: compression-state needs 'base' (string), 'history' (array) and 'bitWidths' (object)`);
  }
  return v as CompressionState;
}
