import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend';
import { Rng } from '../random/seeded';
import { SiLU } from './layers/activations';
import { SelfAttention } from './layers/attention';
import { Conv2d } from './layers/conv2d';
import { GroupNorm } from './layers/group-norm';
import { Downsample, Upsample } from './layers/resample';
import { Module } from './module';

/** A miniature UNet: every layer kind the diffusion UNet uses, including a concatenated skip. */
class TinyUNet extends Module {
  readonly stem: Conv2d;
  readonly enc: Conv2d;
  readonly encNorm: GroupNorm;
  readonly act: SiLU;
  readonly down: Downsample;
  readonly mid: SelfAttention;
  readonly up: Upsample;
  readonly dec: Conv2d;
  readonly decNorm: GroupNorm;
  readonly out: Conv2d;
  constructor(rng: Rng) {
    super();
    this.stem = this.registerModule('stem', new Conv2d(1, 8, 3, { rng }));
    this.enc = this.registerModule('enc', new Conv2d(8, 8, 3, { rng }));
    this.encNorm = this.registerModule('encNorm', new GroupNorm(4, 8));
    this.act = this.registerModule('act', new SiLU());
    this.down = this.registerModule('down', new Downsample(8, { rng }));
    this.mid = this.registerModule('mid', new SelfAttention(8, { heads: 2, groups: 4, rng }));
    this.up = this.registerModule('up', new Upsample(8, { rng }));
    this.dec = this.registerModule('dec', new Conv2d(16, 8, 3, { rng }));
    this.decNorm = this.registerModule('decNorm', new GroupNorm(4, 8));
    this.out = this.registerModule('out', new Conv2d(8, 1, 3, { rng }));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const skip = this.act.forward(this.encNorm.forward(this.enc.forward(this.stem.forward(x))));
      const h = this.up.forward(this.mid.forward(this.down.forward(skip)));
      const d = this.act.forward(this.decNorm.forward(this.dec.forward(tf.concat([h, skip], -1))));
      return this.out.forward(d);
    });
  }
}

describe('training on wasm with the composed kernels', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

  it('a small conv net with norm, attention, resampling and skips learns, with a flat tensor count', () => {
    const rng = new Rng(21);
    const net = new TinyUNet(rng);
    // Task: predict a fixed smooth target from a fixed input (a denoising-like regression).
    const x = rng.normal([8, 8, 8, 1], 0, 1);
    const target = tf.tidy(() => tf.tanh(tf.avgPool(tf.pad(x as tf.Tensor4D, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 1, 'valid')));
    const opt = tf.train.adam(3e-3);
    const losses: number[] = [];
    const counts = new Map<number, number>();
    for (let step = 1; step <= 200; step++) {
      const cost = opt.minimize(() => tf.losses.meanSquaredError(target, net.forward(x)) as tf.Scalar, true, net.trainableVariables());
      if (cost == null) throw new Error('minimize returned no cost');
      losses.push(cost.dataSync()[0]);
      cost.dispose();
      if (step === 10 || step === 200) counts.set(step, tf.memory().numTensors);
    }
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(0.3 * first);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(counts.get(200)).toBe(counts.get(10));
    opt.dispose();
    net.dispose();
    tf.dispose([x, target]);
  });
});
