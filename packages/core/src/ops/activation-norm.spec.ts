import * as tf from '@tensorflow/tfjs';
import { groupNormOp, silu } from './activation-norm';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

function maxRel(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1e-12, tf.max(tf.abs(b)).dataSync()[0]));
}

/** Reference group norm by autodiff of the textbook formula. */
function reference(x: tf.Tensor, groups: number, gamma: tf.Tensor | null, beta: tf.Tensor | null, eps: number): tf.Tensor {
  const c = x.shape[x.rank - 1];
  const g = x.reshape([x.shape[0], -1, groups, c / groups]);
  const { mean, variance } = tf.moments(g, [1, 3], true);
  const y = tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, eps))).reshape(x.shape);
  return gamma && beta ? tf.add(tf.mul(y, gamma), beta) : y;
}

describe('silu', () => {
  it('matches x·sigmoid(x) and its derivative s(1 + x(1 − s)) at hand-picked points', () => {
    const x = tf.tensor1d([-3, -1, 0, 0.5, 2]);
    const s = (v: number): number => 1 / (1 + Math.exp(-v));
    const want = [-3, -1, 0, 0.5, 2].map((v) => v * s(v));
    const dwant = [-3, -1, 0, 0.5, 2].map((v) => s(v) * (1 + v * (1 - s(v))));
    silu(x).dataSync().forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    tf.grad((a: tf.Tensor) => silu(a))(x).dataSync().forEach((v, i) => expect(v).toBeCloseTo(dwant[i], 6));
  });
});

describe('groupNormOp', () => {
  it('normalises each (sample, group) to zero mean and unit variance: hand-computed 1×1×2×2 case', () => {
    // One sample, two pixels, two channels, one group: values 1, 3, 5, 7 → mean 4, var 5.
    const x = tf.tensor4d([1, 3, 5, 7], [1, 1, 2, 2]);
    const y = groupNormOp(x, 1, null, null, 0).dataSync();
    const s = Math.sqrt(5);
    [-3 / s, -1 / s, 1 / s, 3 / s].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 6));
  });

  it.each([
    [1, [2, 4, 4, 6]],
    [3, [2, 3, 5, 6]],
    [2, [3, 5, 8]],
  ])('forward and gradients (x, γ, β) equal autodiff of the textbook formula, %i groups, shape %j', (groups, shape) => {
    const c = shape[shape.length - 1];
    const x = tf.randomNormal(shape, 0.3, 2, 'float32', 7);
    const gamma = tf.randomNormal([c], 1, 0.2, 'float32', 8);
    const beta = tf.randomNormal([c], 0, 0.2, 'float32', 9);
    const w = tf.randomNormal(shape, 0, 1, 'float32', 10); // random cotangent
    const loss = (f: typeof groupNormOp) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, groups, g, b, 1e-5), w));
    expect(maxRel(groupNormOp(x, groups, gamma, beta, 1e-5), reference(x, groups, gamma, beta, 1e-5))).toBeLessThan(1e-5);
    const got = tf.grads(loss(groupNormOp))([x, gamma, beta]);
    const want = tf.grads(loss(reference))([x, gamma, beta]);
    got.forEach((g, i) => expect(maxRel(g, want[i])).toBeLessThan(1e-4));
    const gotNoAffine = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(groupNormOp(a, groups, null, null, 1e-5), w)))(x);
    const wantNoAffine = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(reference(a, groups, null, null, 1e-5), w)))(x);
    expect(maxRel(gotNoAffine, wantNoAffine)).toBeLessThan(1e-4);
  });

  it('rejects a channel count the groups do not divide, and gamma without beta', () => {
    expect(() => groupNormOp(tf.zeros([1, 2, 2, 6]), 4, null, null, 1e-5)).toThrow(/6 channels cannot be split into 4 groups/);
    expect(() => groupNormOp(tf.zeros([1, 2, 2, 4]), 2, tf.ones([4]), null, 1e-5)).toThrow(/both gamma and beta/);
  });
});
