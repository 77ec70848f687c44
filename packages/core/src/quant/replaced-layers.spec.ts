import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend';
import { manualSeed } from '../nn/init';
import { Conv2d } from '../nn/layers/conv2d';
import { Linear } from '../nn/layers/linear';
import { Sequential } from '../nn/layers/sequential';
import { AnyModule, Module } from '../nn/module';
import { WeightLayer, WeightLayerWrapper, copyModuleInto, freshLayerLike, isWeightLayer } from './replaced-layers';

/** A test wrapper: the inner conv's output times a scale (a buffer). */
class ScaledConv extends WeightLayerWrapper {
  readonly scale = this.registerBuffer('scale', tf.scalar(1));

  forwardWith(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(this.inner.forwardWith(x, w), this.scale));
  }

  protected rewrap(inner: WeightLayer & AnyModule): ScaledConv {
    return new ScaledConv(inner);
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
    expect([conv, new Linear(2, 2), new ScaledConv(conv as unknown as Conv2d & AnyModule)].map(isWeightLayer)).toEqual([true, true, true]);
    expect([new Opaque(conv as unknown as AnyModule), null, {}].map(isWeightLayer)).toEqual([false, false, false]);
  });

  it('copies a model whose layer was wrapped: same output, variables of its own', () => {
    const source = net();
    const wrapped = new ScaledConv(source.getModule('0') as unknown as Conv2d & AnyModule);
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

  it('builds fresh layers with the same settings, leaving the shared generator alone', () => {
    const conv = new Conv2d(3, 5, [3, 1], { stride: 2, padding: 'valid', bias: false });
    const fresh = freshLayerLike(conv as unknown as AnyModule) as unknown as Conv2d;
    expect(fresh).toBeInstanceOf(Conv2d);
    expect([fresh.inChannels, fresh.outChannels, fresh.kernelSize, fresh.stride, fresh.padding, fresh.bias]).toEqual([3, 5, [3, 1], [2, 2], 'valid', null]);
    expect(fresh.weight).not.toBe(conv.weight);
    const lin = freshLayerLike(new Linear(4, 2) as unknown as AnyModule) as unknown as Linear;
    expect([lin.inFeatures, lin.outFeatures, lin.bias?.shape]).toEqual([4, 2, [2]]);
    expect(() => freshLayerLike(new Opaque(conv as unknown as AnyModule) as unknown as AnyModule)).toThrow(/neither a Conv2d, a Linear nor copyable/);
    // The shared generator is where it was: the next default-initialised layer is the one it would have been.
    const next = (copyFirst: boolean): number[] => {
      manualSeed(7);
      if (copyFirst) (freshLayerLike(conv as unknown as AnyModule) as unknown as Conv2d).dispose();
      const c = new Conv2d(1, 1, 1);
      const values = Array.from(c.weight.dataSync());
      c.dispose();
      return values;
    };
    expect(next(true)).toEqual(next(false));
    [conv, fresh, lin].forEach((m) => m.dispose());
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
