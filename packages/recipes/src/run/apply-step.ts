import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  BitWidths, COMPRESSION_STATE_FORMAT, CompressionState, DEFAULT_STAGE_INPUTS, DiagnosticTable, JsonValue, MethodRecord, StageInput, checkCompressionState, readCheckpoint, saveCheckpoint, withholdInput, writeJsonAtomic,
} from '@diffpress/core';
import { ArrayDataset, DiffusionStageContext, PipelineModel, SamplerConfig, SamplingHook, samplerKey } from '@diffpress/diffusion';
import { canonicalSampler, jsonDigest } from '@diffpress/eval';
import { ResolvedStep } from '../recipe/resolved';
import { ArtifactStore } from '../store/store';
import { RunLog } from './progress';

/** What a pipeline step cost and reported, kept beside its artifact (`stage.json`). */
export interface StageRecord {
  /** Method id. */
  method: string;
  /** Wall-clock seconds of `apply` when the artifact was produced (machine and load dependent). */
  seconds: number;
  /** The method's report tables. */
  diagnostics: DiagnosticTable[];
  /** True when the step's artifact was reused from the store: `seconds` is then the cost recorded when it was computed. */
  reused?: boolean;
}

/** File of a step artifact holding its {@link StageRecord}. */
export const STAGE_RECORD = 'stage.json';

/** A model at some position of a pipeline, with everything needed to sample, account and key it. */
export interface StagedModel {
  /** The model. */
  model: PipelineModel;
  /** Sampling hooks contributed by the steps so far, in pipeline order (empty: plain sampling). */
  hooks: SamplingHook[];
  /** Identifies the hook chain in sample-cache keys (the methods and configs that contributed hooks, joined by `+`). */
  hooksKey?: string;
  /** A student sampler returned by a step so far (undefined: the recipe's sampler). */
  sampler?: SamplerConfig;
  /** Identity of the weights and structure: a file digest for a base model, an artifact key after a step. */
  key: string;
  /** The steps applied, oldest first. */
  history: MethodRecord[];
  /** Per-layer bit-widths (empty: all FP32). */
  bitWidths: BitWidths;
  /** Key of the base model the steps started from. */
  baseKey: string;
  /** Cost and diagnostics of each applied step, oldest first. */
  stages: StageRecord[];
}

/** The base model of a pipeline as a {@link StagedModel}: no steps, no hooks, the recipe's sampler. */
export function baseStage(model: PipelineModel, key: string): StagedModel {
  return { model, hooks: [], key, baseKey: key, history: [], bitWidths: {}, stages: [] };
}

/** The sampler a staged model is sampled with: a step's student sampler, else the recipe's. */
export function positionSampler(staged: StagedModel, recipeSampler: SamplerConfig): SamplerConfig {
  return staged.sampler ?? recipeSampler;
}

/** The recipe's training data as a step may read it: its identity for keys and a loader called only when read. */
export interface StageData {
  /** Identity of the data (dataset, split, files' digest): part of the key of a step that reads `data`. */
  key: string;
  /** The training split (called only when a step reads `data`; the run's loader loads it once and keeps it). */
  load(): ArrayDataset;
}

/** Everything {@link applyStep} needs besides the parent and the step. */
export interface StepEnvironment {
  /** The run's seed. */
  seed: number;
  /** The recipe's sampler (used unless an earlier step returned a student sampler). */
  sampler: SamplerConfig;
  /** The FP base model: the teacher of training steps. */
  teacher: PipelineModel;
  /** The recipe's training data. */
  data: StageData;
  /** Updates between a training step's checkpoints (default 100). */
  checkpointEvery?: number;
  /** The store. */
  store: ArtifactStore;
  /** Run log (lines and progress). */
  log: RunLog;
}

/** The recipe inputs a step reads (its method's `reads`, default the sampler). */
export function stepReads(step: ResolvedStep): readonly StageInput[] {
  return step.method.reads ?? DEFAULT_STAGE_INPUTS;
}

/**
 * The inputs that key the output of one pipeline step: the parent, the method, its version and config, the seed,
 * and only the recipe inputs the method reads (so that an ablation over an input it does not read reuses it). A
 * step that reads the sampler is keyed on the sampler at its position: the recipe's, or an earlier student's.
 */
export function stepKeyInputs(parentKey: string, step: ResolvedStep, seed: number, sampler: SamplerConfig, dataKey: string): unknown {
  const reads = stepReads(step);
  return {
    parent: parentKey, method: step.method.id, version: step.method.version, config: step.config, seed,
    ...(reads.includes('sampler') ? { sampler: canonicalSampler(sampler) } : {}),
    ...(reads.includes('data') ? { data: dataKey } : {}),
  };
}

function stageContext(parent: StagedModel, step: ResolvedStep, env: StepEnvironment, workDir: string, index: number): DiffusionStageContext {
  const reads = stepReads(step);
  const id = step.method.id;
  const task = `pipeline[${index}] ${id}`;
  const ctx: DiffusionStageContext = {
    model: parent.model,
    hooks: parent.hooks,
    history: parent.history,
    seed: env.seed,
    sampler: positionSampler(parent, env.sampler),
    // Loaded on first read only (and once per run, by the loader): most steps never touch the training data.
    get data(): ArrayDataset {
      return env.data.load();
    },
    teacher: env.teacher,
    progress: (done, total) => env.log.progress(task, done, total, 'updates'),
    checkpoints: { dir: path.join(workDir, 'checkpoints'), every: env.checkpointEvery ?? 100 },
    workDir,
    cacheDir: env.store.root,
    log: (l) => env.log.line(`${id}: ${l}`),
  };
  // An input the step does not declare is not in its key: reading it must fail rather than go unkeyed.
  for (const input of ['sampler', 'data'] as const) {
    if (!reads.includes(input)) withholdInput(ctx, input, `${id} reads ctx.${input} but does not list '${input}' in its reads; declare it so the step is keyed on it`);
  }
  return ctx;
}

/** A step's returned sampler must be the one it declares: validation and later steps' keys rely on the declaration. */
function checkDeclaredSampler(step: ResolvedStep, returned: SamplerConfig | undefined, index: number): void {
  const declared = samplerKey(step.method.studentSampler?.(step.config));
  if (samplerKey(returned) !== declared) {
    throw new Error(`pipeline[${index}] ${step.method.id} returned sampler ${samplerKey(returned)} but declares ${declared} (studentSampler)`);
  }
}

/**
 * Applies one pipeline step, or restores it from the store: the method's `apply` runs once per distinct input; later
 * runs call its `restore` on the parent model and load the saved weights (and `compression-state.json`). A hook the
 * step contributes is chained after the parent's; a student sampler it returns is used from here on.
 *
 * @throws Error when the step returns a sampler other than the one its `studentSampler` declares.
 */
export async function applyStep(parent: StagedModel, step: ResolvedStep, index: number, env: StepEnvironment): Promise<StagedModel> {
  const { store, log } = env;
  const inputs = stepKeyInputs(parent.key, step, env.seed, positionSampler(parent, env.sampler), env.data.key);
  const key = store.key('model', inputs);
  const workDir = store.workDir('model', key);
  const version = step.method.version;
  let applied: Awaited<ReturnType<typeof step.method.apply>> | undefined;
  const { dir, reused } = await store.produce(
    'model',
    key,
    async (out) => {
      log.line(`pipeline[${index}] ${step.method.id}: applying`);
      const t0 = performance.now();
      applied = await step.method.apply(stageContext(parent, step, env, workDir, index), step.config);
      // Before anything is stored: a stored artifact would be reused, and fail, on every later run.
      checkDeclaredSampler(step, applied.sampler, index);
      const record: StageRecord = { method: step.method.id, seconds: (performance.now() - t0) / 1000, diagnostics: applied.diagnostics ?? [] };
      writeJsonAtomic(path.join(out, STAGE_RECORD), record);
      const history: MethodRecord = { method: step.method.id, version, config: step.config as JsonValue, state: applied.state ?? null };
      const state: CompressionState = {
        format: COMPRESSION_STATE_FORMAT,
        base: parent.baseKey,
        history: [...parent.history, history],
        bitWidths: { ...parent.bitWidths, ...(applied.bitWidths ?? {}) },
      };
      if (applied.model) saveCheckpoint(applied.model.unet, path.join(out, 'model.safetensors'), { metadata: { 'diffpress.model': applied.model.id } });
      writeJsonAtomic(path.join(out, 'compression-state.json'), state);
    },
    inputs,
  );
  const state = checkCompressionState(JSON.parse(fs.readFileSync(path.join(dir, 'compression-state.json'), 'utf8')), path.join(dir, 'compression-state.json'));
  let result = applied;
  if (reused || !result) {
    log.line(`pipeline[${index}] ${step.method.id}: restored ${key.slice(0, 12)}`);
    result = await step.method.restore(stageContext(parent, step, env, workDir, index), step.config, state.history[state.history.length - 1].state);
    checkDeclaredSampler(step, result.sampler, index);
    // The artifact is finished: nothing restore might have put in the work folder is needed again.
    fs.rmSync(workDir, { recursive: true, force: true });
    const weights = path.join(dir, 'model.safetensors');
    if (result.model && fs.existsSync(weights)) {
      const ckpt = readCheckpoint(weights);
      try {
        result.model.unet.loadStateDict(ckpt.tensors, { strict: true, source: weights });
      } finally {
        tf.dispose([...ckpt.tensors.values()]);
      }
    }
  }
  const stageFile = path.join(dir, STAGE_RECORD);
  const recorded: StageRecord = fs.existsSync(stageFile) ? (JSON.parse(fs.readFileSync(stageFile, 'utf8')) as StageRecord) : { method: step.method.id, seconds: NaN, diagnostics: [] };
  const stage: StageRecord = reused ? { ...recorded, reused: true } : recorded;
  // The format of the chain key is that of the single-policy key it replaced, so earlier sample sets are still found.
  const hooksKey = result.hook ? [parent.hooksKey, `${step.method.id}@${version}:${jsonDigest(step.config)}`].filter(Boolean).join('+') : parent.hooksKey;
  return {
    model: result.model ?? parent.model,
    hooks: result.hook ? [...parent.hooks, result.hook] : parent.hooks,
    hooksKey,
    sampler: result.sampler ?? parent.sampler,
    key,
    history: state.history,
    bitWidths: state.bitWidths,
    baseKey: parent.baseKey,
    stages: [...parent.stages, stage],
  };
}
