import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initEngine } from '../engine/backend';
import { SiLU } from '../nn/layers/activations';
import { SelfAttention } from '../nn/layers/attention';
import { Conv2d } from '../nn/layers/conv2d';
import { Module } from '../nn/module';
import { Rng } from '../random/seeded';
import { CHECKPOINT_METADATA, loadCheckpoint, readCheckpoint, saveCheckpoint } from './checkpoint';
import { readSafetensorsFile } from './safetensors';

class Net extends Module {
  readonly conv: Conv2d;
  readonly act = this.registerModule('act', new SiLU());
  readonly attn: SelfAttention;
  constructor(seed: number, channels = 4) {
    super();
    const rng = new Rng(seed);
    this.conv = this.registerModule('conv', new Conv2d(1, channels, 3, { rng }));
    this.attn = this.registerModule('attn', new SelfAttention(channels, { heads: 2, groups: 2, rng }));
    this.registerBuffer('steps', tf.tensor1d([7], 'int32'));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.attn.forward(this.act.forward(this.conv.forward(x))));
  }
}

describe('checkpoints', () => {
  let dir = '';
  beforeAll(async () => {
    await initEngine({ backend: 'cpu', quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffpress-ckpt-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const input = (): tf.Tensor => new Rng(99).normal([2, 5, 5, 1], 0, 1);

  it('save → load reproduces the forward output exactly and carries metadata', () => {
    const a = new Net(1);
    const b = new Net(2);
    const x = input();
    const file = path.join(dir, 'net.safetensors');
    saveCheckpoint(a, file, { metadata: { step: '123' } });
    expect(Array.from(b.forward(x).dataSync())).not.toEqual(Array.from(a.forward(x).dataSync()));
    const meta = loadCheckpoint(b, file);
    expect(Array.from(b.forward(x).dataSync())).toEqual(Array.from(a.forward(x).dataSync()));
    expect(meta).toEqual({ step: '123', [CHECKPOINT_METADATA.format]: '1', [CHECKPOINT_METADATA.module]: 'Net', [CHECKPOINT_METADATA.layout]: 'tfjs' });
    // The int32 buffer is stored as I32, float parameters as F32, with the conv kernel in tfjs layout.
    const raw = readSafetensorsFile(file).tensors;
    expect(raw.get('steps')?.dtype).toBe('I32');
    expect(raw.get('conv.weight')).toMatchObject({ dtype: 'F32', shape: [3, 3, 1, 4] });
    expect(fs.readdirSync(dir)).toEqual(['net.safetensors']);
    [a, b].forEach((m) => m.dispose());
  });

  it('F16 storage halves the float bytes and round-trips to half precision', () => {
    const a = new Net(3);
    const f32 = path.join(dir, 'f32.safetensors');
    const f16 = path.join(dir, 'f16.safetensors');
    saveCheckpoint(a, f32);
    saveCheckpoint(a, f16, { floatDtype: 'F16' });
    const { tensors } = readCheckpoint(f16);
    const w = tensors.get('conv.weight');
    if (w == null) throw new Error('conv.weight missing');
    const orig = a.conv.weight.dataSync();
    Array.from(w.dataSync()).forEach((v, i) => expect(Math.abs(v - orig[i])).toBeLessThanOrEqual(Math.abs(orig[i]) * 2 ** -11 + 1e-7));
    // Compare the tensor bytes, not the file sizes: the JSON header dominates a model this small.
    const dataBytes = (file: string): number => [...readSafetensorsFile(file).tensors.values()].reduce((n, t) => n + t.data.byteLength, 0);
    expect(dataBytes(f16)).toBe((dataBytes(f32) + 4) / 2); // the one I32 buffer keeps its 4 bytes
    tensors.forEach((t) => t.dispose());
    a.dispose();
  });

  it('a file that does not fit the module is a clear error naming the file and the first mismatches', () => {
    const file = path.join(dir, 'wide.safetensors');
    const wide = new Net(1, 8);
    saveCheckpoint(wide, file);
    const narrow = new Net(1, 4);
    const before = Array.from(narrow.conv.weight.dataSync());
    expect(() => loadCheckpoint(narrow, file)).toThrow(
      new RegExp(`from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} into Net: \\d+ mismatch\\(es\\): shape of 'conv\\.weight': module \\[3, 3, 1, 4\\], given \\[3, 3, 1, 8\\]`),
    );
    expect(Array.from(narrow.conv.weight.dataSync())).toEqual(before);
    expect(() => loadCheckpoint(narrow, path.join(dir, 'missing.safetensors'))).toThrow(/missing\.safetensors/);
    const tensors = tf.memory().numTensors;
    expect(() => loadCheckpoint(narrow, file)).toThrow();
    expect(tf.memory().numTensors).toBe(tensors);
    [wide, narrow].forEach((m) => m.dispose());
  });
});
