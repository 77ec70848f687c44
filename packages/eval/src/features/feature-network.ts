import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { readCheckpoint, saveCheckpoint } from '@diffpress/core';
import { shippedModelsDir } from '@diffpress/diffusion';
import { MnistClassifier, MnistClassifierConfig } from './mnist-classifier';
import { fileDigest } from '../samples/digest';
import { loadTfjsModelFromDisk } from './tfjs-model';

/** Id of the default feature network (the shipped MNIST classifier, `models/mnist-classifier-v1/`). */
export const DEFAULT_FEATURE_NETWORK = 'mnist-classifier-v1';

/** Shape `[h, w, c]` of the images a diffpress classifier feature network embeds (MNIST digits). */
export const CLASSIFIER_INPUT_SHAPE: readonly number[] = [28, 28, 1];

/** Metadata key holding the classifier config in its safetensors file. */
const CONFIG_KEY = 'diffpress.classifier';

/** Which feature network produced a number: its id and artifact digest. */
export interface FeatureNetRef {
  /** Network id, e.g. `mnist-classifier-v1`. */
  id: string;
  /** SHA-256 of its weights (and topology, for tfjs models). */
  digest: string;
}

/** Features (and, for classifiers, class probabilities) of a batch. */
export interface Embedding {
  /** Features `[n, featureDim]`. */
  features: tf.Tensor2D;
  /** Class probabilities `[n, classes]`, when the network is a classifier. */
  probs?: tf.Tensor2D;
}

/**
 * A network that maps images to feature vectors (and optionally class probabilities): the space in which FD, KID
 * and precision/recall compare sample sets.
 */
export interface FeatureNetwork {
  /** Name recorded in metric names and result rows, e.g. `mnist-classifier-v1`. */
  readonly id: string;
  /** SHA-256 of the network's weight bytes (and topology, for tfjs models): the feature-network artifact hash. */
  readonly digest: string;
  /** Shape of one input image `[h, w, c]` the caller passes (images are in [−1, 1]). */
  readonly inputShape: readonly number[];
  /** Width of the feature vectors. */
  readonly featureDim: number;
  /** Number of classes, when {@link Embedding.probs} is produced. */
  readonly classes?: number;
  /** Features of images `[n, h, w, c]` in [−1, 1]; the caller disposes the result. */
  embed(images: tf.Tensor): Embedding;
  /** Frees the network's weights. */
  dispose(): void;
}

/**
 * Saves a trained {@link MnistClassifier} as `<dir>/model.safetensors` with its config in the metadata, so
 * {@link loadFeatureNetwork} can rebuild it.
 *
 * @returns The file written.
 */
export function saveFeatureClassifier(net: MnistClassifier, dir: string, id: string): string {
  const file = path.join(dir, 'model.safetensors');
  saveCheckpoint(net, file, { metadata: { [CONFIG_KEY]: JSON.stringify(net.config), 'diffpress.model': id } });
  return file;
}

/** Wraps a classifier module as a {@link FeatureNetwork} (features: penultimate layer; probabilities: softmax). */
export function classifierFeatureNetwork(net: MnistClassifier, id: string, digest: string): FeatureNetwork {
  net.eval();
  return {
    id,
    digest,
    inputShape: [...CLASSIFIER_INPUT_SHAPE],
    featureDim: net.config.hidden,
    classes: net.config.classes,
    embed: (images) =>
      tf.tidy(() => {
        const { logits, features } = net.forwardWithFeatures(images);
        return { features, probs: tf.softmax(logits) as tf.Tensor2D };
      }),
    dispose: () => net.dispose(),
  };
}

/** Options of {@link loadFeatureNetwork} for user-supplied tfjs models. */
export interface TfjsFeatureOptions {
  /**
   * Graph models: the node whose output is the feature vector (e.g. InceptionV3's pool node); default: the model's
   * first output. Layers models: the name of the layer whose output is used; default: the model's output.
   */
  featureNode?: string;
  /** Graph models: a node with class probabilities or logits; layers models: a layer name. Optional. */
  probsNode?: string;
  /** Whether `probsNode` gives logits (softmax is applied) rather than probabilities (default false). */
  probsAreLogits?: boolean;
  /** The value range the model expects; images in [−1, 1] are mapped linearly to it (default `[-1, 1]`). */
  inputRange?: [number, number];
  /** Resize images to `[h, w]` (bilinear) before the model (default: the model's input size if known). */
  inputSize?: [number, number];
  /** Channels the model expects; 1-channel images are repeated to 3 when it wants 3 (default: from the model). */
  inputChannels?: number;
}

/**
 * Loads a feature network:
 *
 * - a shipped id (`'mnist-classifier-v1'`, the default), or a `.safetensors` file of an {@link MnistClassifier} or
 *   a folder holding one as `model.safetensors` (what {@link saveFeatureClassifier} writes);
 * - a folder or `model.json` of a **tfjs graph or layers model** (the format `tensorflowjs_converter` writes), for
 *   example an InceptionV3 converted by the user, which makes the FD of this package the real FID. Images in
 *   [−1, 1] are mapped to `inputRange`, resized to the model's input size and tiled to 3 channels as needed.
 *
 * @param imageShape - Shape `[h, w, c]` of the images that will be embedded (default `[28, 28, 1]`); a classifier
 *   refuses any other shape.
 * @example
 * ```ts
 * const net = await loadFeatureNetwork();                         // the shipped MNIST classifier
 * const inception = await loadFeatureNetwork('/models/inception-v3/model.json', [28, 28, 1], {
 *   featureNode: 'module_apply_default/InceptionV3/Logits/GlobalPool', inputRange: [0, 1], inputSize: [299, 299],
 * });
 * ```
 */
export async function loadFeatureNetwork(
  idOrPath: string = DEFAULT_FEATURE_NETWORK,
  imageShape: readonly number[] = CLASSIFIER_INPUT_SHAPE,
  options: TfjsFeatureOptions = {},
): Promise<FeatureNetwork> {
  const source = locateFeatureNetwork(idOrPath);
  if (source.kind === 'tfjs') return loadTfjsFeatureNetwork(source.file, imageShape, options);
  const problem = featureNetworkShapeProblem(source, imageShape);
  if (problem) throw new Error(problem);
  const { file } = source;
  const { metadata, tensors } = readCheckpoint(file);
  let net: MnistClassifier | undefined;
  try {
    if (!metadata[CONFIG_KEY]) throw new Error(`${file}: metadata '${CONFIG_KEY}' is missing; not a diffpress classifier`);
    net = new MnistClassifier(JSON.parse(metadata[CONFIG_KEY]) as MnistClassifierConfig);
    net.loadStateDict(tensors, { strict: true, source: file });
  } catch (e) {
    net?.dispose();
    throw e;
  } finally {
    tf.dispose([...tensors.values()]);
  }
  const id = metadata['diffpress.model'] ?? path.basename(file, '.safetensors');
  return classifierFeatureNetwork(net, id, fileDigest([file]));
}

/** Where a feature network's files are and what kind of network they hold ({@link locateFeatureNetwork}). */
export interface FeatureNetworkSource {
  /** The id or path it was located from. */
  spec: string;
  /** `tfjs`: a tfjs graph or layers model; `classifier`: a diffpress {@link MnistClassifier}. */
  kind: 'tfjs' | 'classifier';
  /** Its `model.json` (tfjs) or `.safetensors` file (classifier). */
  file: string;
}

/**
 * Finds a feature network's files the way {@link loadFeatureNetwork} does, without reading them: a tfjs `model.json`
 * (given, or in the given folder), a classifier `.safetensors` file (given, or `model.safetensors` in the given
 * folder), or a shipped id (`models/<id>/model.safetensors`).
 *
 * @throws Error naming the path when there is none of these.
 */
export function locateFeatureNetwork(idOrPath: string = DEFAULT_FEATURE_NETWORK): FeatureNetworkSource {
  const jsonFile = idOrPath.endsWith('.json') ? idOrPath : path.join(idOrPath, 'model.json');
  if (fs.existsSync(jsonFile) && fs.statSync(jsonFile).isFile()) return { spec: idOrPath, kind: 'tfjs', file: jsonFile };
  const inFolder = path.join(idOrPath, 'model.safetensors');
  const file = idOrPath.endsWith('.safetensors') ? idOrPath : fs.existsSync(inFolder) ? inFolder : path.join(shippedModelsDir(), idOrPath, 'model.safetensors');
  if (!fs.existsSync(file)) {
    throw new Error(
      `feature network '${idOrPath}': no ${file} and no tfjs model.json there` +
        (idOrPath === DEFAULT_FEATURE_NETWORK ? ' (train it with: npx nx run tools:train-classifier)' : ''),
    );
  }
  return { spec: idOrPath, kind: 'classifier', file };
}

/**
 * Why a located feature network cannot embed images of `imageShape`, or undefined when it can: a classifier embeds
 * only {@link CLASSIFIER_INPUT_SHAPE} images; a tfjs model resizes and tiles channels, so it is not judged here.
 */
export function featureNetworkShapeProblem(source: FeatureNetworkSource, imageShape: readonly number[]): string | undefined {
  if (source.kind === 'tfjs' || imageShape.join('x') === CLASSIFIER_INPUT_SHAPE.join('x')) return undefined;
  return (
    `feature network '${source.spec}' is an MNIST classifier: it embeds [${CLASSIFIER_INPUT_SHAPE.join(', ')}] images, and these are [${imageShape.join(', ')}]; ` +
    'give a feature network for this data (a tfjs model.json)'
  );
}

async function loadTfjsFeatureNetwork(jsonFile: string, imageShape: readonly number[], options: TfjsFeatureOptions): Promise<FeatureNetwork> {
  const loaded = await loadTfjsModelFromDisk(jsonFile);
  const model = loaded.model;
  const [lo, hi] = options.inputRange ?? [-1, 1];
  const inShape = loaded.inputShape;
  const size = options.inputSize ?? (inShape && inShape[1] && inShape[2] ? [inShape[1], inShape[2]] : undefined);
  const channels = options.inputChannels ?? inShape?.[3] ?? imageShape[2];
  const prepare = (images: tf.Tensor): tf.Tensor4D =>
    tf.tidy(() => {
      let x = images as tf.Tensor4D;
      if (lo !== -1 || hi !== 1) x = tf.add(tf.mul(tf.add(x, 1), (hi - lo) / 2), lo);
      if (size && (size[0] !== x.shape[1] || size[1] !== x.shape[2])) x = tf.image.resizeBilinear(x, size);
      if (channels !== x.shape[3]) {
        if (x.shape[3] !== 1) throw new Error(`feature network ${jsonFile}: expects ${channels} channels, images have ${x.shape[3]}`);
        x = tf.tile(x, [1, 1, 1, channels]);
      }
      return x;
    });
  // Layers models: one sub-model exposing the chosen layers, built once (not per batch).
  let sub: tf.LayersModel | undefined;
  if (!(model instanceof tf.GraphModel)) {
    const features = options.featureNode ? model.getLayer(options.featureNode).output : model.outputs[0];
    const outputs = [features, ...(options.probsNode ? [model.getLayer(options.probsNode).output] : [])] as tf.SymbolicTensor[];
    sub = tf.model({ inputs: model.inputs, outputs });
  }
  const run = (x: tf.Tensor4D): { features: tf.Tensor; probs?: tf.Tensor } => {
    if (model instanceof tf.GraphModel) {
      const names = [options.featureNode ?? model.outputs[0].name, ...(options.probsNode ? [options.probsNode] : [])];
      const out = model.execute(x, names);
      const list = Array.isArray(out) ? out : [out];
      return { features: list[0], probs: list[1] };
    }
    const out = (sub as tf.LayersModel).predict(x);
    const list = Array.isArray(out) ? out : [out];
    return { features: list[0], probs: list[1] };
  };
  const embed = (images: tf.Tensor): Embedding =>
    tf.tidy(() => {
      const { features, probs } = run(prepare(images));
      const flat = tf.reshape(features, [features.shape[0], -1]) as tf.Tensor2D;
      if (!probs) return { features: flat };
      const p = tf.reshape(probs, [probs.shape[0], -1]) as tf.Tensor2D;
      return { features: flat, probs: options.probsAreLogits ? (tf.softmax(p) as tf.Tensor2D) : p };
    });
  let featureDim = 0;
  let classes: number | undefined;
  tf.tidy(() => {
    const probe = embed(tf.zeros([1, ...imageShape]));
    featureDim = probe.features.shape[1];
    classes = probe.probs?.shape[1];
  });
  return {
    id: path.basename(path.dirname(path.resolve(jsonFile))),
    digest: fileDigest([jsonFile, ...loaded.weightFiles]),
    inputShape: [...imageShape],
    featureDim,
    classes,
    embed,
    dispose: () => model.dispose(),
  };
}
