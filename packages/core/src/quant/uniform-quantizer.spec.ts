import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend';
import { withCallContext } from '../nn/call-context';
import { fakeQuantize } from './fake-quant';
import { minmaxParams } from './ranges';
import { UniformQuantizer } from './uniform-quantizer';

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
    // MSE: the best of the 80 shrunken ranges of the first batch by mean |x − Q(x)|^2.4 (brute force below); the
    // second, wider batch changes nothing.
    const first = Array.from({ length: 41 }, (_, i) => -1 + i / 20).concat([6]);
    const mse = new UniformQuantizer({ bits: 3 });
    mse.beginCalibration({ init: 'mse' });
    const [f, g] = [tf.tensor1d(first), tf.tensor1d([-20, 30])];
    tf.dispose([mse.forward(f), mse.forward(g)]);
    expect(mse.endCalibration()).toEqual([0]);
    let best = { score: Infinity, delta: NaN, zero: NaN };
    for (let i = 0; i < 80; i++) {
      const s = 1 - 0.01 * i;
      const { delta: [d], zero: [z] } = minmaxParams([-1 * s], [6 * s], 3, 'asymmetric');
      const score = first.reduce((acc, v) => acc + Math.abs(v - (Math.min(7, Math.max(0, Math.round(v / d) + z)) - z) * d) ** 2.4, 0) / first.length;
      if (score < best.score - 1e-12) best = { score, delta: d, zero: z };
    }
    expect(mse.delta.dataSync()[0]).toBeCloseTo(best.delta, 5);
    expect(mse.zero.dataSync()[0]).toBe(best.zero);
    // The outlier makes shrinking pay: the search did not keep the raw min-max range.
    expect(best.delta).toBeLessThan(7 / 7 - 1e-3);
    tf.dispose([a, b, f, g]);
    mm.dispose();
    ema.dispose();
    mse.dispose();
  });

  /** A per-step quantizer over 3 steps at model times 900, 500, 100 with Δ = 0.1, 0.25, 0.5 (z = 0). */
  function perStep(): UniformQuantizer {
    const q = new UniformQuantizer({ bits: 8, perStep: { modelTimes: [900, 500, 100], label: 'ddim-3' } });
    [0.1, 0.25, 0.5].forEach((d, s) => q.setParams({ delta: Float32Array.of(d), zero: Float32Array.of(0) }, s));
    return q;
  }

  it("a per-step quantizer quantizes each row with its own step's parameters", () => {
    const q = perStep();
    const x = tf.tensor2d([[0.74, 0.3], [0.74, 0.3], [0.74, 0.3]]);
    // Row 0, step 0 (Δ = 0.1): 7.4 → 7, 3 → 3; row 1, step 2 (Δ = 0.5): 1.48 → 1, 0.6 → 1; row 2, step 1 (Δ = 0.25): 2.96 → 3, 1.2 → 1.
    const y = withCallContext({ stepIndices: [0, 2, 1] }, () => q.forward(x));
    const got = Array.from(y.dataSync());
    [0.7, 0.3, 0.5, 0.5, 0.75, 0.25].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    // Row for row the same as one call per step.
    const separate = [0, 2, 1].map((s, r) => withCallContext({ stepIndices: [s] }, () => q.forward(x.slice([r, 0], [1, 2]))));
    const joined = tf.concat(separate);
    expect(Array.from(joined.dataSync())).toEqual(got);
    tf.dispose([x, y, joined, ...separate]);
    q.dispose();
  });

  it('refuses a tensor whose leading axis is not the call\'s rows (their steps would be guessed)', () => {
    const q = perStep();
    const x = tf.fill([4, 1], 0.3);
    expect(() => withCallContext({ stepIndices: [0, 2] }, () => q.forward(x))).toThrow(/leading size 4 in a call whose rows have 2 steps/);
    tf.dispose([x]);
    q.dispose();
  });

  it('looks the step up by model time without a sampler step, and refuses unknown times, bad steps and no context', () => {
    const q = perStep();
    const x = tf.tensor2d([[0.74], [0.74]]);
    const y = withCallContext({ modelTimes: () => [100, 900] }, () => q.forward(x));
    const got = Array.from(y.dataSync());
    [0.5, 0.7].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    // A sampler step wins over the times.
    const z = withCallContext({ modelTimes: () => [100, 900] }, () => withCallContext({ stepIndices: [1, 1] }, () => q.forward(x)));
    expect(z.dataSync()[0]).toBeCloseTo(0.75, 6);
    expect(() => withCallContext({ modelTimes: () => [123, 900] }, () => q.forward(x))).toThrow(/model time 123 is not one of the 3 steps of ddim-3/);
    expect(() => withCallContext({ stepIndices: [3, 0] }, () => q.forward(x))).toThrow(/step 3 is outside the 3 calibrated steps/);
    expect(() => q.forward(x)).toThrow(/no calibrated step selected: called outside a sampler step/);
    expect(() => new UniformQuantizer({ bits: 8, channels: 2, perStep: { modelTimes: [1], label: 'x' } })).toThrow(/cannot be combined/);
    tf.dispose([x, y, z]);
    q.dispose();
  });

  it('calibrates each step of a mixed-step call from its own rows only', () => {
    const q = new UniformQuantizer({ bits: 2, perStep: { modelTimes: [900, 100], label: 'ddim-2' } });
    q.beginCalibration({ init: 'minmax' });
    const x = tf.tensor2d([[0, 3], [0, 6], [0, 1.5]]);
    tf.dispose(withCallContext({ stepIndices: [0, 1, 0] }, () => q.forward(x)));
    expect(q.endCalibration()).toEqual([0, 1]);
    // Step 0 saw rows 0 and 2 (range [0, 3]): Δ = 1; step 1 saw row 1 (range [0, 6]): Δ = 2.
    const d = Array.from(q.delta.dataSync());
    expect(d[0]).toBeCloseTo(1, 6);
    expect(d[1]).toBeCloseTo(2, 6);
    x.dispose();
    q.dispose();
  });
});
