import * as fs from 'fs';
import * as path from 'path';
import { readSafetensorsFile } from '@diffpress/core';
import {
  MODEL_METADATA, Prediction, ResolvedUNetConfig, UNetConfig, configFromMetadata, planUNet, shippedModels, shippedModelsDir, shippedUNetConfig, unetPreset,
} from '@diffpress/diffusion';
import { METRICS, featureNetworkShapeProblem, locateFeatureNetwork } from '@diffpress/eval';
import { PathSegment } from '../ablation/paths';
import { nearest } from '../registry/suggest';
import { describeData, recipeDataProblem, recipeDataShape } from './data';
import { RecipeModel, RecipeUNet, dataSchema, evalSchema, modelSchema } from './schema';

/** A problem with a file a recipe names (data, checkpoint, feature network), at a recipe path. */
export interface InputFinding {
  /** Recipe path of the value that names the file or the setting that does not fit. */
  path: PathSegment[];
  /** What is wrong. */
  message: string;
}

/** The UNet config a recipe's UNet section stands for: its preset, with the fields it gives over it. */
export function recipeUNetConfig(u: RecipeUNet): UNetConfig {
  const { preset, ...fields } = u;
  const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return { ...(preset !== undefined ? unetPreset(preset) : {}), ...given } as UNetConfig;
}

/** The metrics that read a feature network (features or class probabilities), in order. */
export function featureMetrics(metrics: readonly string[]): string[] {
  return metrics.filter((m) => METRICS[m]?.input === 'features' || METRICS[m]?.input === 'probs');
}

/** Whether the metrics need a feature network, as opposed to paired metrics only. */
export function needsFeatureNet(metrics: readonly string[]): boolean {
  return featureMetrics(metrics).length > 0;
}

/** The feature network a recipe names: a path relative to the recipe file when one exists there, else as given (an id). */
export function recipeFeatureNet(featureNet: string, baseDir: string): string {
  const local = path.resolve(baseDir, featureNet);
  return fs.existsSync(local) ? local : featureNet;
}

const headerMemo = new Map<string, Record<string, string> | Error>();

/**
 * The metadata of a safetensors checkpoint after checking its whole structure (header, offsets, length) without
 * creating any tensor; remembered per file version, as every cell of an ablation checks the same file.
 *
 * @throws Error naming the file when it cannot be read or is not a valid safetensors file.
 */
export function checkpointMetadata(file: string): Record<string, string> {
  const st = fs.statSync(file);
  const stamp = `${file}\u0000${st.size}\u0000${st.mtimeMs}`;
  let entry = headerMemo.get(stamp);
  if (!entry) {
    try {
      entry = readSafetensorsFile(file).metadata;
    } catch (err) {
      entry = err as Error;
    }
    headerMemo.set(stamp, entry);
  }
  if (entry instanceof Error) throw entry;
  return entry;
}

/** A base model's architecture and parameterization, and the recipe path they come from. */
interface Architecture {
  unet: UNetConfig;
  prediction: Prediction;
  at: PathSegment[];
}

function unknownShipped(id: string, at: PathSegment[]): InputFinding {
  const hint = nearest(id, Object.keys(shippedModels));
  return { path: at, message: `unknown shipped model '${id}'${hint ? ` — did you mean '${hint}'?` : ` (shipped: ${Object.keys(shippedModels).join(', ')})`}` };
}

/** The base model's architecture, or the problems that keep it from being known. */
function modelArchitecture(m: RecipeModel, rawModel: unknown, baseDir: string): Architecture | InputFinding[] {
  if (m.id !== undefined) {
    const at: PathSegment[] = typeof rawModel === 'string' ? ['model'] : ['model', 'id'];
    const spec = shippedModels[m.id];
    if (!spec) return [unknownShipped(m.id, at)];
    const file = path.join(shippedModelsDir(), m.id, 'model.safetensors');
    if (!fs.existsSync(file)) return [{ path: at, message: `missing checkpoint ${file} (train and export it: npx nx run tools:train-shipped --model=${m.id})` }];
    return { unet: shippedUNetConfig(spec), prediction: spec.prediction, at };
  }
  if (m.checkpoint !== undefined) {
    const file = path.resolve(baseDir, m.checkpoint);
    if (!fs.existsSync(file)) return [{ path: ['model', 'checkpoint'], message: `missing checkpoint: ${file} does not exist` }];
    let metadata: Record<string, string>;
    try {
      metadata = checkpointMetadata(file);
    } catch (err) {
      return [{ path: ['model', 'checkpoint'], message: `unreadable checkpoint: ${(err as Error).message}` }];
    }
    if (m.config) return { unet: recipeUNetConfig(m.config.unet), prediction: m.config.prediction, at: ['model', 'config', 'unet'] };
    if (!metadata[MODEL_METADATA.unet]) {
      return [{ path: ['model', 'checkpoint'], message: `${file} has no diffpress model metadata: give model.config (unet, schedule, prediction) to say what it holds` }];
    }
    try {
      return { ...configFromMetadata(metadata, file), at: ['model', 'checkpoint'] };
    } catch (err) {
      return [{ path: ['model', 'checkpoint'], message: (err as Error).message }];
    }
  }
  const train = m.train;
  if (!train) return [];
  const like = shippedModels[train.like];
  if (!like) return [unknownShipped(train.like, ['model', 'train', 'like'])];
  return train.unet
    ? { unet: recipeUNetConfig(train.unet), prediction: like.prediction, at: ['model', 'train', 'unet'] }
    : { unet: shippedUNetConfig(like), prediction: like.prediction, at: ['model', 'train', 'like'] };
}

/** Why a model of `arch` cannot take images of `shape`, or undefined. */
function fitProblem(arch: Architecture, shape: readonly number[], data: string): string | undefined {
  let unet: ResolvedUNetConfig;
  try {
    // planUNet checks everything the network needs (sizes divisible by the levels, heads dividing channels).
    unet = planUNet(arch.unet).config;
  } catch (err) {
    return (err as Error).message;
  }
  const out = arch.prediction === 'both' ? 2 * shape[2] : shape[2];
  if (unet.imageSize[0] === shape[0] && unet.imageSize[1] === shape[1] && unet.inChannels === shape[2] && unet.outChannels === out) return undefined;
  return (
    `the model takes [${unet.imageSize.join(', ')}, ${unet.inChannels}] images and gives ${unet.outChannels} channels, but the data (${data}) is [${shape.join(', ')}]` +
    `${arch.prediction === 'both' ? ' (both prediction: twice the data channels out)' : ''}: give a UNet config that fits the data, or set data.size and data.channels`
  );
}

/** Metrics that need no feature network, for messages. */
const FEATURELESS = Object.values(METRICS).filter((m) => m.input === 'paired').map((m) => m.name);

/**
 * Checks the files a recipe names and that they fit together, touching no tensor: the data can be read (a path that
 * exists, images in it), the base model's checkpoint exists and is a valid safetensors file with metadata or a
 * config, its architecture is valid and fits the data's images, and the feature network (when a metric needs one)
 * exists and can embed them. Sections that fail their schema are skipped (the schema reports them).
 */
export function checkInputs(raw: Record<string, unknown>, baseDir: string): InputFinding[] {
  const out: InputFinding[] = [];
  const data = dataSchema.safeParse(raw.data ?? {});
  let shape: [number, number, number] | undefined;
  if (data.success) {
    const problem = recipeDataProblem(data.data, baseDir);
    if (problem) out.push({ path: data.data.path !== undefined ? ['data', 'path'] : ['data'], message: problem });
    else shape = recipeDataShape(data.data, baseDir);
  }
  const model = modelSchema.safeParse(raw.model);
  if (model.success) {
    const arch = modelArchitecture(model.data, raw.model, baseDir);
    if (Array.isArray(arch)) out.push(...arch);
    else if (shape && data.success) {
      const problem = fitProblem(arch, shape, describeData(data.data));
      if (problem) out.push({ path: arch.at, message: problem });
    }
  }
  const ev = evalSchema.safeParse(raw.eval);
  if (ev.success && needsFeatureNet(ev.data.metrics)) {
    const at: PathSegment[] = ['eval', 'featureNet'];
    try {
      const source = locateFeatureNetwork(recipeFeatureNet(ev.data.featureNet, baseDir));
      const problem = shape && featureNetworkShapeProblem(source, shape);
      if (problem) out.push({ path: at, message: `${problem}, or ask only for metrics that need none (${FEATURELESS.join(', ')})` });
    } catch (err) {
      out.push({ path: at, message: (err as Error).message });
    }
  }
  return out;
}
