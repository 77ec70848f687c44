import * as tf from '@tensorflow/tfjs';
import { UniformQuantizer, channelRange, initEngine, minmaxParams } from '@diffpress/core';
import { AdamW } from '@diffpress/diffusion';
import { AdaRound, adaRoundBeta, adaRoundRegularizerOn, unsaturatedShare } from './adaround';

function setup(values: number[], shape: [number, number], bits = 4): { w: tf.Tensor; q: UniformQuantizer } {
  const w = tf.tensor2d(values, shape);
  const q = new UniformQuantizer({ bits, channels: shape[1] });
  const r = channelRange(w, true);
  q.setParams(minmaxParams(r.min, r.max, bits, 'asymmetric'));
  return { w, q };
}

describe('AdaRound', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));
  const values = [0.13, -0.71, 0.42, 0.05, -0.2, 0.9, -0.33, 0.61, 0.27, -0.88, 0.74, -0.06];

  it('starts with h(α) = frac(w/Δ), so its hard rounding is round-to-nearest', () => {
    const { w, q } = setup(values, [4, 3]);
    const a = new AdaRound(w, q);
    const h = a.h().dataSync();
    const scaled = tf.div(w, q.delta).dataSync();
    scaled.forEach((s, i) => expect(h[i]).toBeCloseTo(s - Math.floor(s), 5));
    const hard = a.hardWeight();
    const rtn = q.forward(w);
    // No value sits exactly on .5, where round-to-nearest (ties to even) and h ≥ 0.5 could disagree.
    expect(Array.from(hard.dataSync())).toEqual(Array.from(rtn.dataSync()));
    tf.dispose([w, hard, rtn]);
    a.dispose();
    q.dispose();
  });

  it('after optimisation rounds every weight down or up (never further), per its learned bit', () => {
    const { w, q } = setup(values, [4, 3]);
    const a = new AdaRound(w, q);
    // Pull the soft weights towards an arbitrary target so that some roundings flip.
    const target = tf.tensor2d(values.map((v, i) => v + (i % 2 === 0 ? 0.08 : -0.08)), [4, 3]);
    const opt = new AdamW();
    for (let it = 0; it < 200; it++) {
      const { value, grads } = tf.variableGrads(() => tf.add(tf.sum(tf.square(tf.sub(a.forward(), target))), tf.mul(0.01, a.regularizer(adaRoundBeta(it, { iters: 200 })))) as tf.Scalar, [a.alpha]);
      opt.apply(new Map([['a', a.alpha]]), new Map([['a', grads[a.alpha.name]]]), 0.05);
      tf.dispose([value, ...Object.values(grads)]);
    }
    const hard = a.hardWeight().dataSync();
    const d = q.delta.dataSync();
    const z = q.zero.dataSync();
    const up = tf.greaterEqual(a.alpha, 0).dataSync();
    let flips = 0;
    values.forEach((v, i) => {
      const c = i % 3;
      const fl = Math.floor(v / d[c]);
      const k = Math.min(15, Math.max(0, fl + up[i] + z[c])) - z[c];
      expect(hard[i]).toBeCloseTo(k * d[c], 6);
      expect([fl, fl + 1]).toContain(Math.round(hard[i] / d[c]));
      if (up[i] !== (v / d[c] - fl >= 0.5 ? 1 : 0)) flips++;
    });
    expect(flips).toBeGreaterThan(0);
    tf.dispose([w, target]);
    opt.dispose();
    a.dispose();
    q.dispose();
  });

  it('regulariser: 0 at h ∈ {0, 1}, 1 per weight at h = 0.5; gradients reach α through the soft weights', () => {
    const { w, q } = setup([0, 1, 0.5, 0.25], [4, 1], 2);
    const a = new AdaRound(w, q);
    a.alpha.assign(tf.tensor2d([-50, 50, 0, 0], [4, 1])); // h = 0, 1, 0.5, 0.5
    expect(a.regularizer(2).dataSync()[0]).toBeCloseTo(2, 5);
    const g = tf.variableGrads(() => tf.sum(a.forward()) as tf.Scalar, [a.alpha]);
    const ga = g.grads[a.alpha.name].dataSync();
    expect(ga[0]).toBeCloseTo(0, 6); // h saturated at 0: clamp blocks the gradient
    expect(Math.abs(ga[2])).toBeGreaterThan(0);
    tf.dispose([w, g.value, ...Object.values(g.grads)]);
    a.dispose();
    q.dispose();
  });

  it('counts h(α) strictly inside (0.01, 0.99) as unsaturated, over several tensors', () => {
    const a = setup([0.1, 0.2, 0.3, 0.4, 0.5], [5, 1], 4);
    const b = setup([0.1, 0.2, 0.3], [3, 1], 4);
    const ra = new AdaRound(a.w, a.q);
    const rb = new AdaRound(b.w, b.q);
    // h = clamp(1.2·σ(α) − 0.1, 0, 1): α = ±50 → 0 / 1 (clamped); σ(α) = 0.0875 → h = 0.005; σ(α) = 0.9125 → h = 0.995;
    // α = 0 → h = 0.5; σ(α) = 0.1 → h = 0.02 (inside the band).
    const logit = (p: number): number => Math.log(p / (1 - p));
    ra.alpha.assign(tf.tensor2d([-50, 50, logit(0.0875), logit(0.9125), 0], [5, 1]));
    rb.alpha.assign(tf.tensor2d([logit(0.1), -50, 50], [3, 1]));
    const h = Array.from(ra.h().dataSync());
    [0, 1, 0.005, 0.995, 0.5].forEach((v, i) => expect(h[i]).toBeCloseTo(v, 5));
    expect(ra.saturation()).toEqual({ unsaturated: 1, total: 5 });
    expect(rb.saturation()).toEqual({ unsaturated: 1, total: 3 });
    expect(unsaturatedShare([ra, rb])).toBeCloseTo(2 / 8, 12);
    // A wider margin counts differently: (0.001, 0.999) takes in 0.005 and 0.995 too.
    expect(unsaturatedShare([ra, rb], 0.001)).toBeCloseTo(4 / 8, 12);
    expect(unsaturatedShare([])).toBeNaN();
    tf.dispose([a.w, b.w]);
    [ra, rb].forEach((r) => r.dispose());
    [a.q, b.q].forEach((q) => q.dispose());
  });

  it('β stays at 20 through the 20 % warm-up (regulariser off), then decays linearly to 2', () => {
    const s = { iters: 100 };
    expect(adaRoundBeta(0, s)).toBe(20);
    expect(adaRoundBeta(19, s)).toBe(20);
    expect(adaRoundRegularizerOn(19, s)).toBe(false);
    expect(adaRoundRegularizerOn(20, s)).toBe(true);
    expect(adaRoundBeta(60, s)).toBeCloseTo(11, 6);
    expect(adaRoundBeta(100, s)).toBeCloseTo(2, 6);
  });
});
