import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend';
import { fakeQuantize, quantLevels } from './fake-quant';
import { channelRange, minmaxParams, mseSearchParams } from './ranges';

describe('minmaxParams', () => {
  it('widens the range to include 0 before computing Δ and z (asymmetric)', () => {
    const a = minmaxParams([-1], [3], 2, 'asymmetric');
    expect(a.delta[0]).toBeCloseTo(4 / 3, 6);
    expect(a.zero[0]).toBe(1); // round(1 / (4/3)) = round(0.75)
    const pos = minmaxParams([0.5], [2], 4, 'asymmetric');
    expect(pos.delta[0]).toBeCloseTo(2 / 15, 6);
    expect(pos.zero[0]).toBe(0);
  });

  it('symmetric and unsigned grids have z = 0', () => {
    const s = minmaxParams([-1], [3], 4, 'symmetric');
    expect(s.delta[0]).toBeCloseTo(3 / 7, 6);
    expect(s.zero[0]).toBe(0);
    const u = minmaxParams([0], [0.9], 4, 'unsigned');
    expect(u.delta[0]).toBeCloseTo(0.06, 6);
    expect(u.zero[0]).toBe(0);
  });

  it('keeps a positive Δ for an all-zero channel', () => {
    expect(minmaxParams([0], [0], 8, 'asymmetric').delta[0]).toBeGreaterThan(0);
  });
});

describe('range init on tensors', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

  it('does not clip all-positive tensors (the bug of Q-Diffusion\'s Δ from the raw range)', () => {
    const values = Array.from({ length: 16 }, (_, i) => 0.5 + (1.5 * i) / 15);
    const x = tf.tensor1d(values);
    const r = channelRange(x, false);
    const p = minmaxParams(r.min, r.max, 4, 'asymmetric');
    const q = fakeQuantize(x, tf.tensor1d(p.delta), tf.tensor1d(p.zero), quantLevels(4, 'asymmetric'));
    const err = Math.max(...Array.from(tf.abs(tf.sub(x, q)).dataSync()));
    expect(err).toBeLessThanOrEqual(p.delta[0] / 2 + 1e-6);
    tf.dispose([x, q]);
  });

  it('channelRange reduces over all axes but the last per channel', () => {
    const x = tf.tensor4d([1, -2, 3, 4, -5, 6, 7, 8], [2, 1, 2, 2]);
    const r = channelRange(x, true);
    expect(Array.from(r.min)).toEqual([-5, -2]);
    expect(Array.from(r.max)).toEqual([7, 8]);
    x.dispose();
  });

  it('mseSearchParams picks, per channel, the candidate with the lowest mean |x − Q(x)|^2.4 (brute-force reference)', () => {
    // Channel 0: uniform values with one outlier (shrinking pays); channel 1: uniform values only.
    const rows = 200;
    const data = new Float32Array(rows * 2);
    for (let i = 0; i < rows; i++) {
      data[2 * i] = -1 + (2 * i) / (rows - 1);
      data[2 * i + 1] = -1 + (2 * ((i * 37) % rows)) / (rows - 1);
    }
    data[0] = 12;
    const x = tf.tensor2d(data, [rows, 2]);
    const got = mseSearchParams(x, 4, 'asymmetric', { perChannel: true });
    const levels = quantLevels(4, 'asymmetric');
    for (let c = 0; c < 2; c++) {
      const col = Array.from({ length: rows }, (_, i) => data[2 * i + c]);
      const mn = Math.min(...col);
      const mx = Math.max(...col);
      let best = { score: Infinity, delta: 0 };
      for (let i = 0; i < 80; i++) {
        const s = 1 - 0.01 * i;
        const p = minmaxParams([mn * s], [mx * s], 4, 'asymmetric');
        const d = p.delta[0];
        const z = p.zero[0];
        const score = col.reduce((acc, v) => {
          const q = (Math.min(levels.hi, Math.max(levels.lo, Math.round(v / d) + z)) - z) * d;
          return acc + Math.abs(v - q) ** 2.4;
        }, 0) / rows;
        if (score < best.score - 1e-12) best = { score, delta: d };
      }
      expect(got.delta[c]).toBeCloseTo(best.delta, 5);
    }
    // The outlier channel shrinks below its raw range; the uniform one stays near it.
    expect(got.delta[0]).toBeLessThan(13 / 15);
    expect(got.delta[1]).toBeGreaterThan(0.8 * (2 / 15));
    x.dispose();
  });
});
