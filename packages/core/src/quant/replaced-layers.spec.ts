import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend';
import { Conv2d } from '../nn/layers/conv2d';
import { Linear } from '../nn/layers/linear';
import { Sequential } from '../nn/layers/sequential';
import { AnyModule, Module } from '../nn/module';
import { WeightLayer, copyModuleInto, isWeightLayer } from './replaced-layers';

/** A test wrapper: the inner conv's output times a learned scale (a buffer here), copyable. */
class ScaledConv extends Module implements WeightLayer {
  readonly inner: Conv2d;
  readonly scale: tf.Variable;

  constructor(inner: Conv2d) {
    super();
    this.inner = this.registerModule('inner', inner);
    this.scale = this.registerBuffer('scale', tf.scalar(1));
  }

  get weight(): tf.Variable {
    return this.inner.weight;
  }

  forwardWith(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(this.inner.forwardWith(x, w), this.scale));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return this.forwardWith(x, this.weight);
  }

  copyModule(): AnyModule {
    const c = this.inner;
    return new ScaledConv(new Conv2d(c.inChannels, c.outChannels, c.kernelSize, { stride: c.stride, padding: c.padding })) as unknown as AnyModule;
  }
}

/** A wrapper that cannot be copied. */
class Opaque extends Module {
  constructor(readonly inner: AnyModule) {
    super();
    this.registerModule('inner', inner);
  }

  forward(x: tf.Tensor): tf.Tensor {
    return (this.inner as unknown as Module).forward(x);
  }
}

const net = (): Sequential => new Sequential(new Conv2d(2, 3, 3), new Conv2d(3, 2, 1));

describe('layer replacement', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

  it('recognises conv, linear and wrappers that expose a weight as weight layers', () => {
    const conv = new Conv2d(1, 1, 1);
    expect([conv, new Linear(2, 2), new ScaledConv(conv)].map(isWeightLayer)).toEqual([true, true, true]);
    expect([new Opaque(conv as unknown as AnyModule), null, {}].map(isWeightLayer)).toEqual([false, false, false]);
  });

  it('copies a model whose layer was wrapped: same output, variables of its own', () => {
    const source = net();
    const wrapped = new ScaledConv(source.getModule('0') as unknown as Conv2d);
    tf.tidy(() => wrapped.scale.assign(tf.scalar(3)));
    source.replace('0', wrapped as unknown as AnyModule);
    const copy = net();
    copyModuleInto(source as unknown as AnyModule, copy as unknown as AnyModule);
    expect(copy.getModule('0')).toBeInstanceOf(ScaledConv);
    const x = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 1);
    const [a, b] = [source.forward(x), copy.forward(x)];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    // Independent: changing the copy leaves the source alone.
    const before = Array.from(wrapped.scale.dataSync());
    tf.tidy(() => (copy.getModule('0') as unknown as ScaledConv).scale.assign(tf.scalar(-1)));
    expect(Array.from(wrapped.scale.dataSync())).toEqual(before);
    tf.dispose([x, a, b]);
    copy.dispose();
    source.dispose();
  });

  it('names a replaced module that cannot be copied', () => {
    const source = net();
    source.replace('1', new Opaque(source.getModule('1')) as unknown as AnyModule);
    const copy = net();
    expect(() => copyModuleInto(source as unknown as AnyModule, copy as unknown as AnyModule)).toThrow(/cannot copy '1' \(Opaque\): it replaced a Conv2d.*copyModule\(\)/);
    copy.dispose();
    source.dispose();
  });
});
