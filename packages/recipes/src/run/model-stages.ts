import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  BitWidths, COMPRESSION_STATE_FORMAT, CompressionState, DiagnosticTable, JsonValue, MethodRecord, checkCompressionState, readCheckpoint, saveCheckpoint, writeJsonAtomic,
} from '@diffpress/core';
import {
  ModelCallPolicy, PipelineModel, ShippedModelSpec, loadDiffusionModel, loadEmaWeights, modelMetadata, shippedModelSpec, shippedModelsDir, trainSpec,
} from '@diffpress/diffusion';
import { canonicalSampler, fileDigest, jsonDigest } from '@diffpress/eval';
import { Recipe, RecipeSampler, samplerSettings } from '../recipe/schema';
import { ResolvedStep } from '../recipe/validate';
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
}

/** File of a step artifact holding its {@link StageRecord}. */
export const STAGE_RECORD = 'stage.json';

/** A model at some position of a pipeline, with everything needed to sample, account and key it. */
export interface StagedModel {
  /** The model. */
  model: PipelineModel;
  /** Sampler policy set by the steps so far (undefined: plain sampling). */
  policy?: ModelCallPolicy;
  /** Identifies the policy in sample-cache keys (methods and configs that set it). */
  policyKey?: string;
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

/** File of a trained base-model artifact holding its training log (one JSON line per logged update). */
export const TRAIN_LOG = 'train-log.jsonl';

/** The training spec a recipe's training stage stands for: the named shipped spec with the recipe's overrides. */
export function trainingStageSpec(train: NonNullable<Recipe['model']['train']>): ShippedModelSpec {
  const like = shippedModelSpec(train.like);
  const steps = train.steps ?? like.steps;
  return {
    ...like,
    id: `${like.id}-trained`,
    steps,
    batchSize: train.batchSize ?? like.batchSize,
    seed: train.seed ?? like.seed,
    lr: { ...like.lr, lr: train.lr ?? like.lr.lr, totalSteps: steps, warmupSteps: Math.min(like.lr.warmupSteps ?? 0, Math.floor(steps / 10)) },
  };
}

/** Where a recipe's base model comes from. */
export interface BaseModelSource {
  /** Identity of the weights: `file:<sha256>` of a file, or the artifact key of a training stage. */
  key: string;
  /** The weights file (shipped model or checkpoint). */
  file?: string;
  /** The training spec of a training stage. */
  training?: ShippedModelSpec;
}

/**
 * Where the base model's weights come from, and the key that identifies them — without loading any tensor (a file
 * digest for a shipped model or checkpoint; the artifact key of a training stage).
 */
export function baseModelKey(recipe: Recipe, store: ArtifactStore, baseDir: string): BaseModelSource {
  const m = recipe.model;
  if (m.id !== undefined || m.checkpoint !== undefined) {
    const file = m.id !== undefined ? path.join(shippedModelsDir(), m.id, 'model.safetensors') : path.resolve(baseDir, m.checkpoint as string);
    return { key: `file:${fileDigest([file])}`, file };
  }
  const spec = trainingStageSpec(m.train as NonNullable<Recipe['model']['train']>);
  return { key: store.key('model', { train: spec }), training: spec };
}

/**
 * Loads the base model of a recipe: a shipped model or checkpoint file, or the result of its training stage — an
 * artifact trained once (resumable from the store's work folder, checkpointed every `checkpointEvery` updates).
 */
export async function loadBaseModel(recipe: Recipe, store: ArtifactStore, baseDir: string, log: RunLog): Promise<StagedModel> {
  const where = baseModelKey(recipe, store, baseDir);
  if (where.file) {
    const m = loadDiffusionModel(where.file);
    return { model: { id: recipe.model.id ?? m.id, unet: m.unet, schedule: m.schedule, prediction: m.prediction }, key: where.key, baseKey: where.key, history: [], bitWidths: {}, stages: [] };
  }
  const spec = where.training as ShippedModelSpec;
  const train = recipe.model.train as NonNullable<Recipe['model']['train']>;
  const { dir, reused } = await store.produce(
    'model',
    where.key,
    async (out) => {
      const work = store.workDir('model', where.key);
      log.line(`training stage: ${spec.steps} updates like ${train.like} (checkpoints in ${work})`);
      await trainSpec(spec, { dir: work, checkpointEvery: train.checkpointEvery, validateEvery: 0, log: (l) => log.line(l) });
      const { unet } = loadEmaWeights(spec, work);
      saveCheckpoint(unet, path.join(out, 'model.safetensors'), { metadata: modelMetadata(spec.id, unet.plan.config, spec.schedule, spec.prediction) });
      unet.dispose();
      // The training curve stays with the model (the work folder is removed once the artifact is finished).
      fs.copyFileSync(path.join(work, 'log.jsonl'), path.join(out, TRAIN_LOG));
    },
    { train: spec },
  );
  if (reused) log.line(`training stage: reused ${where.key.slice(0, 12)}`);
  const file = path.join(dir, 'model.safetensors');
  const m = loadDiffusionModel(file);
  return { model: { id: spec.id, unet: m.unet, schedule: m.schedule, prediction: m.prediction }, key: where.key, baseKey: where.key, history: [], bitWidths: {}, stages: [] };
}

/** The inputs that key the output of one pipeline step. */
export function stepKeyInputs(parentKey: string, step: ResolvedStep, seed: number, sampler: RecipeSampler): unknown {
  return { parent: parentKey, method: step.method.id, version: step.method.version, config: step.config, seed, sampler: canonicalSampler(samplerSettings(sampler)) };
}

/**
 * Applies one pipeline step, or restores it from the store: the method's `apply` runs once per distinct input; later
 * runs call its `restore` on the parent model and load the saved weights (and `compression-state.json`).
 */
export async function applyStep(parent: StagedModel, step: ResolvedStep, index: number, seed: number, sampler: RecipeSampler, store: ArtifactStore, log: RunLog): Promise<StagedModel> {
  const inputs = stepKeyInputs(parent.key, step, seed, sampler);
  const key = store.key('model', inputs);
  const ctxFor = (): Parameters<typeof step.method.apply>[0] => ({
    model: parent.model,
    policy: parent.policy,
    history: parent.history,
    seed,
    sampler,
    workDir: store.workDir('model', key),
    cacheDir: store.root,
    log: (l) => log.line(`${step.method.id}: ${l}`),
  });
  const version = step.method.version;
  let applied: Awaited<ReturnType<typeof step.method.apply>> | undefined;
  const { dir, reused } = await store.produce(
    'model',
    key,
    async (out) => {
      log.line(`pipeline[${index}] ${step.method.id}: applying`);
      const t0 = performance.now();
      applied = await step.method.apply(ctxFor(), step.config);
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
    result = await step.method.restore(ctxFor(), step.config, state.history[state.history.length - 1].state);
    // The artifact is finished: nothing restore might have put in the work folder is needed again.
    fs.rmSync(path.join(store.root, 'work', 'model', key), { recursive: true, force: true });
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
  const stage: StageRecord = fs.existsSync(stageFile) ? (JSON.parse(fs.readFileSync(stageFile, 'utf8')) as StageRecord) : { method: step.method.id, seconds: NaN, diagnostics: [] };
  const policyKey = result.policy ? [parent.policyKey, `${step.method.id}@${version}:${jsonDigest(step.config)}`].filter(Boolean).join('+') : parent.policyKey;
  return {
    model: result.model ?? parent.model,
    policy: result.policy ?? parent.policy,
    policyKey,
    key,
    history: state.history,
    bitWidths: state.bitWidths,
    baseKey: parent.baseKey,
    stages: [...parent.stages, stage],
  };
}
