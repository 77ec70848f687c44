import * as fs from 'fs';
import * as path from 'path';
import { saveCheckpoint } from '@diffpress/core';
import {
  DiffusionModelConfig, ShippedModelSpec, loadDiffusionModel, loadEmaWeights, modelMetadata, shippedModelSpec, shippedModelsDir, trainSpec,
} from '@diffpress/diffusion';
import { fileDigest, jsonDigest } from '@diffpress/eval';
import { isShippedData, loadRecipeData, recipeDataKey, trainingSplit } from '../recipe/data';
import { recipeUNetConfig } from '../recipe/inputs';
import { Recipe, RecipeData, RecipeTrainStage, RecipeUserModelConfig, dataSchema } from '../recipe/schema';
import { ArtifactStore } from '../store/store';
import { StagedModel, baseStage } from './apply-step';
import { RunLog } from './progress';

/** File of a trained base-model artifact holding its training log (one JSON line per logged update). */
export const TRAIN_LOG = 'train-log.jsonl';

/**
 * The training spec a recipe's training stage stands for: the named shipped spec with the recipe's overrides, its UNet
 * config when it gives one, and the recipe's data (named in `data` unless it is the shipped models' MNIST training
 * split, so the specs of existing training stages, and so their keys, stay as they were).
 */
export function trainingStageSpec(train: RecipeTrainStage, data: RecipeData = dataSchema.parse({})): ShippedModelSpec {
  const like = shippedModelSpec(train.like);
  const steps = train.steps ?? like.steps;
  const split = trainingSplit(data);
  return {
    ...like,
    id: `${like.id}-trained`,
    steps,
    batchSize: train.batchSize ?? like.batchSize,
    seed: train.seed ?? like.seed,
    lr: { ...like.lr, lr: train.lr ?? like.lr.lr, totalSteps: steps, warmupSteps: Math.min(like.lr.warmupSteps ?? 0, Math.floor(steps / 10)) },
    // Named by kind and split, not by path: the data's identity (its files' contents) keys the stage separately, so
    // the same images reached from another recipe folder do not retrain.
    ...(isShippedData(data) && split === 'train' ? {} : { data: `${data.dataset}/${split}` }),
    ...(train.unet ? { unet: recipeUNetConfig(train.unet) } : {}),
  };
}

/** Where a recipe's base model comes from. */
export interface BaseModelSource {
  /** Identity of the weights: `file:<sha256>` of a file (with `+config:<sha256>` of a user config), or the artifact key of a training stage. */
  key: string;
  /** The weights file (shipped model or checkpoint). */
  file?: string;
  /** What the checkpoint holds, when the recipe says it (a user model without metadata). */
  config?: DiffusionModelConfig;
  /** The training spec of a training stage. */
  training?: ShippedModelSpec;
}

/** The diffusion config a recipe gives for a user checkpoint. */
function userModelConfig(config: RecipeUserModelConfig): DiffusionModelConfig {
  return { unet: recipeUNetConfig(config.unet), schedule: config.schedule, prediction: config.prediction };
}

/**
 * Where the base model's weights come from, and the key that identifies them — without loading any tensor (a file
 * digest for a shipped model or checkpoint, with the digest of the recipe's config of a user model; the artifact key
 * of a training stage: its spec and, unless it trains on the shipped models' MNIST, its data's identity).
 */
export function baseModelKey(recipe: Recipe, store: ArtifactStore, baseDir: string): BaseModelSource {
  const m = recipe.model;
  if (m.id !== undefined || m.checkpoint !== undefined) {
    const file = m.id !== undefined ? path.join(shippedModelsDir(), m.id, 'model.safetensors') : path.resolve(baseDir, m.checkpoint as string);
    if (!m.config) return { key: `file:${fileDigest([file])}`, file };
    const config = userModelConfig(m.config);
    return { key: `file:${fileDigest([file])}+config:${jsonDigest(config)}`, file, config };
  }
  const spec = trainingStageSpec(m.train as RecipeTrainStage, recipe.data);
  return { key: store.key('model', trainingInputs(recipe, spec, baseDir)), training: spec };
}

/** What keys a training stage's model: its spec, and the identity of its data unless that is the shipped models' MNIST. */
function trainingInputs(recipe: Recipe, spec: ShippedModelSpec, baseDir: string): Record<string, unknown> {
  return isShippedData(recipe.data) ? { train: spec } : { train: spec, data: recipeDataKey(recipe.data, trainingSplit(recipe.data), baseDir) };
}

/**
 * Loads the base model of a recipe: a shipped model or checkpoint file (a user model with the recipe's config), or
 * the result of its training stage — an artifact trained once on the recipe's data (resumable from the store's work
 * folder, checkpointed every `checkpointEvery` updates).
 */
export async function loadBaseModel(recipe: Recipe, store: ArtifactStore, baseDir: string, log: RunLog): Promise<StagedModel> {
  const where = baseModelKey(recipe, store, baseDir);
  if (where.file) {
    const m = loadDiffusionModel(where.file, where.config);
    return baseStage({ id: recipe.model.id ?? m.id, unet: m.unet, schedule: m.schedule, prediction: m.prediction }, where.key);
  }
  const spec = where.training as ShippedModelSpec;
  const train = recipe.model.train as RecipeTrainStage;
  const { dir, reused } = await store.produce(
    'model',
    where.key,
    async (out) => {
      const work = store.workDir('model', where.key);
      const data = loadRecipeData(recipe.data, trainingSplit(recipe.data), baseDir);
      log.line(`training stage: ${spec.steps} updates like ${train.like} on ${data.name} (${data.size} images; checkpoints in ${work})`);
      await trainSpec(spec, { dir: work, checkpointEvery: train.checkpointEvery, validateEvery: 0, log: (l) => log.line(l), train: data });
      const { unet } = loadEmaWeights(spec, work);
      saveCheckpoint(unet, path.join(out, 'model.safetensors'), { metadata: modelMetadata(spec.id, unet.plan.config, spec.schedule, spec.prediction) });
      unet.dispose();
      // The training curve stays with the model (the work folder is removed once the artifact is finished).
      fs.copyFileSync(path.join(work, 'log.jsonl'), path.join(out, TRAIN_LOG));
    },
    trainingInputs(recipe, spec, baseDir),
  );
  if (reused) log.line(`training stage: reused ${where.key.slice(0, 12)}`);
  const file = path.join(dir, 'model.safetensors');
  const m = loadDiffusionModel(file);
  return baseStage({ id: spec.id, unet: m.unet, schedule: m.schedule, prediction: m.prediction }, where.key);
}
