import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend';
import { Rng } from '../random/seeded';
import { manualSeed } from './init';
import { SiLU } from './layers/activations';
import { Conv2d } from './layers/conv2d';
import { GroupNorm } from './layers/group-norm';
import { Linear } from './layers/linear';
import { Sequential } from './layers/sequential';
import { AnyModule, Module } from './module';

class Block extends Module {
  readonly conv1: Conv2d;
  readonly norm: GroupNorm;
  readonly act = this.registerModule('act', new SiLU());
  constructor(c: number, rng: Rng) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(c, c, 3, { rng }));
    this.norm = this.registerModule('norm', new GroupNorm(2, c));
    this.registerBuffer('calls', tf.scalar(0));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.act.forward(this.norm.forward(this.conv1.forward(x)));
  }
}

class Net extends Module {
  readonly stem: Conv2d;
  readonly blocks: Sequential;
  readonly head: Linear;
  constructor(seed = 1) {
    super();
    const rng = new Rng(seed);
    this.stem = this.registerModule('stem', new Conv2d(1, 4, 3, { rng }));
    this.blocks = this.registerModule('blocks', new Sequential(new Block(4, rng), new Block(4, rng)));
    this.head = this.registerModule('head', new Linear(4, 2, { rng }));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.head.forward(tf.mean(this.blocks.forward(this.stem.forward(x)), [1, 2])));
  }
}

/** Multiplies its input by a constant: a stand-in replacement whose effect is easy to predict. */
class Scale extends Module {
  constructor(readonly s: number) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, this.s);
  }
}

describe('Module', () => {
  beforeAll(() => initEngine({ backend: 'cpu', quiet: true }));
  const x = (): tf.Tensor => tf.tidy(() => new Rng(9).normal([2, 5, 5, 1], 0, 1));

  it('names modules, parameters and buffers by dotted path', () => {
    const net = new Net();
    expect(net.namedModules().map(([p]) => p)).toEqual([
      '', 'stem', 'blocks', 'blocks.0', 'blocks.0.act', 'blocks.0.conv1', 'blocks.0.norm',
      'blocks.1', 'blocks.1.act', 'blocks.1.conv1', 'blocks.1.norm', 'head',
    ]);
    expect(net.namedParameters().map(([p]) => p)).toEqual([
      'stem.weight', 'stem.bias',
      'blocks.0.conv1.weight', 'blocks.0.conv1.bias', 'blocks.0.norm.gamma', 'blocks.0.norm.beta',
      'blocks.1.conv1.weight', 'blocks.1.conv1.bias', 'blocks.1.norm.gamma', 'blocks.1.norm.beta',
      'head.weight', 'head.bias',
    ]);
    expect(net.namedBuffers().map(([p]) => p)).toEqual(['blocks.0.calls', 'blocks.1.calls']);
    // 1·4·9+4, 2·(4·4·9+4 + 4+4), 4·2+2
    expect(net.numParameters()).toBe(40 + 2 * 156 + 10);
    net.dispose();
  });

  it('rejects duplicate and dotted names', () => {
    class Bad extends Module {
      constructor(name: string, twice: boolean) {
        super();
        this.registerModule(name, new SiLU());
        if (twice) this.registerParameter(name, tf.zeros([1]));
      }
      forward(t: tf.Tensor): tf.Tensor {
        return t;
      }
    }
    expect(() => new Bad('a.b', false)).toThrow(/no dots/);
    expect(() => new Bad('a', true)).toThrow(/already registered/);
  });

  it('train()/eval() propagate to every descendant', () => {
    const net = new Net();
    net.eval();
    expect(net.namedModules().every(([, m]) => !m.training)).toBe(true);
    net.train();
    expect(net.namedModules().every(([, m]) => m.training)).toBe(true);
    net.dispose();
  });

  it('replace swaps the child, updates the field and changes forward', () => {
    const net = new Net();
    const input = x();
    const before = net.forward(input);
    const old = net.replace('head', new Scale(1) as unknown as AnyModule);
    expect(old).toBeInstanceOf(Linear);
    expect(net.getModule('head')).toBeInstanceOf(Scale);
    expect(net.head).toBeInstanceOf(Scale);
    expect(net.forward(input).shape).toEqual([2, 4]);
    net.replace('head', old);
    expect(Array.from(net.forward(input).dataSync())).toEqual(Array.from(before.dataSync()));

    // Inside a Sequential, a replaced child takes effect at the next call: scaling after the last block by 0 gives
    // the head's bias alone.
    net.replace('blocks.1.act', new Sequential(new SiLU(), new Scale(0)) as unknown as AnyModule);
    const y = net.forward(input);
    const bias = net.head.bias?.dataSync() ?? [];
    expect(Array.from(y.dataSync())).toEqual([...Array.from(bias), ...Array.from(bias)]);
    expect(() => net.replace('blocks.7.act', old)).toThrow(/'blocks' has no child '7' \(children: 0, 1\)/);
    expect(() => net.replace('', old)).toThrow(/root/);
    tf.dispose([input, before, y]);
    net.dispose();
  });

  it('select finds modules by glob, with exclusions and a type filter', () => {
    const net = new Net();
    const paths = (ps: Array<[string, unknown]>): string[] => ps.map(([p]) => p);
    expect(paths(net.select('blocks.*.conv1'))).toEqual(['blocks.0.conv1', 'blocks.1.conv1']);
    expect(paths(net.select('**', { where: (m) => m instanceof Conv2d }))).toEqual(['stem', 'blocks.0.conv1', 'blocks.1.conv1']);
    expect(paths(net.select('**', { exclude: ['stem', 'head', 'blocks.1.**'], where: (m) => m instanceof Conv2d || m instanceof Linear }))).toEqual([
      'blocks.0.conv1',
    ]);
    expect(paths(net.select(['head', 'blocks.?.norm']))).toEqual(['blocks.0.norm', 'blocks.1.norm', 'head']);
    net.dispose();
  });

  it('state dict round trip reproduces the forward output exactly', () => {
    const a = new Net(1);
    const b = new Net(2);
    const input = x();
    const ya = a.forward(input);
    const yb = b.forward(input);
    expect(Array.from(yb.dataSync())).not.toEqual(Array.from(ya.dataSync()));
    b.loadStateDict(a.stateDict());
    expect(Array.from(b.forward(input).dataSync())).toEqual(Array.from(ya.dataSync()));
    a.dispose();
    b.dispose();
  });

  it('loadStateDict names the first mismatches and changes nothing on failure', () => {
    const net = new Net(1);
    const dict = new Map<string, tf.Tensor>(net.stateDict());
    const before = Array.from(net.stem.weight.dataSync());
    dict.delete('head.bias');
    dict.set('stem.weight', tf.zeros([3, 3, 1, 5]));
    dict.set('extra.weight', tf.zeros([1]));
    let message = '';
    try {
      net.loadStateDict(dict, { source: 'ckpt.safetensors' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/from ckpt\.safetensors/);
    expect(message).toMatch(/missing 'head\.bias' \[2\]/);
    expect(message).toMatch(/unexpected 'extra\.weight' \[1\]/);
    expect(message).toMatch(/shape of 'stem\.weight': module \[3, 3, 1, 4\], given \[3, 3, 1, 5\]/);
    expect(Array.from(net.stem.weight.dataSync())).toEqual(before);
    // Non-strict mode skips names missing on either side but still checks shapes.
    dict.set('stem.weight', net.stem.weight);
    expect(() => net.loadStateDict(dict, { strict: false })).not.toThrow();
    net.dispose();
  });

  it('manualSeed makes default initialisation reproducible', () => {
    manualSeed(5);
    const a = new Linear(3, 2);
    manualSeed(5);
    const b = new Linear(3, 2);
    const c = new Linear(3, 2);
    expect(Array.from(a.weight.dataSync())).toEqual(Array.from(b.weight.dataSync()));
    expect(Array.from(c.weight.dataSync())).not.toEqual(Array.from(b.weight.dataSync()));
    // PyTorch's bound 1/√fanIn.
    expect(Math.max(...Array.from(a.weight.dataSync()).map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(3));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('dispose frees every variable', () => {
    const before = tf.memory().numTensors;
    const net = new Net();
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
