import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine } from '@diffpress/core';
import { ArrayDataset } from '../data/dataset';
import { ShippedModelSpec, shippedModelSpec } from '../models/shipped';
import { UNetConfig } from '../unet/config';
import { loadEmaWeights, trainSpec } from './train-spec';

/** `n` RGB 8 × 8 images whose pixels are a fixed function of (image, pixel, offset), in [−1, 1]. */
function rgbImages(n: number, offset: number): ArrayDataset {
  const data = Float32Array.from({ length: n * 8 * 8 * 3 }, (_, i) => Math.sin(i * 0.37 + offset));
  return { name: `rgb-${offset}`, sampleShape: [8, 8, 3], size: n, data };
}

describe('trainSpec', () => {
  let tmp: string;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-trainspec-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const spec: ShippedModelSpec = { ...shippedModelSpec('unet-mnist-s-eps'), steps: 2, batchSize: 4, lr: { lr: 1e-3, decay: 'constant' } };
  const quiet = { checkpointEvery: 1, validateEvery: 0, log: () => undefined };

  it('an interrupted run resumed gives the same EMA weights as an uninterrupted one', async () => {
    const whole = path.join(tmp, 'whole');
    const { result } = await trainSpec(spec, { dir: whole, ...quiet });
    expect(result).toMatchObject({ step: 2, finished: true });
    const split = path.join(tmp, 'split');
    expect((await trainSpec(spec, { dir: split, ...quiet, stopAfter: 1 })).result).toMatchObject({ step: 1, finished: false });
    expect((await trainSpec(spec, { dir: split, ...quiet })).result).toMatchObject({ step: 2, finished: true });
    const a = loadEmaWeights(spec, whole);
    const b = loadEmaWeights(spec, split);
    expect(a.step).toBe(2);
    expect(a.unet.training).toBe(false);
    const wb = new Map(b.unet.namedParameters());
    for (const [name, v] of a.unet.namedParameters()) expect(v.dataSync()).toEqual(wb.get(name)?.dataSync());
    a.unet.dispose();
    b.unet.dispose();
    expect(() => loadEmaWeights(spec, path.join(tmp, 'none'))).toThrow(/no checkpoint/);
  }, 120_000);

  const tinyRgb: UNetConfig = { inChannels: 3, outChannels: 3, imageSize: 8, baseChannels: 8, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [], groups: 4 };
  const rgbSpec: ShippedModelSpec = { ...spec, id: 'tiny-rgb', data: 'rgb/train', unet: tinyRgb, steps: 3 };

  it('trains a spec with its own UNet config on the given images, validating on the given held-out ones', async () => {
    const dir = path.join(tmp, 'rgb-a');
    await trainSpec(rgbSpec, { ...quiet, dir, validateEvery: 3, train: rgbImages(8, 0), heldOut: rgbImages(4, 9) });
    const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; validation?: { heldOutLoss: number } });
    expect(log.map((e) => e.step)).toEqual([1, 2, 3]);
    expect(log[2].validation?.heldOutLoss).toBeGreaterThan(0);
    // The same seed on other images gives other weights: the batches are the given images'.
    const other = path.join(tmp, 'rgb-b');
    await trainSpec(rgbSpec, { ...quiet, dir: other, train: rgbImages(8, 1) });
    const a = loadEmaWeights(rgbSpec, dir);
    const b = loadEmaWeights(rgbSpec, other);
    expect(a.unet.plan.config.inChannels).toBe(3);
    const stem = (u: typeof a.unet): number[] => Array.from(u.namedParameters().find(([n]) => n.startsWith('stem'))?.[1].dataSync() ?? []);
    expect(stem(a.unet)).not.toEqual(stem(b.unet));
    a.unet.dispose();
    b.unet.dispose();
  }, 120_000);

  it('refuses images that do not fit the UNet, before building it', async () => {
    await expect(trainSpec(rgbSpec, { ...quiet, dir: path.join(tmp, 'gray'), train: { ...rgbImages(1, 0), sampleShape: [8, 8, 1], size: 3 } })).rejects.toThrow(
      'rgb-0 has samples [8, 8, 1], but the UNet takes [8, 8, 3] and gives 3 channels (eps prediction needs 1)',
    );
  });
});
