import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend';
import { quantLevels } from './fake-quant';
import { lsqInitStep, lsqQuantize } from './lsq';

describe('LSQ', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));
  // Signed 4-bit (Qn = −8, Qp = 7), s = 0.5: x/s = [0.6, −4, 10, 2.52] → clamp [0.6, −4, 7, 2.52] → round [1, −4, 7, 3].
  const x = [0.3, -2, 5, 1.26];
  const levels = quantLevels(4, 'symmetric');

  it('initialises the step at 2·mean|x|/√Qp', () => {
    const t = tf.tensor1d([1, -3]);
    expect(lsqInitStep(t, 7)).toBeCloseTo(4 / Math.sqrt(7), 6);
    t.dispose();
  });

  it('computes round(clamp(x/s, Qn, Qp))·s', () => {
    const y = tf.tidy(() => Array.from(lsqQuantize(tf.tensor1d(x), tf.scalar(0.5), levels).dataSync()));
    expect(y).toEqual([0.5, -2, 3.5, 1.5]);
  });

  it('passes the input gradient inside [Qn, Qp] and gives s the scaled LSQ gradient', () => {
    const { gx, gs } = tf.tidy(() => {
      const w = tf.tensor1d([1, 2, 3, 4]);
      const fx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(lsqQuantize(a, tf.scalar(0.5), levels), w)));
      const fs = tf.grad((s: tf.Tensor) => tf.sum(lsqQuantize(tf.tensor1d(x), s, levels)));
      return { gx: Array.from(fx(tf.tensor1d(x)).dataSync()), gs: fs(tf.scalar(0.5)).dataSync()[0] };
    });
    expect(gx).toEqual([1, 2, 0, 4]);
    // Σ (round(v) − v) inside, Qp where clamped: 0.4 + 0 + 7 + 0.48 = 7.88, times g = 1/√(4·7).
    expect(gs).toBeCloseTo(7.88 / Math.sqrt(28), 5);
  });
});
