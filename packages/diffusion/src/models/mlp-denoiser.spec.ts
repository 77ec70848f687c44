import * as tf from '@tensorflow/tfjs';
import { Linear, Rng } from '@diffpress/core';
import { MlpDenoiser } from './mlp-denoiser';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const silu = (x: number): number => x * sigmoid(x);

/** Sets a Linear's weight `[in, out]` and bias `[out]`. */
function setLinear(m: Linear, weight: number[][], bias: number[]): void {
  tf.tidy(() => {
    m.weight.assign(tf.tensor2d(weight));
    m.bias?.assign(tf.tensor1d(bias));
  });
}

describe('MlpDenoiser', () => {
  it('has the documented paths and parameter count (E+1)H + (H+1)H + (d+1)H + 2D(H+1)H + (H+1)d', () => {
    const net = new MlpDenoiser({ rng: new Rng(0, 'init') });
    // Defaults d = 2, H = 128, E = 64, D = 3: 8320 + 16512 + 384 + 6·16512 + 258 = 124546.
    expect(net.numParameters()).toBe(124546);
    expect(net.namedModules().map(([p]) => p)).toEqual([
      '',
      'time',
      'time.linear1',
      'time.linear2',
      'input',
      'blocks',
      'blocks.0',
      'blocks.0.linear',
      'blocks.0.time',
      'blocks.1',
      'blocks.1.linear',
      'blocks.1.time',
      'blocks.2',
      'blocks.2.linear',
      'blocks.2.time',
      'output',
    ]);
    expect(net.getModule('time.linear1')).toBeInstanceOf(Linear);
    // time 2 + input 1 + blocks 2·3 + output 1.
    expect(net.select('**', { where: (m) => m instanceof Linear }).map(([p]) => p)).toHaveLength(10);
    expect(net.stateDict().get('blocks.1.time.weight')?.shape).toEqual([128, 128]);
    net.dispose();

    // A non-square configuration tells the terms apart: d = 3, H = 10, E = 6, D = 2:
    // 7·10 + 11·10 + 4·10 + 2·2·11·10 + 11·3 = 70 + 110 + 40 + 440 + 33 = 693.
    const small = new MlpDenoiser({ dataDim: 3, hidden: 10, depth: 2, timeEmbedDim: 6 });
    expect(small.numParameters()).toBe(693);
    small.dispose();
  });

  it('computes output(SiLU(h)) with h = input(x) + blocks (hand-set weights), shape [n, d], no leaks', () => {
    const net = new MlpDenoiser({ dataDim: 1, hidden: 1, depth: 1, timeEmbedDim: 2 });
    setLinear(net.time.linear1, [[0.5], [2]], [-1]);
    setLinear(net.time.linear2, [[1]], [0]);
    setLinear(net.input, [[1.5]], [0.5]);
    const block = net.blocks.at(0);
    setLinear(block.linear, [[2]], [0]);
    setLinear(block.time, [[-1]], [0.25]);
    setLinear(net.output, [[1]], [0]);
    // With dim 2 the embedding of t is [sin t, cos t]: t = 0 → [0, 1], so linear1 gives 0·0.5 + 1·2 − 1 = 1.
    const tembAct = silu(silu(1));
    const ref = (x: number): number => {
      const h = 1.5 * x + 0.5;
      return silu(h + 2 * silu(h) + (-tembAct + 0.25));
    };
    const x = tf.tensor2d([[2], [-1]]);
    const t = tf.tensor1d([0, 0]);
    const before = tf.memory().numTensors;
    const y = net.forward(x, t);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(y.shape).toEqual([2, 1]);
    const got = Array.from(y.dataSync());
    [ref(2), ref(-1)].forEach((want, i) => expect(got[i]).toBeCloseTo(want, 5));
    tf.dispose([x, t, y]);
    net.dispose();
  });

  it('initialises deterministically from rng and rejects bad shapes and sizes', () => {
    const a = new MlpDenoiser({ hidden: 8, depth: 1, timeEmbedDim: 4, rng: new Rng(5, 'init') });
    const b = new MlpDenoiser({ hidden: 8, depth: 1, timeEmbedDim: 4, rng: new Rng(5, 'init') });
    for (const [name, v] of a.stateDict()) expect(Array.from(v.dataSync())).toEqual(Array.from(b.stateDict().get(name)?.dataSync() ?? []));
    // Each layer draws from its own fork, so two same-shaped layers differ.
    expect(Array.from(a.blocks.at(0).linear.weight.dataSync())).not.toEqual(Array.from(a.blocks.at(0).time.weight.dataSync()));
    const x = tf.zeros([3, 2]);
    const t = tf.zeros([3]);
    const bad = tf.zeros([3, 3]);
    const t2 = tf.zeros([2]);
    expect(() => a.forward(bad, t)).toThrow('MlpDenoiser: x must be [n, 2], got [3, 3]');
    expect(() => a.forward(x, t2)).toThrow('MlpDenoiser: t must be [3] (one timestep per row of x), got [2]');
    tf.dispose([x, t, bad, t2]);
    a.dispose();
    b.dispose();
    expect(() => new MlpDenoiser({ hidden: 0 })).toThrow('MlpDenoiser: hidden must be an integer ≥ 1, got 0');
    expect(() => new MlpDenoiser({ timeEmbedDim: 1 })).toThrow(/timeEmbedDim must be an integer ≥ 2/);
  });

  it('fits a fixed tiny regression target: 200 Adam steps cut the loss by ≥ 5×', () => {
    const start = tf.memory().numTensors;
    const net = new MlpDenoiser({ hidden: 32, depth: 1, timeEmbedDim: 16, rng: new Rng(1, 'init') });
    const rng = new Rng(2, 'data');
    const n = 64;
    const x = rng.normal([n, 2]);
    const t = tf.tensor1d(Array.from({ length: n }, () => rng.int(1000)));
    // A smooth target that depends on both inputs and on time.
    const target = tf.tidy(() => {
      const s = tf.div(t, 1000).reshape([n, 1]);
      return tf.add(tf.mul(tf.sin(x), tf.sub(1, s)), tf.mul(tf.reverse(x, 1), s));
    });
    const loss = (): tf.Scalar => tf.tidy(() => tf.losses.meanSquaredError(target, net.forward(x, t)) as tf.Scalar);
    const lossValue = (): number => {
      const l = loss();
      const v = l.dataSync()[0];
      l.dispose();
      return v;
    };
    const initial = lossValue();
    const optimizer = tf.train.adam(1e-2);
    const vars = net.trainableVariables();
    for (let step = 0; step < 200; step++) {
      const l = optimizer.minimize(loss, true, vars);
      l?.dispose();
    }
    const final = lossValue();
    expect(final).toBeLessThan(initial / 5);
    optimizer.dispose();
    tf.dispose([x, t, target]);
    net.dispose();
    expect(tf.memory().numTensors).toBe(start);
    // ~5 s on a busy 2-core machine; the explicit limit keeps a slow CI from flagging it.
  }, 30_000);
});
