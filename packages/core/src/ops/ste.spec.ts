import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend';
import { approxSign, clampSTE, gradScale, lsqGradScale, roundSTE, signSTE } from './ste';

/** Forward values and d(Σ w·f(x))/dx for fixed weights w, so the gradient is not just the all-ones case. */
function valueAndGrad(f: (x: tf.Tensor) => tf.Tensor, x: number[], w: number[]): { y: number[]; g: number[] } {
  return tf.tidy(() => {
    const xt = tf.tensor1d(x);
    const wt = tf.tensor1d(w);
    const y = Array.from(f(xt).dataSync());
    const g = Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), wt)))(xt).dataSync());
    return { y, g };
  });
}

describe.each(['cpu', 'wasm'] as const)('STE ops on %s', (backend) => {
  beforeAll(() => initEngine({ backend, quiet: true }));
  const w = [1, 2, 3, 4, 5, 6, 7];

  it('roundSTE rounds half to even and passes gradients straight through', () => {
    const { y, g } = valueAndGrad(roundSTE, [-1.5, -0.5, 0.4, 0.5, 1.5, 2.5, 2.6], w);
    // Backends differ on the sign of a rounded −0.5; adding 0 folds −0 into 0.
    expect(y.map((v) => v + 0)).toEqual([-2, 0, 0, 0, 2, 2, 3]);
    expect(g).toEqual(w);
  });

  it('signSTE has sign(0) = 0 and the clipped-identity gradient with |x| = 1 included', () => {
    const { y, g } = valueAndGrad(signSTE, [-2, -1, -0.3, 0, 0.7, 1, 1.0001], w);
    expect(y).toEqual([-1, -1, -1, 0, 1, 1, 1]);
    expect(g).toEqual([0, 2, 3, 4, 5, 6, 0]);
  });

  it('approxSign has the piecewise-quadratic gradient 2 ± 2x on (−1, 1)', () => {
    const x = [-1.5, -1, -0.75, -0.25, 0, 0.5, 1];
    const { y, g } = valueAndGrad(approxSign, x, w);
    expect(y).toEqual([-1, -1, -1, -1, 0, 1, 1]);
    // 2 + 2x on [−1, 0): −0.75 → 0.5, −0.25 → 1.5; 2 − 2x on [0, 1): 0 → 2, 0.5 → 1; 0 at and beyond ±1.
    const expected = [0, 0, 0.5 * 3, 1.5 * 4, 2 * 5, 1 * 6, 0];
    g.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it('gradScale is the identity forward and scales the gradient', () => {
    const { y, g } = valueAndGrad((a) => gradScale(a, 0.25), [1, -2, 3, 0, 5, 6, 7], w);
    expect(y).toEqual([1, -2, 3, 0, 5, 6, 7]);
    expect(g).toEqual(w.map((v) => v * 0.25));
  });

  it('lsqGradScale is 1/sqrt(N·Qp)', () => {
    expect(lsqGradScale(16, 4)).toBeCloseTo(1 / 8, 12);
    expect(() => lsqGradScale(0, 7)).toThrow(/positive/);
  });

  it('clampSTE clamps and passes the gradient inside [lo, hi] only, bounds included', () => {
    const { y, g } = valueAndGrad((a) => clampSTE(a, -1, 2), [-3, -1, -0.5, 0, 2, 2.5, 9], w);
    expect(y).toEqual([-1, -1, -0.5, 0, 2, 2, 2]);
    expect(g).toEqual([0, 2, 3, 4, 5, 0, 0]);
    expect(() => clampSTE(tf.scalar(0), 1, 0)).toThrow(/must not exceed/);
  });

  it('a quantize-dequantize chain composes: d/dx of clamp(round(x/s))·s', () => {
    const s = 0.5;
    const { y, g } = valueAndGrad((a) => tf.mul(clampSTE(roundSTE(tf.div(a, s)), -4, 3), s), [-3, -0.6, 0.2, 0.8, 1.3, 1.6, 2], w);
    // x/s = [−6, −1.2, 0.4, 1.6, 2.6, 3.2, 4] → round [−6, −1, 0, 2, 3, 3, 4] → clamp [−4, −1, 0, 2, 3, 3, 3]
    expect(y).toEqual([-2, -0.5, 0, 1, 1.5, 1.5, 1.5]);
    // Gradient 1 where round(x/s) lies inside [−4, 3], else 0.
    expect(g).toEqual([0, 2, 3, 4, 5, 6, 0]);
  });

  it('does not leak tensors', () => {
    valueAndGrad(approxSign, [0.1, 0.2], [1, 1]);
    const before = tf.memory().numTensors;
    valueAndGrad(approxSign, [0.1, 0.2], [1, 1]);
    valueAndGrad((a) => clampSTE(roundSTE(a), 0, 1), [0.1, 0.2], [1, 1]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
