import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend';
import { fakeQuantize, quantLevels } from './fake-quant';

describe('quantLevels', () => {
  it('gives the integer grids of the spec', () => {
    expect(quantLevels(4, 'asymmetric')).toEqual({ lo: 0, hi: 15 });
    expect(quantLevels(4, 'symmetric')).toEqual({ lo: -8, hi: 7 });
    expect(quantLevels(8, 'unsigned')).toEqual({ lo: 0, hi: 255 });
    expect(() => quantLevels(0, 'asymmetric')).toThrow(/1…16/);
  });
});

describe('fakeQuantize', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));
  // 4-bit asymmetric, Δ = 0.5, z = 2: x/Δ = [0.52, −2, 18, 2.5, −3]; round (ties to even) = [1, −2, 18, 2, −3];
  // + z = [3, 0, 20, 4, −1]; clamp to [0, 15] = [3, 0, 15, 4, 0]; (· − z)·Δ = [0.5, −1, 6.5, 1, −1].
  const x = [0.26, -1, 9, 1.25, -1.5];
  const levels = quantLevels(4, 'asymmetric');

  it('computes (clamp(round(x/Δ) + z, lo, hi) − z)·Δ', () => {
    const y = tf.tidy(() => Array.from(fakeQuantize(tf.tensor1d(x), tf.scalar(0.5), tf.scalar(2), levels).dataSync()));
    expect(y).toEqual([0.5, -1, 6.5, 1, -1]);
  });

  it('passes the input gradient straight through inside [lo, hi] (bounds included) and blocks it outside', () => {
    const g = tf.tidy(() => {
      const w = tf.tensor1d([1, 2, 3, 4, 5]);
      return Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(fakeQuantize(a, tf.scalar(0.5), tf.scalar(2), levels), w)))(tf.tensor1d(x)).dataSync());
    });
    // x = 9 lands at 20 > 15 and x = −1.5 at −1 < 0: clamped, zero gradient; x = −1 lands exactly on lo = 0.
    expect(g).toEqual([1, 2, 0, 4, 0]);
  });

  it('gives a trainable Δ the LSQ gradient: q − z − x/Δ inside the range, lo − z or hi − z outside', () => {
    // One Δ per element (a per-channel quantizer over a [1, 5] tensor), so each gradient is read separately.
    const g = tf.tidy(() => Array.from(tf.grad((d: tf.Tensor) => tf.sum(fakeQuantize(tf.tensor2d([x]), d, tf.scalar(2), levels)))(tf.fill([5], 0.5)).dataSync()));
    const expected = [1 - 0.52, -2 - -2, 15 - 2, 2 - 2.5, 0 - 2];
    g.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  });

  it('applies a per-channel Δ and z along the last axis (tfjs kernels keep output channels there)', () => {
    // A [2, 3] "linear weight": channel c of the last axis uses Δ[c], z[c].
    const y = tf.tidy(() => {
      const w = tf.tensor2d([[0.3, 0.3, 0.3], [-0.3, -0.3, -0.3]]);
      return Array.from(fakeQuantize(w, tf.tensor1d([0.2, 0.25, 1]), tf.tensor1d([1, 2, 0]), levels).dataSync());
    });
    // 0.3/0.2 = 1.5 → 2 (even) → 0.4; 0.3/0.25 = 1.2 → 1 → 0.25; 0.3/1 → 0 → 0.
    // −0.3/0.2 = −1.5 → −2 (+1 = −1 → clamped to 0) → (0 − 1)·0.2 = −0.2; −1.2 → −1 → −0.25; −0.3 → −0 + 0 → 0.
    [0.4, 0.25, 0, -0.2, -0.25, 0].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 6));
  });
});
