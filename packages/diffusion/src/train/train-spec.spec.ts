import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine } from '@diffpress/core';
import { ShippedModelSpec, shippedModelSpec } from '../models/shipped';
import { loadEmaWeights, trainSpec } from './train-spec';

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
});
