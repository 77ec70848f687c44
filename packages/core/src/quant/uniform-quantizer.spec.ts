import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { fakeQuantize } from './fake-quant';
import { StepState, UniformQuantizer } from './quantizer';

describe('UniformQuantizer', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

  it('quantizes with its buffers and is the identity when disabled', () => {
    const q = new UniformQuantizer({ bits: 4, channels: 2 });
    q.setParams({ delta: Float32Array.of(0.5, 0.25), zero: Float32Array.of(2, 0) });
    const x = tf.tensor2d([[0.26, 0.3], [-1, -0.1]]);
    const y = q.forward(x);
    const ref = fakeQuantize(x, tf.tensor1d([0.5, 0.25]), tf.tensor1d([2, 0]), { lo: 0, hi: 15 });
    expect(Array.from(y.dataSync())).toEqual(Array.from(ref.dataSync()));
    q.enabled = false;
    expect(q.forward(x)).toBe(x);
    expect([...q.stateDict().keys()]).toEqual(['delta', 'zero']);
    tf.dispose([x, y, ref]);
    q.dispose();
  });

  it('calibrates min-max over the batches it sees, EMA with momentum, or by MSE search on the first batch', () => {
    const a = tf.tensor1d([0, 1]);
    const b = tf.tensor1d([-1, 3]);
    const mm = new UniformQuantizer({ bits: 2 });
    mm.beginCalibration({ init: 'minmax' });
    tf.dispose([mm.forward(a), mm.forward(b)]);
    expect(mm.endCalibration()).toEqual([0]);
    expect(mm.delta.dataSync()[0]).toBeCloseTo(4 / 3, 6);
    const ema = new UniformQuantizer({ bits: 2 });
    ema.beginCalibration({ init: 'ema', momentum: 0.95 });
    tf.dispose([ema.forward(a), ema.forward(b)]);
    ema.endCalibration();
    // Range [−0.05, 1.1] → Δ = 1.15/3.
    expect(ema.delta.dataSync()[0]).toBeCloseTo(1.15 / 3, 5);
    expect(ema.calibrating).toBe(false);
    tf.dispose([a, b]);
    mm.dispose();
    ema.dispose();
  });

  it('a per-step quantizer uses the parameters of the current step and refuses to run without one', () => {
    const state: StepState = { current: null };
    const q = new UniformQuantizer({ bits: 8, steps: 3, stepState: state });
    q.setParams({ delta: Float32Array.of(0.1), zero: Float32Array.of(0) }, 0);
    q.setParams({ delta: Float32Array.of(0.5), zero: Float32Array.of(0) }, 2);
    const x = tf.tensor1d([0.74]);
    state.current = 0;
    expect(q.forward(x).dataSync()[0]).toBeCloseTo(0.7, 6);
    state.current = 2;
    expect(q.forward(x).dataSync()[0]).toBeCloseTo(0.5, 6);
    state.current = null;
    state.miss = 'model time 3 is not one of the 3 steps';
    expect(() => q.forward(x)).toThrow(/model time 3 is not one of the 3 steps/);
    state.current = 3;
    expect(() => q.forward(x)).toThrow(/outside the 3 calibrated steps/);
    expect(() => new UniformQuantizer({ bits: 8, steps: 2 })).toThrow(/stepState/);
    x.dispose();
    q.dispose();
  });
});
