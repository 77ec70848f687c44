import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CIFAR10_RECORD_BYTES, encodePng, heldOutSplit, loadMnist } from '@diffpress/diffusion';
import { jsonDigest } from '@diffpress/eval';
import { DATA_SPLIT_SEED, floorSplit, isShippedData, loadRecipeData, recipeDataKey, recipeDataProblem, recipeDataShape } from './data';
import { RecipeData, dataSchema } from './schema';

function data(raw: Record<string, unknown>): RecipeData {
  return dataSchema.parse(raw);
}

describe('recipe data', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-recipe-data-'));
    fs.mkdirSync(path.join(tmp, 'imgs'));
    // Image i is a 4 × 4 RGB image of the value 10·i in every byte.
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(tmp, 'imgs', `${i}.png`), encodePng(new Uint8Array(4 * 4 * 3).fill(10 * i), 4, 4, 3));
    const records = new Uint8Array(4 * CIFAR10_RECORD_BYTES);
    // Record r: label r mod 2, every pixel byte r.
    for (let r = 0; r < 4; r++) records.fill(r, r * CIFAR10_RECORD_BYTES, (r + 1) * CIFAR10_RECORD_BYTES)[r * CIFAR10_RECORD_BYTES] = r % 2;
    fs.writeFileSync(path.join(tmp, 'four.bin'), records);
    fs.mkdirSync(path.join(tmp, 'empty'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('splits a PNG folder by the fixed seeded held-out split, and resizes and converts as asked', () => {
    const d = data({ dataset: 'png-folder', path: 'imgs', testFraction: 0.3, size: 2, channels: 1 });
    const test = loadRecipeData(d, 'test', tmp);
    const train = loadRecipeData(d, 'train', tmp);
    const rows = heldOutSplit(10, 0.3, DATA_SPLIT_SEED, 'png-folder-split');
    expect([test.size, train.size]).toEqual([3, 7]);
    expect([test.name, test.sampleShape]).toEqual(['png/imgs/test', [2, 2, 1]]);
    // Uniform images stay uniform under resize and luma: value 10·i/127.5 − 1.
    expect(Array.from(test.data.filter((_, k) => k % 4 === 0))).toEqual(rows.test.map((i) => Math.fround((10 * i) / 127.5 - 1)));
    expect(recipeDataShape(d, tmp)).toEqual([2, 2, 1]);
    expect(floorSplit(d)).toBe('test');
  });

  it('MNIST is the fixed split as shipped, named by dataset and split in keys', () => {
    const d = data({});
    expect(isShippedData(d)).toBe(true);
    expect(recipeDataKey(d, 'train', tmp)).toBe(jsonDigest({ dataset: 'mnist', split: 'train' }));
    expect(loadRecipeData(d, 'test', tmp).size).toBe(loadMnist({ split: 'test' }).size);
    const small = data({ size: [14, 14] });
    expect(isShippedData(small)).toBe(false);
    expect(recipeDataKey(small, 'train', tmp)).toBe(jsonDigest({ dataset: 'mnist', split: 'train', size: [14, 14] }));
    expect(recipeDataKey(data({ size: 14 }), 'train', tmp)).toBe(recipeDataKey(small, 'train', tmp));
    expect(recipeDataShape(small, tmp)).toEqual([14, 14, 1]);
  });

  it('keys files by their content: another image, another key; another split, another key', () => {
    const d = data({ dataset: 'png-folder', path: 'imgs' });
    const before = recipeDataKey(d, 'train', tmp);
    expect(recipeDataKey(d, 'test', tmp)).not.toBe(before);
    expect(recipeDataKey(data({ dataset: 'png-folder', path: 'imgs', testFraction: 0.5 }), 'train', tmp)).not.toBe(before);
    const file = path.join(tmp, 'imgs', '3.png');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, encodePng(new Uint8Array(4 * 4 * 3).fill(99), 4, 4, 3));
    expect(recipeDataKey(d, 'train', tmp)).not.toBe(before);
    fs.writeFileSync(file, bytes);
  });

  it('reads a single CIFAR-10 file as its own held-out split', () => {
    const d = data({ dataset: 'cifar10', path: 'four.bin', testFraction: 0.5 });
    // Two classes of two records: one of each is held out (stratified), as heldOutSplit draws them.
    const test = loadRecipeData(d, 'test', tmp);
    const rows = heldOutSplit(4, 0.5, DATA_SPLIT_SEED, 'cifar10-split', Int32Array.from([0, 1, 0, 1])).test;
    expect(Array.from(test.labels ?? [])).toEqual(rows.map((r) => r % 2));
    expect(rows.map((r) => r % 2).sort()).toEqual([0, 1]);
    expect([test.data[0], test.data[3072]]).toEqual(rows.map((r) => Math.fround(r / 127.5 - 1)));
    expect(loadRecipeData(d, 'train', tmp).size).toBe(2);
    expect(recipeDataShape(d, tmp)).toEqual([32, 32, 3]);
  });

  it('reads a PNG folder with subfolders and other files when the recipe says so, keyed by the files read', () => {
    const dir = path.join(tmp, 'nested');
    fs.mkdirSync(path.join(dir, 'a'), { recursive: true });
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dir, 'a', `${i}.png`), encodePng(new Uint8Array(4 * 4 * 3).fill(5 * i), 4, 4, 3));
    fs.writeFileSync(path.join(dir, 'README.txt'), 'about the images');
    expect(recipeDataProblem(data({ dataset: 'png-folder', path: 'nested' }), tmp)).toMatch(/are not PNGs \(README\.txt\); remove them or set ignoreOther: true/);
    expect(recipeDataProblem(data({ dataset: 'png-folder', path: 'nested', ignoreOther: true }), tmp)).toMatch(/no PNG files \(subfolders are not read; set recursive: true\)/);
    const d = data({ dataset: 'png-folder', path: 'nested', ignoreOther: true, recursive: true, testFraction: 0 });
    expect(recipeDataProblem(d, tmp)).toBeUndefined();
    expect(loadRecipeData(d, 'train', tmp).size).toBe(3);
    fs.writeFileSync(path.join(dir, 'a', '3.png'), encodePng(new Uint8Array(4 * 4 * 3).fill(99), 4, 4, 3));
    const before = recipeDataKey(d, 'train', tmp);
    fs.rmSync(path.join(dir, 'a', '3.png'));
    expect(recipeDataKey(d, 'train', tmp)).not.toBe(before);
    expect(() => data({ dataset: 'cifar10', path: 'four.bin', recursive: true })).toThrow(/recursive and ignoreOther are for png-folder/);
  });

  it('refuses a split that comes out empty', () => {
    const d = data({ dataset: 'png-folder', path: 'imgs', testFraction: 0 });
    expect(loadRecipeData(d, 'train', tmp).size).toBe(10);
    expect(() => loadRecipeData(d, 'test', tmp)).toThrow('png-folder imgs: the test split is empty (testFraction 0 of 10 images); add images or change testFraction');
  });

  it('says why data cannot be read, without reading images', () => {
    expect(recipeDataProblem(data({ dataset: 'png-folder', path: 'nowhere' }), tmp)).toBe(`${path.join(tmp, 'nowhere')} does not exist`);
    expect(recipeDataProblem(data({ dataset: 'png-folder', path: 'empty' }), tmp)).toBe(`${path.join(tmp, 'empty')}: no PNG files (subfolders are not read; set recursive: true)`);
    fs.writeFileSync(path.join(tmp, 'bad.bin'), new Uint8Array(5));
    expect(recipeDataProblem(data({ dataset: 'cifar10', path: 'bad.bin' }), tmp)).toMatch(/bad\.bin: 5 bytes is not a whole number of CIFAR-10 records/);
    expect(recipeDataProblem(data({ dataset: 'png-folder', path: 'imgs' }), tmp)).toBeUndefined();
    expect(recipeDataProblem(data({}), tmp)).toBeUndefined();
  });
});
