import * as tf from '@tensorflow/tfjs';
import {
  LOSS_WEIGHTINGS,
  LossWeighting,
  PREDICTIONS,
  Prediction,
  diffuse,
  lossWeight,
  outputChannels,
  perExample,
  targetFor,
  toXEps,
  velocity,
  weightedLoss,
} from './parameterization';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const sigmoid = (l: number): number => 1 / (1 + Math.exp(-l));
/** α = √sigmoid(λ), σ = √sigmoid(−λ), so α² + σ² = 1 and λ = log(α²/σ²). */
const alphaOf = (l: number): number => Math.sqrt(sigmoid(l));
const sigmaOf = (l: number): number => Math.sqrt(sigmoid(-l));

const SHAPE = [4, 4, 2]; // one NHWC example: 4×4, 2 channels

/** Per-example ‖a − b‖/‖b‖ over all but the batch axis. */
function relErr(a: tf.Tensor, b: tf.Tensor): number[] {
  return tf.tidy(() => {
    const axes = a.shape.map((_, i) => i).slice(1);
    return tf.sqrt(tf.div(tf.sum(tf.square(tf.sub(a, b)), axes), tf.sum(tf.square(b), axes))).arraySync() as number[];
  });
}

/** Per-example mean of (a − b)² over all but the batch axis. */
function mse(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(a, b)), a.shape.map((_, i) => i).slice(1)));
}

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

describe('outputChannels', () => {
  it("doubles the channels for 'both' only", () => {
    expect(outputChannels('both', 3)).toBe(6);
    expect(outputChannels('both', 1)).toBe(2);
    for (const p of ['eps', 'x', 'v'] as const) expect(outputChannels(p, 3)).toBe(3);
  });

  it('PREDICTIONS and LOSS_WEIGHTINGS list every option', () => {
    expect([...PREDICTIONS]).toEqual(['eps', 'x', 'v', 'both']);
    expect([...LOSS_WEIGHTINGS]).toEqual(['constant', 'snr', 'snr-trunc', 'snr+1']);
  });
});

describe('perExample', () => {
  it('shapes coefficients as [n, 1, …, 1] for the data rank', () => {
    tf.tidy(() => {
      const t4 = perExample([0.5, 2, -1], 4);
      expect(t4.shape).toEqual([3, 1, 1, 1]);
      expect(t4.dtype).toBe('float32');
      expect(values(t4)).toEqual([0.5, 2, -1]);
      expect(perExample([0.5, 2], 2).shape).toEqual([2, 1]);
      expect(perExample([0.5, 2], 1).shape).toEqual([2]);
      expect(perExample(new Float64Array([0.25]), 3).shape).toEqual([1, 1, 1]);
    });
  });

  it('broadcasts one value per example', () => {
    tf.tidy(() => {
      // [[1, 1], [1, 1]] rows scaled by 2 and 3.
      const scaled = tf.mul(perExample([2, 3], 2), tf.ones([2, 2]));
      expect(values(scaled)).toEqual([2, 2, 3, 3]);
    });
  });
});

describe('hand-computed conversions (α = 0.6, σ = 0.8, z = 1)', () => {
  // α² + σ² = 0.36 + 0.64 = 1.
  const run = (p: Prediction, out: number[]): { x: number; eps: number } =>
    tf.tidy(() => {
      const r = toXEps(p, tf.tensor(out, [1, 1, out.length]), tf.tensor([1], [1, 1, 1]), perExample([0.6], 3), perExample([0.8], 3));
      return { x: r.x.dataSync()[0], eps: r.eps.dataSync()[0] };
    });

  it("'eps': x̂ = (z − σ ε̂)/α", () => {
    // ε̂ = 0.5: x̂ = (1 − 0.4)/0.6 = 1.
    const r = run('eps', [0.5]);
    expect(r.eps).toBe(0.5);
    expect(r.x).toBeCloseTo(1, 6);
  });

  it("'x': ε̂ = (z − α x̂)/σ", () => {
    // x̂ = 0.5: ε̂ = (1 − 0.3)/0.8 = 0.875.
    const r = run('x', [0.5]);
    expect(r.x).toBe(0.5);
    expect(r.eps).toBeCloseTo(0.875, 6);
  });

  it("'v': x̂ = α z − σ v̂, ε̂ = σ z + α v̂", () => {
    // v̂ = 0.5: x̂ = 0.6 − 0.4 = 0.2, ε̂ = 0.8 + 0.3 = 1.1; check: α x̂ + σ ε̂ = 0.12 + 0.88 = 1 = z.
    const r = run('v', [0.5]);
    expect(r.x).toBeCloseTo(0.2, 6);
    expect(r.eps).toBeCloseTo(1.1, 6);
  });

  it("'both': x̂ = σ² x̃ + α (z − σ ε̃), ε̂ = (z − α x̂)/σ", () => {
    // x̃ = 0.5 (first channel), ε̃ = 0.25 (second): x̂ = 0.64·0.5 + 0.6·(1 − 0.2) = 0.32 + 0.48 = 0.8,
    // ε̂ = (1 − 0.48)/0.8 = 0.65.
    const r = run('both', [0.5, 0.25]);
    expect(r.x).toBeCloseTo(0.8, 6);
    expect(r.eps).toBeCloseTo(0.65, 6);
  });

  it('velocity v = α ε − σ x and diffuse z = α x + σ ε', () => {
    tf.tidy(() => {
      const a = perExample([0.6], 1);
      const s = perExample([0.8], 1);
      // x = 2, ε = −1: v = −0.6 − 1.6 = −2.2, z = 1.2 − 0.8 = 0.4.
      expect(velocity(tf.tensor1d([2]), tf.tensor1d([-1]), a, s).dataSync()[0]).toBeCloseTo(-2.2, 6);
      expect(diffuse(tf.tensor1d([2]), tf.tensor1d([-1]), a, s).dataSync()[0]).toBeCloseTo(0.4, 6);
    });
  });
});

describe('round trip toXEps(p, targetFor(p, x, ε)) = (x, ε)', () => {
  // One example per log-SNR, from nearly pure noise (λ = −10, α ≈ 0.0067) to nearly clean (λ = 10, σ ≈ 0.0067).
  const LAMBDAS = [-10, -5, -1, 0, 1, 5, 10];
  const n = LAMBDAS.length;
  const alphas = LAMBDAS.map(alphaOf);
  const sigmas = LAMBDAS.map(sigmaOf);
  /**
   * Conversions that divide by α (x from 'eps') or by σ (ε from 'x' and 'both') amplify the float32 rounding of z
   * by 1/α or 1/σ. Where that divisor is ≥ 0.08 (|λ| ≤ 5) the result must be within 1e-6 relative; beyond, within
   * 1e-6/divisor (the condition number). Conversions that never divide ('v', x from 'both', and the copied output)
   * are within 1e-6 at every λ.
   */
  const tol = (divisor: number | null): number => (divisor === null || divisor >= 0.08 ? 1e-6 : 1e-6 / divisor);

  it.each(PREDICTIONS)('%s', (p) => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.randomNormal([n, ...SHAPE], 0, 1, 'float32', 11);
      const eps = tf.randomNormal([n, ...SHAPE], 0, 1, 'float32', 12);
      const a = perExample(alphas, 4);
      const s = perExample(sigmas, 4);
      const z = diffuse(x, eps, a, s);
      const out = targetFor(p, x, eps, a, s);
      expect(out.shape).toEqual([n, 4, 4, outputChannels(p, 2)]);
      const r = toXEps(p, out, z, a, s);
      expect(r.x.shape).toEqual(z.shape);
      expect(r.eps.shape).toEqual(z.shape);
      const ex = relErr(r.x, x);
      const ee = relErr(r.eps, eps);
      for (let i = 0; i < n; i++) {
        const xDivisor = p === 'eps' ? alphas[i] : null;
        const epsDivisor = p === 'x' || p === 'both' ? sigmas[i] : null;
        expect(ex[i]).toBeLessThanOrEqual(tol(xDivisor));
        expect(ee[i]).toBeLessThanOrEqual(tol(epsDivisor));
      }
      // The copied component is exact.
      if (p === 'eps') expect(ee.every((e) => e === 0)).toBe(true);
      if (p === 'x') expect(ex.every((e) => e === 0)).toBe(true);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it("'both' with x̃ = x, ε̃ = ε gives x: σ²x + α(z − σε) = σ²x + α²x = x", () => {
    tf.tidy(() => {
      const x = tf.randomNormal([n, ...SHAPE], 0, 1, 'float32', 13);
      const eps = tf.randomNormal([n, ...SHAPE], 0, 1, 'float32', 14);
      const a = perExample(alphas, 4);
      const s = perExample(sigmas, 4);
      const z = diffuse(x, eps, a, s);
      const r = toXEps('both', tf.concat([x, eps], 3), z, a, s);
      for (const e of relErr(r.x, x)) expect(e).toBeLessThan(1e-6);
    });
  });

  it("'both' does not depend on x̃ at σ → 0 nor on ε̃ at α → 0", () => {
    tf.tidy(() => {
      // With σ = 0, α = 1: x̂ = z whatever (x̃, ε̃); with α = 0, σ = 1: x̂ = x̃.
      const z = tf.tensor([[[0.3]]], [1, 1, 1]);
      const out = tf.tensor([[[7, -5]]], [1, 1, 2]);
      const clean = toXEps('both', out, z, perExample([1], 3), perExample([0], 3));
      expect(clean.x.dataSync()[0]).toBeCloseTo(0.3, 6);
      const noise = toXEps('both', out, z, perExample([0], 3), perExample([1], 3));
      expect(noise.x.dataSync()[0]).toBe(7);
      // ε̂ at α = 0: (z − 0·x̂)/1 = z.
      expect(noise.eps.dataSync()[0]).toBeCloseTo(0.3, 6);
    });
  });
});

describe('weightedLoss identities for a wrong prediction', () => {
  // Moderate log-SNRs keep the float32 comparison tight: SNR from e^{-3} ≈ 0.05 to e^{3} ≈ 20.
  const LAMBDAS = [-3, -1, -0.25, 0, 0.5, 2, 3];
  const n = LAMBDAS.length;
  const alphas = LAMBDAS.map(alphaOf);
  const sigmas = LAMBDAS.map(sigmaOf);
  const snr = LAMBDAS.map(Math.exp); // α²/σ² = sigmoid(λ)/sigmoid(−λ) = e^λ

  function expectClose(actual: number[], expected: number[], rel = 2e-5): void {
    expect(actual).toHaveLength(expected.length);
    actual.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(rel * Math.abs(expected[i])));
  }

  it.each(PREDICTIONS)('%s', (p) => {
    tf.tidy(() => {
      const x = tf.randomNormal([n, ...SHAPE], 0, 1, 'float32', 21);
      const eps = tf.randomNormal([n, ...SHAPE], 0, 1, 'float32', 22);
      const a = perExample(alphas, 4);
      const s = perExample(sigmas, 4);
      const z = diffuse(x, eps, a, s);
      // An arbitrary (wrong) network output with the right channel count.
      const out = tf.randomNormal([n, 4, 4, outputChannels(p, 2)], 0, 1, 'float32', 23);
      const { x: xh, eps: eh } = toXEps(p, out, z, a, s);
      // Every conversion is consistent with z: α x̂ + σ ε̂ = z, hence e_ε = ε − ε̂ = −(α/σ)(x − x̂).
      for (const e of relErr(diffuse(xh, eh, a, s), z)) expect(e).toBeLessThan(1e-5);
      const xMse = mse(x, xh);
      const epsMse = mse(eps, eh);
      const xm = values(xMse);
      // ε-MSE = (α/σ)²·x-MSE = SNR·x-MSE.
      expectClose(values(epsMse), xm.map((v, i) => snr[i] * v));
      const loss = (w: LossWeighting): number[] => values(weightedLoss(w, xMse, epsMse));
      expectClose(loss('constant'), xm, 0);
      expectClose(loss('snr'), xm.map((v, i) => snr[i] * v));
      expectClose(loss('snr+1'), xm.map((v, i) => (snr[i] + 1) * v));
      expectClose(loss('snr-trunc'), xm.map((v, i) => Math.max(snr[i], 1) * v));
      // v − v̂ = α e_ε − σ e_x = −(α²/σ + σ) e_x = −e_x/σ, so ‖v − v̂‖² = x-MSE/σ² = (SNR + 1)·x-MSE.
      const vMse = values(mse(velocity(x, eps, a, s), velocity(xh, eh, a, s)));
      expectClose(loss('snr+1'), vMse);
      // For 'v' the network output itself is v̂.
      if (p === 'v') expectClose(values(mse(velocity(x, eps, a, s), out)), vMse);
      // weightedLoss = lossWeight(λ)·x-MSE for every weighting.
      for (const w of LOSS_WEIGHTINGS) expectClose(loss(w), xm.map((v, i) => lossWeight(w, LAMBDAS[i]) * v));
    });
  });

  it('snr-trunc is the larger of x-MSE and ε-MSE per example (hand values)', () => {
    tf.tidy(() => {
      const xMse = tf.tensor1d([1, 4, 2]);
      const epsMse = tf.tensor1d([3, 2, 2]);
      expect(values(weightedLoss('snr-trunc', xMse, epsMse))).toEqual([3, 4, 2]);
      expect(values(weightedLoss('snr+1', xMse, epsMse))).toEqual([4, 6, 4]);
      expect(values(weightedLoss('snr', xMse, epsMse))).toEqual([3, 2, 2]);
      expect(values(weightedLoss('constant', xMse, epsMse))).toEqual([1, 4, 2]);
    });
  });
});

describe('lossWeight', () => {
  it('gives 1, SNR, max(SNR, 1), SNR + 1', () => {
    const l4 = Math.log(4); // SNR = 4
    expect(lossWeight('constant', l4)).toBe(1);
    expect(lossWeight('constant', -50)).toBe(1);
    expect(lossWeight('snr', l4)).toBeCloseTo(4, 14);
    expect(lossWeight('snr', 0)).toBe(1);
    expect(lossWeight('snr-trunc', l4)).toBeCloseTo(4, 14);
    expect(lossWeight('snr-trunc', -l4)).toBe(1); // max(0.25, 1)
    expect(lossWeight('snr+1', l4)).toBeCloseTo(5, 14);
    expect(lossWeight('snr+1', -l4)).toBeCloseTo(1.25, 14);
    expect(lossWeight('snr+1', 0)).toBe(2);
  });

  it('rejects an unknown weighting', () => {
    expect(() => lossWeight('snr^2' as LossWeighting, 0)).toThrow("unknown loss weighting 'snr^2' (expected one of constant, snr, snr-trunc, snr+1)");
  });
});

describe('errors', () => {
  it("rejects a 'both' output with the wrong channel count", () => {
    tf.tidy(() => {
      const z = tf.zeros([2, 4, 4, 2]);
      const a = perExample([0.6, 0.6], 4);
      const s = perExample([0.8, 0.8], 4);
      expect(() => toXEps('both', tf.zeros([2, 4, 4, 2]), z, a, s)).toThrow("'both' prediction needs 4 output channels for 2-channel data, got 2");
      expect(() => toXEps('both', tf.zeros([2, 4, 4, 3]), z, a, s)).toThrow(/needs 4 output channels .* got 3/);
    });
  });

  it('rejects unknown predictions and weightings', () => {
    tf.tidy(() => {
      const t = tf.zeros([1, 2]);
      const c = perExample([1], 2);
      expect(() => toXEps('score' as Prediction, t, t, c, c)).toThrow("unknown prediction 'score' (expected one of eps, x, v, both)");
      expect(() => targetFor('score' as Prediction, t, t, c, c)).toThrow("unknown prediction 'score' (expected one of eps, x, v, both)");
      expect(() => weightedLoss('l1' as LossWeighting, t, t)).toThrow("unknown loss weighting 'l1' (expected one of constant, snr, snr-trunc, snr+1)");
    });
  });

  it('leaks no tensors when throwing', () => {
    const before = tf.memory().numTensors;
    const z = tf.zeros([1, 2, 2, 1]);
    const out = tf.zeros([1, 2, 2, 1]);
    const c = perExample([0.5], 4);
    expect(() => toXEps('both', out, z, c, c)).toThrow();
    tf.dispose([z, out, c]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
