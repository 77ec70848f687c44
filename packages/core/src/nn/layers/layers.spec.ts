import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../engine/backend';
import { Rng } from '../../random/seeded';
import { Identity, SiLU } from './activations';
import { SelfAttention } from './attention';
import { Conv2d } from './conv2d';
import { Dropout } from './dropout';
import { GroupNorm } from './group-norm';
import { Linear } from './linear';
import { ModuleList } from './module-list';
import { Downsample, Upsample } from './resample';

const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const close = (got: number[], want: number[], tol = 1e-5): void => {
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThanOrEqual(tol));
};

describe.each(['cpu', 'wasm'] as const)('layers on %s', (backend) => {
  beforeAll(() => initEngine({ backend, quiet: true }));
  const rng = (): Rng => new Rng(3);

  it('Conv2d: NHWC, [kh, kw, in, out] kernel, bias, and DDPM-style stride-2 padding', () => {
    const conv = new Conv2d(1, 1, 3, { stride: 2, rng: rng() });
    conv.weight.assign(tf.ones([3, 3, 1, 1]));
    conv.bias?.assign(tf.tensor1d([0.5]));
    // x[i, j] = 4i + j on a 4×4 map; 'same' with stride 2 pads one row/column at the bottom/right only, so the
    // windows are rows/cols {0,1,2} and {2,3}: (0,0) = 0+1+2+4+5+6+8+9+10 = 45, (0,1) = 2+3+6+7+10+11 = 39,
    // (1,0) = 8+9+10+12+13+14 = 66, (1,1) = 10+11+14+15 = 50; plus the bias 0.5.
    const x = tf.range(0, 16).reshape([1, 4, 4, 1]);
    const y = conv.forward(x);
    expect(y.shape).toEqual([1, 2, 2, 1]);
    close(arr(y), [45.5, 39.5, 66.5, 50.5]);
    const valid = new Conv2d(1, 2, [2, 3], { padding: 'valid', bias: false, rng: rng() });
    expect(valid.bias).toBeNull();
    expect(valid.forward(x).shape).toEqual([1, 3, 2, 2]);
    conv.dispose();
    valid.dispose();
  });

  it('Linear: y = x·W + b on the last axis of any rank', () => {
    const lin = new Linear(2, 3, { rng: rng() });
    lin.weight.assign(tf.tensor2d([[1, 2, 3], [4, 5, 6]]));
    lin.bias?.assign(tf.tensor1d([0.5, 0, -1]));
    const y = lin.forward(tf.tensor3d([[[1, 0], [0, 1]], [[1, 1], [2, -1]]]));
    expect(y.shape).toEqual([2, 2, 3]);
    close(arr(y), [1.5, 2, 2, 4.5, 5, 5, 5.5, 7, 8, -1.5, -1, -1]);
    lin.dispose();
  });

  it('GroupNorm normalises each (sample, group) over positions and the group channels', () => {
    const gn = new GroupNorm(2, 4, { eps: 0 });
    // One sample, 2 positions, 4 channels; group 0 = channels 0–1: values 1, 3, 5, 7 → mean 4, var 5.
    const x = tf.tensor4d([1, 3, 10, 10, 5, 7, 10, 14], [1, 1, 2, 4]);
    const s = Math.sqrt(5);
    const y = gn.forward(x);
    // group 1 = channels 2–3: 10, 10, 10, 14 → mean 11, var 3.
    const t = Math.sqrt(3);
    close(arr(y), [-3 / s, -1 / s, -1 / t, -1 / t, 1 / s, 3 / s, -1 / t, 3 / t], 1e-5);
    gn.gamma?.assign(tf.tensor1d([2, 2, 1, 1]));
    gn.beta?.assign(tf.tensor1d([1, 1, 0, 0]));
    close(arr(gn.forward(x)).slice(0, 2), [1 - 6 / s, 1 - 2 / s], 1e-5);
    expect(() => new GroupNorm(3, 4)).toThrow(/cannot be split/);
    gn.dispose();
  });

  it('SiLU is x·sigmoid(x)', () => {
    close(arr(new SiLU().forward(tf.tensor1d([0, 1, -2]))), [0, 0.7310586, -2 / (1 + Math.exp(2))]);
    expect(arr(new Identity().forward(tf.tensor1d([3])))).toEqual([3]);
  });

  it('SelfAttention with zero queries averages the values over all pixels, per head', () => {
    const att = new SelfAttention(4, { heads: 2, groups: 2, rng: rng() });
    att.q.weight.assign(tf.zeros([4, 4]));
    att.q.bias?.assign(tf.zeros([4]));
    for (const lin of [att.v, att.proj]) {
      lin.weight.assign(tf.eye(4));
      lin.bias?.assign(tf.zeros([4]));
    }
    const x = new Rng(4).normal([2, 3, 2, 4], 0, 1);
    // Uniform attention → every pixel receives the mean of norm(x) over its sample's pixels, added to x.
    const hn = att.norm.forward(x);
    const expected = tf.add(x, tf.broadcastTo(tf.mean(hn, [1, 2], true), x.shape));
    close(arr(att.forward(x)), arr(expected), 1e-5);
    expect(new SelfAttention(8, { headChannels: 4, groups: 4, rng: rng() }).heads).toBe(2);
    expect(() => new SelfAttention(6, { heads: 4 })).toThrow(/heads/);
    att.dispose();
  });

  it('Upsample repeats each pixel 2×2; Downsample halves by stride-2 conv or 2×2 average', () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const up = new Upsample(1, { withConv: false });
    expect(up.conv).toBeNull();
    expect(arr(up.forward(x))).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    expect(new Upsample(1, { rng: rng() }).forward(x).shape).toEqual([1, 4, 4, 1]);
    const pool = new Downsample(1, { mode: 'avgpool' });
    close(arr(pool.forward(tf.range(0, 16).reshape([1, 4, 4, 1]))), [2.5, 4.5, 10.5, 12.5]);
    expect(new Downsample(3, { rng: rng() }).forward(tf.zeros([2, 7, 6, 3])).shape).toEqual([2, 4, 3, 3]);
  });

  it('Dropout: identity in eval, inverted scaling and seeded masks in training', () => {
    const x = tf.ones([1000]);
    const d = new Dropout(0.25, { rng: new Rng(11) });
    d.eval();
    expect(d.forward(x)).toBe(x);
    d.train();
    const y = arr(d.forward(x));
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    expect(Math.abs(kept.length / 1000 - 0.75)).toBeLessThan(0.05);
    expect(arr(new Dropout(0.25, { rng: new Rng(11) }).forward(x))).toEqual(y);
    expect(() => new Dropout(1)).toThrow(/rate/);
    // Default generators: distinct masks per layer.
    expect(arr(new Dropout(0.5).forward(x))).not.toEqual(arr(new Dropout(0.5).forward(x)));
    // reseed(): the masks depend only on the generator given, not on earlier draws.
    const e = new Dropout(0.25, { rng: new Rng(99) });
    e.forward(x);
    e.reseed(new Rng(11));
    expect(arr(e.forward(x))).toEqual(y);
  });

  it('ModuleList: indexed children with stable paths, read at call time', () => {
    const list = new ModuleList([new Linear(2, 2, { rng: new Rng(1) }), new Linear(2, 3, { rng: new Rng(2) })]);
    expect(list.length).toBe(2);
    expect(list.namedParameters().map(([p]) => p)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    const swapped = new Linear(2, 5, { rng: new Rng(3) });
    list.replace('1', swapped);
    expect(list.at(1)).toBe(swapped);
    expect(list.toArray()[1]).toBe(swapped);
    expect(() => list.at(2)).toThrow(/index 2 outside \[0, 2\)/);
    expect(() => list.forward()).toThrow(/no forward/);
  });
});
