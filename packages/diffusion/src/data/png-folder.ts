import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArrayDataset, validateDataset } from './dataset';
import { decodePng } from './png';

/** Options of {@link loadPngFolder}. */
export interface LoadPngFolderOptions {
  /** Required image size `[height, width]`; default: the first image's size. Any other size is an error. */
  size?: readonly [number, number];
  /**
   * Channels of the dataset, 1 (gray) or 3 (RGB); default: those of the first image (gray files give 1, colour
   * and palette files 3). Images stored otherwise are converted as {@link decodePng} does (BT.601 luma, or gray
   * repeated); alpha is dropped.
   */
  channels?: 1 | 3;
  /** Also read PNGs in subfolders, at any depth (default false: subfolders are not looked into). */
  recursive?: boolean;
  /**
   * Read `<dir>/<class>/*.png` and label each image with its class folder's index in name order, like
   * torchvision's `ImageFolder` (default false). A PNG directly in `dir` is then an error.
   */
  labelsFromSubfolders?: boolean;
  /**
   * Skip files that do not end in `.png` (default false: such a file is an error naming it, because a folder of
   * training images that also holds other files is more often a wrong path than intended). Hidden files and
   * folders (name starting with `.`) are always skipped.
   */
  ignoreOther?: boolean;
  /** Dataset name (default `png/<folder name>`). */
  name?: string;
}

/** A dataset read by {@link loadPngFolder}, with where each sample came from. */
export interface PngFolderDataset extends ArrayDataset {
  /** Path of each sample's file relative to the folder, `/`-separated, in sample order. */
  readonly files: readonly string[];
  /** With `labelsFromSubfolders`: class folder names, label `k` being `classNames[k]`. */
  readonly classNames?: readonly string[];
}

/** How many offending names an error message lists. */
const MAX_LISTED = 5;

/** Code-unit order, not `localeCompare`: the sample order must not depend on the machine's locale. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isPngName(name: string): boolean {
  return name.toLowerCase().endsWith('.png');
}

interface Listing {
  /** PNG files, relative to the root, `/`-separated. */
  pngs: string[];
  /** Files that are neither PNGs nor hidden, relative to the root. */
  others: string[];
  /** Non-hidden subfolders directly inside the listed folder (not relative paths). */
  folders: string[];
}

/** Lists `root/rel`, descending into subfolders when `recursive`. Symlinks are followed. */
function list(root: string, rel: string, recursive: boolean, out: Listing = { pngs: [], others: [], folders: [] }): Listing {
  const dir = path.join(root, rel);
  for (const name of fs.readdirSync(dir).sort(byName)) {
    if (name.startsWith('.')) continue;
    const relPath = rel === '' ? name : `${rel}/${name}`;
    const stat = fs.statSync(path.join(dir, name));
    if (stat.isDirectory()) {
      if (rel === '') out.folders.push(name);
      if (recursive) list(root, relPath, recursive, out);
    } else if (isPngName(name)) {
      out.pngs.push(relPath);
    } else {
      out.others.push(relPath);
    }
  }
  return out;
}

function listed(names: readonly string[]): string {
  const more = names.length > MAX_LISTED ? `, … ${names.length - MAX_LISTED} more` : '';
  return names.slice(0, MAX_LISTED).join(', ') + more;
}

/** The files of a PNG folder, as {@link listPngFolder} finds them (nothing decoded). */
export interface PngFolderListing {
  /** Paths of the PNG files relative to the folder, `/`-separated, in sample order. */
  readonly files: readonly string[];
  /** With `labelsFromSubfolders`: each file's class index. */
  readonly labels?: readonly number[];
  /** With `labelsFromSubfolders`: class folder names in label order. */
  readonly classNames?: readonly string[];
}

/**
 * The PNG files {@link loadPngFolder} would read, in its order, with the same checks on the folder's contents but
 * without opening any image: what a recipe check can afford for a folder of many images.
 *
 * @param dir - The folder.
 * @param options - `recursive`, `labelsFromSubfolders` and `ignoreOther` as for {@link loadPngFolder}.
 * @throws Error on a missing or empty folder, PNGs outside class folders, or (without `ignoreOther`) other files.
 *
 * @example
 * ```ts
 * listPngFolder('data/faces-64').files.length; // number of images
 * ```
 */
export function listPngFolder(dir: string, options: Pick<LoadPngFolderOptions, 'recursive' | 'labelsFromSubfolders' | 'ignoreOther'> = {}): PngFolderListing {
  const recursive = options.recursive ?? false;
  if (!fs.existsSync(dir)) throw new Error(`no such folder: ${dir}`);
  if (!fs.statSync(dir).isDirectory()) throw new Error(`not a folder: ${dir}`);

  const files: string[] = [];
  const fileLabels: number[] = [];
  let classNames: string[] | undefined;
  const others: string[] = [];
  if (options.labelsFromSubfolders) {
    const top = list(dir, '', false);
    others.push(...top.others);
    if (top.pngs.length > 0) {
      throw new Error(`${dir}: PNG files outside a class subfolder (${listed(top.pngs)}); labelsFromSubfolders reads ${dir}/<class>/*.png`);
    }
    classNames = top.folders;
    if (classNames.length === 0) throw new Error(`${dir}: no class subfolders (labelsFromSubfolders reads ${dir}/<class>/*.png)`);
    classNames.forEach((cls, label) => {
      const inner = list(dir, cls, recursive);
      others.push(...inner.others);
      if (inner.pngs.length === 0) throw new Error(`${path.join(dir, cls)}: class folder '${cls}' has no PNG files`);
      for (const f of inner.pngs.sort(byName)) {
        files.push(f);
        fileLabels.push(label);
      }
    });
  } else {
    const all = list(dir, '', recursive);
    others.push(...all.others);
    files.push(...all.pngs.sort(byName));
  }
  if (others.length > 0 && !options.ignoreOther) {
    throw new Error(
      `${dir}: ${others.length} file(s) are not PNGs (${listed(others)}); remove them or set ignoreOther: true`,
    );
  }
  if (files.length === 0) {
    throw new Error(`${dir}: no PNG files${recursive ? '' : ' (subfolders are not read; set recursive: true)'}`);
  }
  return { files, labels: classNames ? fileLabels : undefined, classNames };
}

/**
 * Reads a folder of PNG images into an {@link ArrayDataset}: NHWC float32 pixels scaled from 0…255 to [−1, 1] by
 * `x / 127.5 − 1`, one sample per file, in code-unit order of the files' relative paths (class by class with
 * `labelsFromSubfolders`), so the same folder gives the same dataset on every machine.
 *
 * @param dir - The folder.
 * @param options - See {@link LoadPngFolderOptions}.
 * @returns The dataset, with `sampleShape` `[height, width, channels]` and the files it read.
 * @throws Error on a missing or empty folder, a `.png` file that is not a PNG, an image of another size than
 *   required, or (without `ignoreOther`) any other non-hidden file; messages name the offending files.
 *
 * @example
 * ```ts
 * const faces = loadPngFolder('data/faces-64', { size: [64, 64], channels: 3 });
 * const pets = loadPngFolder('data/pets', { labelsFromSubfolders: true }); // data/pets/cat/*.png → label 0, …
 * ```
 */
export function loadPngFolder(dir: string, options: LoadPngFolderOptions = {}): PngFolderDataset {
  if (options.channels !== undefined && options.channels !== 1 && options.channels !== 3) {
    throw new RangeError(`loadPngFolder: channels must be 1 or 3, got ${String(options.channels)}`);
  }
  if (options.size !== undefined) {
    const [h, w] = options.size;
    if (options.size.length !== 2 || !Number.isInteger(h) || h < 1 || !Number.isInteger(w) || w < 1) {
      throw new RangeError(`loadPngFolder: size must be [height, width] with positive integers, got [${options.size.join(', ')}]`);
    }
  }
  const { files, labels: fileLabels, classNames } = listPngFolder(dir, options);

  // A lookup table makes the 0…255 → [−1, 1] map exact and identical for every pixel.
  const scale = new Float32Array(256);
  for (let v = 0; v < 256; v++) scale[v] = v / 127.5 - 1;

  let data = new Float32Array(0);
  let shape: [number, number, number] = [0, 0, 0];
  let sizeFrom = '';
  // Undefined until the first image fixes it, unless given; decodePng never returns 4 channels unasked.
  let channels = options.channels;
  files.forEach((rel, i) => {
    const file = path.join(dir, rel);
    const img = decodePng(fs.readFileSync(file), file, { channels });
    if (i === 0) {
      const [h, w] = options.size ?? [img.height, img.width];
      sizeFrom = options.size ? 'options.size' : file;
      channels = img.channels === 1 ? 1 : 3;
      shape = [h, w, channels];
      data = new Float32Array(files.length * h * w * channels);
    }
    if (img.height !== shape[0] || img.width !== shape[1]) {
      throw new Error(
        `${file}: image is ${img.height} × ${img.width} (height × width), expected ${shape[0]} × ${shape[1]} (from ${sizeFrom})`,
      );
    }
    const offset = i * img.data.length;
    for (let k = 0; k < img.data.length; k++) data[offset + k] = scale[img.data[k]];
  });

  const ds: PngFolderDataset = {
    name: options.name ?? `png/${path.basename(path.resolve(dir))}`,
    sampleShape: shape,
    size: files.length,
    data,
    labels: fileLabels ? Int32Array.from(fileLabels) : undefined,
    files,
    classNames,
  };
  validateDataset(ds);
  return ds;
}
