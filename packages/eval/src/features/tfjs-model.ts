import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

/** A tfjs model read from disk. */
export interface DiskTfjsModel {
  /** The model (graph or layers). */
  model: tf.GraphModel | tf.LayersModel;
  /** Input shape `[n, h, w, c]` where the model declares it (−1/null for free dimensions). */
  inputShape?: number[];
  /** The weight files read, in manifest order. */
  weightFiles: string[];
}

interface ModelJson {
  format?: string;
  modelTopology?: unknown;
  weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  [key: string]: unknown;
}

/**
 * Reads a tfjs model saved in the `tensorflowjs_converter` / `model.save()` format (`model.json` plus binary weight
 * shards) from the local disk. tfjs's own `file://` handler lives in `tfjs-node`, which is optional here, so the
 * artifacts are assembled by hand and given to `tf.loadGraphModel` / `tf.loadLayersModel`.
 *
 * @throws Error naming the file when it is not a tfjs model or a weight shard is missing.
 */
export async function loadTfjsModelFromDisk(jsonFile: string): Promise<DiskTfjsModel> {
  let json: ModelJson;
  try {
    json = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as ModelJson;
  } catch (e) {
    throw new Error(`cannot read tfjs model ${jsonFile}: ${(e as Error).message}`, { cause: e });
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw new Error(`${jsonFile} is not a tfjs model.json (no modelTopology/weightsManifest)`);
  const dir = path.dirname(jsonFile);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const weightFiles: string[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const f = path.join(dir, p);
      if (!fs.existsSync(f)) throw new Error(`${jsonFile}: weight shard ${f} is missing`);
      weightFiles.push(f);
      buffers.push(fs.readFileSync(f));
    }
    specs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const artifacts: tf.io.ModelArtifacts = {
    ...(json as tf.io.ModelJSON),
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData,
  };
  const handler: tf.io.IOHandler = { load: async () => artifacts };
  if (json.format === 'graph-model') {
    const model = await tf.loadGraphModel(handler);
    const shape = model.inputs[0]?.shape;
    return { model, inputShape: shape, weightFiles };
  }
  const model = await tf.loadLayersModel(handler);
  const shape = model.inputs[0]?.shape?.map((d) => d ?? -1);
  return { model, inputShape: shape, weightFiles };
}
