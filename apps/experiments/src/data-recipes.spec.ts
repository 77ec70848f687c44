import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readSafetensorsFile, writeSafetensorsFile } from '@diffpress/core';
import { CIFAR10_RECORD_BYTES, encodePng } from '@diffpress/diffusion';
import { startCli } from './testing/cli-process';

// Recipes on the user's own data and models, end to end from the CLI: a tiny RGB model trained from the recipe on a
// PNG folder or a CIFAR-10 binary file (both written here), quantized by ptq-naive, evaluated with metrics that need
// no feature network; a user checkpoint without metadata; and bad inputs reported before anything runs.

/** A tiny RGB UNet for 8 × 8 images (a few thousand parameters: a few updates take seconds). */
const TINY_UNET = '{ preset: unet-mnist-s, inChannels: 3, outChannels: 3, imageSize: 8, baseChannels: 8, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [], heads: 1, groups: 4 }';

const TAIL = `pipeline:
  - method: ptq-naive
    config: { weightBits: 8, activationBits: 8, calibration: { perStep: 4 }, diagnostics: { trajectories: 0 } }
sample: { kind: ddim, steps: 2, batchSize: 4 }
eval: { samples: 4, metrics: [sample-mse, sample-psnr], latency: false, grid: 2 }
`;

function trainedRecipe(name: string, data: string): string {
  return `name: ${name}
data: ${data}
model:
  train: { like: unet-mnist-s-eps, unet: ${TINY_UNET}, steps: 3, batchSize: 4, checkpointEvery: 3 }
${TAIL}`;
}

/** Pixel byte of image `i` at (y, x, channel c) of a `side`-pixel image: smooth, different per image and channel. */
function pixel(i: number, y: number, x: number, c: number, side: number): number {
  return Math.round(127.5 + 127.5 * Math.sin((i + 1) * 0.7 + ((y + 2 * c) / side) * 3 + (x / side) * (c + 1)));
}

/** `count` RGB PNG files of `side` × `side` pixels in `dir`. */
function writePngFolder(dir: string, count: number, side: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const px = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) for (let c = 0; c < 3; c++) px[(y * side + x) * 3 + c] = pixel(i, y, x, c, side);
    fs.writeFileSync(path.join(dir, `img-${String(i).padStart(3, '0')}.png`), encodePng(px, side, side, 3));
  }
}

/** A CIFAR-10 binary file of `count` records (label byte, then the R, G and B planes of 32 × 32 bytes). */
function writeCifarFile(file: string, count: number): void {
  const bytes = new Uint8Array(count * CIFAR10_RECORD_BYTES);
  for (let i = 0; i < count; i++) {
    const rec = i * CIFAR10_RECORD_BYTES;
    bytes[rec] = i % 10;
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) bytes[rec + 1 + c * 1024 + y * 32 + x] = pixel(i, y, x, c, 32);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
}

interface StoredPosition {
  position: string;
  rows: Array<{ metric: string; value: number; featureNet: unknown }>;
}
interface Results {
  floor: unknown[];
  failed: unknown[];
  results: Array<{ base: string; positions: StoredPosition[] }>;
}

function readResults(out: string): Results {
  return JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as Results;
}

/** The paired metrics of the quantized model: real numbers of the right sign, and no feature network behind any row. */
function expectPairedRows(r: Results): void {
  expect(r.failed).toEqual([]);
  expect(r.floor).toEqual([]);
  const positions = r.results[0].positions;
  expect(positions.map((p) => p.position)).toEqual(['baseline', 'final']);
  // The FP row has no paired metric (0 by definition); the quantized one has both.
  expect(positions[0].rows).toEqual([]);
  const rows = Object.fromEntries(positions[1].rows.map((row) => [row.metric, row]));
  expect(Object.keys(rows).sort()).toEqual(['sample-mse', 'sample-psnr']);
  expect(rows['sample-mse'].value).toBeGreaterThan(0);
  // PSNR with peak-to-peak 2 is 10·log10(4 / MSE).
  expect(rows['sample-psnr'].value).toBeCloseTo(10 * Math.log10(4 / rows['sample-mse'].value), 6);
  expect(positions[1].rows.every((row) => row.featureNet === null)).toBe(true);
}

describe('recipes on user data from the CLI', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-data-cli-'));
    writePngFolder(path.join(tmp, 'imgs'), 20, 8);
    writeCifarFile(path.join(tmp, 'cifar', 'data.bin'), 20);
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('trains a tiny RGB model on a PNG folder, quantizes it with ptq-naive and evaluates it without a feature network', async () => {
    const recipe = path.join(tmp, 'png.yaml');
    fs.writeFileSync(recipe, trainedRecipe('png-tiny', '{ dataset: png-folder, path: imgs, testFraction: 0.25 }'));
    const store = path.join(tmp, 'store');
    const out = path.join(tmp, 'run-png');
    const r = await startCli(['run', `--recipe=${recipe}`, `--store=${store}`, `--out=${out}`]).done;
    expect(r.stderr).not.toContain('FAILED');
    expect(r.code).toBe(0);
    // 20 images, a quarter held out: the model trains on the other 15.
    expect(r.stderr).toContain('training stage: 3 updates like unet-mnist-s-eps on png/imgs/train (15 images;');
    expectPairedRows(readResults(out));
    // The trained base model is an RGB 8 × 8 network, and the report's sample grid is drawn at that shape.
    const trained = fs.readdirSync(path.join(store, 'model')).map((k) => path.join(store, 'model', k)).find((d) => fs.existsSync(path.join(d, 'train-log.jsonl')));
    const unet = JSON.parse(readSafetensorsFile(path.join(trained as string, 'model.safetensors')).metadata['diffpress.unet']) as { inChannels: number; imageSize: number[] };
    expect([unet.inChannels, unet.imageSize]).toEqual([3, [8, 8]]);
    expect(fs.existsSync(path.join(out, 'samples', 'grid.png'))).toBe(true);

    // The same weights as a user checkpoint without metadata: the recipe's config says what it holds. The feature
    // network named does not exist: paired metrics alone never load one.
    const user = path.join(tmp, 'user.safetensors');
    writeSafetensorsFile(user, readSafetensorsFile(path.join(trained as string, 'model.safetensors')).tensors);
    const userRecipe = path.join(tmp, 'user.yaml');
    fs.writeFileSync(
      userRecipe,
      `name: user-model
data: { dataset: png-folder, path: imgs }
model:
  checkpoint: user.safetensors
  config: { unet: ${TINY_UNET}, schedule: { type: linear-beta }, prediction: eps }
${TAIL.replace('latency: false', 'latency: false, featureNet: no-such-network')}`,
    );
    const u = await startCli(['run', `--recipe=${userRecipe}`, `--store=${store}`, `--out=${path.join(tmp, 'run-user')}`]).done;
    expect(u.code).toBe(0);
    const results = readResults(path.join(tmp, 'run-user'));
    expectPairedRows(results);
    expect(results.results[0].base).toMatch(/^file:[0-9a-f]{64}\+config:[0-9a-f]{64}$/);
  }, 180_000);

  it('trains and quantizes the same way on a CIFAR-10 binary file, resized to 8 × 8', async () => {
    const recipe = path.join(tmp, 'cifar.yaml');
    fs.writeFileSync(recipe, trainedRecipe('cifar-tiny', '{ dataset: cifar10, path: cifar/data.bin, size: 8 }'));
    const out = path.join(tmp, 'run-cifar');
    const r = await startCli(['run', `--recipe=${recipe}`, `--store=${path.join(tmp, 'store-cifar')}`, `--out=${out}`]).done;
    expect(r.stderr).not.toContain('FAILED');
    expect(r.code).toBe(0);
    // Two records per label: round(0.2 · 2) = 0 of each is held out, so all 20 train.
    expect(r.stderr).toContain('training stage: 3 updates like unet-mnist-s-eps on cifar10/data/train (20 images;');
    expectPairedRows(readResults(out));
  }, 120_000);

  it('validate reports a missing data path, an empty folder, a corrupt checkpoint and a store that is a file, one line each', async () => {
    const corrupt = path.join(tmp, 'corrupt.safetensors');
    fs.writeFileSync(corrupt, Buffer.concat([Buffer.from([200, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a": 1}')]));
    const storeFile = path.join(tmp, 'store-file');
    fs.writeFileSync(storeFile, 'not a folder');
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, `name: bad
data: { dataset: png-folder, path: no-such-folder }
model: { checkpoint: corrupt.safetensors, config: { unet: ${TINY_UNET} } }
${TAIL}`);
    fs.mkdirSync(path.join(tmp, 'empty'));
    const empty = path.join(tmp, 'empty.yaml');
    fs.writeFileSync(empty, trainedRecipe('empty', '{ dataset: png-folder, path: empty }'));

    const v = await startCli(['validate', bad, empty, `--store=${storeFile}`]).done;
    expect(v.code).toBe(1);
    const lines = v.stderr.trim().split('\n');
    expect(lines).toEqual([
      `${bad}:2:36: data.path: ${path.join(tmp, 'no-such-folder')} does not exist`,
      `${bad}:3:22: model.checkpoint: unreadable checkpoint: invalid safetensors file '${corrupt}': header length 200 runs past the end of the file (16 bytes)`,
      `${bad}: --store: ${storeFile} is a file; the artifact store is a folder`,
      `${empty}:2:36: data.path: ${path.join(tmp, 'empty')}: no PNG files (subfolders are not read; set recursive: true)`,
      `${empty}: --store: ${storeFile} is a file; the artifact store is a folder`,
    ]);

    // A run stops at the same problems before any unit starts, and without the CLI's help text.
    const run = await startCli(['run', `--recipe=${bad}`, `--store=${storeFile}`]).done;
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual(lines.slice(0, 3));
    expect(run.stdout).toBe('');

    // Validation reads headers only; an image that cannot be decoded stops the whole run when the data is first
    // loaded (here by the training stage of the first unit), with one line and no help text.
    writePngFolder(path.join(tmp, 'broken'), 3, 8);
    const broken = path.join(tmp, 'broken', 'img-002.png');
    fs.writeFileSync(broken, Buffer.concat([fs.readFileSync(broken).subarray(0, 40), Buffer.alloc(10)]));
    const brokenRecipe = path.join(tmp, 'broken.yaml');
    fs.writeFileSync(brokenRecipe, trainedRecipe('broken', '{ dataset: png-folder, path: broken }'));
    const failed = await startCli(['run', `--recipe=${brokenRecipe}`, `--store=${path.join(tmp, 'store-broken')}`]).done;
    expect(failed.code).toBe(1);
    const last = failed.stderr.trim().split('\n');
    expect(last[last.length - 1]).toMatch(new RegExp(`^experiments: ${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot decode PNG`));
    expect(failed.stderr).not.toMatch(/unit 1\/1|Options:|--help/);
  }, 120_000);
});
