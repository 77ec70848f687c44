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

/** The sampler a pipeline runs with, as a step sees it (the fields of diffusion's `SamplerConfig`). */
export interface StageSampler {
  /** Sampler kind (`ddim`, `ddpm`). */
  kind: string;
  /** Model calls per sample. */
  steps: number;
  /** DDIM stochasticity η. */
  eta?: number;
  /** Time-step spacing (`uniform`, `quadratic`). */
  spacing?: string;
  /** Clip x̂ at every step. */
  clipDenoised?: boolean;
  /** DDPM noise variance (`small`, `large`). */
  ddpmVariance?: string;
}

/** The paper a method implements. */
export interface PaperRef {
  /** Title. */
  title: string;
  /** arXiv identifier, e.g. `2302.04304`. */
  arxiv?: string;
}

/** What a pipeline step sees. `M` is the model type and `P` the sampler-policy type of the pipeline's domain. */
export interface StageContext<M, P> {
  /** The model entering this step (the base model, or the previous step's output). */
  model: M;
  /** Sampler policy set by earlier steps, if any. */
  policy?: P;
  /** The steps applied so far, oldest first. */
  history: readonly MethodRecord[];
  /** The run's seed: methods draw all randomness from it (deterministic under a fixed seed). */
  seed: number;
  /** The recipe's sampler: methods with per-step state (TFMQ, encoder propagation) calibrate for exactly these steps. */
  sampler: StageSampler;
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
export interface StageResult<M, P> {
  /** The transformed model (omit when the step only changes sampling). */
  model?: M;
  /** A sampler policy (how the model is called at each step), e.g. encoder propagation's feature reuse. */
  policy?: P;
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
 * @typeParam M - The model type of the domain (diffusion: `PipelineModel`).
 * @typeParam P - The sampler-policy type of the domain (diffusion: `ModelCallPolicy`).
 * @example
 * ```ts
 * export const halfPrecision: CompressionMethod<{ bits: number }, PipelineModel, ModelCallPolicy> = {
 *   id: 'round-weights', family: 'ptq', version: '0.1.0', description: 'rounds weights to a grid',
 *   config: z.strictObject({ bits: z.number().int().min(2).max(16).default(8) }),
 *   apply: async (ctx, config) => ({ model: roundWeights(ctx.model, config.bits) }),
 *   restore: async (ctx) => ({ model: cloneStructure(ctx.model) }),
 * };
 * ```
 */
export interface CompressionMethod<C, M, P> {
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
  /** Runs the method. */
  apply(ctx: StageContext<M, P>, config: C): Promise<StageResult<M, P>>;
  /**
   * Rebuilds the result of {@link apply} from its saved state: the same module structure and policy, with weights
   * still to be loaded by the caller.
   */
  restore(ctx: StageContext<M, P>, config: C, state: JsonValue): Promise<StageResult<M, P>>;
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
