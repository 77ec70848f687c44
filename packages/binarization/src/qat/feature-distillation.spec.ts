import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { FeatureDistiller, pcaProjection } from './feature-distillation';

describe('feature distillation', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('the LRM projection is orthonormal, of rank ⌈C/4⌉, and spans the leading principal directions', () => {
    // Features [n, h, w, 6] = offset + Σ_i c_i·s_i·e_i with standard deviations s = (5, 3, 1, 0.1, 0.1, 0.1) along
    // the axes of a fixed rotation: the top ⌈6/4⌉ = 2 components are e_0 and e_1.
    const n = 4000;
    const rot = tf.tidy(() => tf.linalg.qr(tf.randomNormal([6, 6], 0, 1, 'float32', 11))[0]);
    const feats = tf.tidy(() => {
      const c = tf.mul(tf.randomNormal([n, 6], 0, 1, 'float32', 12), tf.tensor1d([5, 3, 1, 0.1, 0.1, 0.1]));
      return tf.add(tf.matMul(c, rot, false, true), 7).reshape([10, 20, 20, 6]);
    });
    const k = pcaProjection(feats, 'channel', 4);
    expect(k.shape).toEqual([6, 2]);
    const gram = tf.tidy(() => tf.matMul(k, k, true, false));
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(gram, tf.eye(2)))).dataSync()[0])).toBeLessThan(1e-5);
    // |⟨k_j, e_j⟩| ≈ 1 for the two leading directions (columns of the rotation), largest first.
    const overlap = tf.tidy(() => tf.abs(tf.matMul(k, rot.slice([0, 0], [6, 2]), true, false)).dataSync());
    expect(overlap[0]).toBeGreaterThan(0.999);
    expect(overlap[3]).toBeGreaterThan(0.999);
    expect(pcaProjection(feats, 'channel', 1).shape).toEqual([6, 6]);
    // The width option projects the spatial width (20 → ⌈20/4⌉ = 5).
    const kw = pcaProjection(feats, 'width', 4);
    expect(kw.shape).toEqual([20, 5]);
    tf.dispose([rot, feats, k, gram, kw]);
  });

  it('LRM loss = λ·mean_i mean(((F_s − F_t)·K_i)²); plain MSE = λ·mean_i mean((F_s − F_t)²)', () => {
    const t = { a: tf.randomNormal([2, 3, 3, 8], 0, 1, 'float32', 1), b: tf.randomNormal([2, 2, 2, 4], 0, 1, 'float32', 2) };
    const s = { a: tf.add(t.a, tf.randomNormal([2, 3, 3, 8], 0, 0.5, 'float32', 3)), b: tf.add(t.b, 1), out: tf.zeros([1]) };
    const lrm = new FeatureDistiller({ kind: 'lrm', lambda: 0.5, axis: 'channel', factor: 4 });
    lrm.fit(t);
    expect(lrm.ranks()).toEqual({ a: [8, 2], b: [4, 1] });
    const expected = tf.tidy(() => {
      const term = (name: 'a' | 'b'): tf.Tensor => {
        const k = lrm.projection(name) as tf.Tensor2D;
        const d = tf.sub(s[name], t[name]).reshape([-1, k.shape[0]]) as tf.Tensor2D;
        return tf.mean(tf.square(tf.matMul(d, k)));
      };
      return tf.mul(tf.add(term('a'), term('b')), 0.5 / 2).dataSync()[0];
    });
    expect(lrm.loss(s, t).dataSync()[0]).toBeCloseTo(expected, 6);
    const mse = new FeatureDistiller({ kind: 'mse', lambda: 2, axis: 'channel', factor: 4 });
    const expectedMse = tf.tidy(() => tf.mul(tf.add(tf.mean(tf.square(tf.sub(s.a, t.a))), 1), 2 / 2).dataSync()[0]);
    expect(mse.loss(s, t).dataSync()[0]).toBeCloseTo(expectedMse, 5);
    expect(new FeatureDistiller({ kind: 'none', lambda: 1, axis: 'channel', factor: 4 }).active).toBe(false);
    const unfitted = new FeatureDistiller({ kind: 'lrm', lambda: 1, axis: 'channel', factor: 4 });
    expect(() => unfitted.loss(s, t)).toThrow(/no LRM projection for block 'a'/);
    lrm.dispose();
    tf.dispose([...Object.values(t), ...Object.values(s)]);
  });
});
