import * as tf from '@tensorflow/tfjs';
import {
  EIGHT_GAUSSIANS_CENTERS,
  SWISS_ROLL_SCALE,
  TWO_MOONS_MEAN,
  TWO_MOONS_STD,
  eightGaussians,
  swissRoll,
  toy2d,
  twoMoons,
} from './toy2d';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

/** Per-axis mean and (population) standard deviation of points `[n, 2]`. */
function moments(data: Float32Array): { mean: [number, number]; std: [number, number] } {
  const n = data.length / 2;
  const mean: [number, number] = [0, 0];
  const sq: [number, number] = [0, 0];
  for (let i = 0; i < n; i++) {
    for (const a of [0, 1]) {
      mean[a] += data[2 * i + a] / n;
      sq[a] += (data[2 * i + a] * data[2 * i + a]) / n;
    }
  }
  return { mean, std: [Math.sqrt(sq[0] - mean[0] ** 2), Math.sqrt(sq[1] - mean[1] ** 2)] };
}

function counts(labels: Int32Array, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  labels.forEach((l) => c[l]++);
  return c;
}

describe.each([
  ['swissRoll', swissRoll],
  ['eightGaussians', eightGaussians],
  ['twoMoons', twoMoons],
] as const)('%s', (label, gen) => {
  it('is bit-identical for a seed, different for another, and a valid [2]-point dataset', () => {
    const a = gen(500, { seed: 7 });
    const b = gen(500, { seed: 7 });
    const c = gen(500, { seed: 8 });
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(c.data.buffer))).toBe(false);
    expect(a.sampleShape).toEqual([2]);
    expect([a.size, a.data.length, a.labels.length]).toEqual([500, 1000, 500]);
    expect(a.data.every(Number.isFinite)).toBe(true);
    expect(a.labels.every((l) => l >= 0 && l < a.numModes)).toBe(true);
    expect(gen(0, { seed: 1 }).size).toBe(0);
    expect(() => gen(-1, { seed: 1 })).toThrow(`${label}: n must be a non-negative integer, got -1`);
    expect(() => gen(3, { seed: 1, noise: -0.1 })).toThrow(`${label}: noise must be a finite number ≥ 0, got -0.1`);
  });
});

describe('eightGaussians', () => {
  it('has mean ≈ 0, radius ≈ 2, hits all 8 modes about equally, and labels the nearest centre', () => {
    const n = 8000;
    const ds = eightGaussians(n, { seed: 1 });
    expect(ds.name).toBe('toy/eight-gaussians');
    expect(ds.numModes).toBe(8);
    const { mean } = moments(ds.data);
    // Each coordinate has variance ≈ 2 (= r²/2), so the mean's standard error is √(2/8000) ≈ 0.016.
    expect(Math.abs(mean[0])).toBeLessThan(0.08);
    expect(Math.abs(mean[1])).toBeLessThan(0.08);
    // Binomial(8000, 1/8): 1000 ± 29.6; ±150 is five standard deviations.
    for (const c of counts(ds.labels, 8)) expect(Math.abs(c - 1000)).toBeLessThan(150);
    let radius = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const [x, y] = [ds.data[2 * i], ds.data[2 * i + 1]];
      radius += Math.hypot(x, y) / n;
      const [cx, cy] = EIGHT_GAUSSIANS_CENTERS[ds.labels[i]];
      sq += ((x - cx) ** 2 + (y - cy) ** 2) / n;
      // Centres are 2·2·sin(π/8) ≈ 1.53 apart, far beyond the 0.02 noise: the label is the nearest centre.
      const nearest = EIGHT_GAUSSIANS_CENTERS.map(([ax, ay]) => Math.hypot(x - ax, y - ay));
      expect(nearest.indexOf(Math.min(...nearest))).toBe(ds.labels[i]);
    }
    expect(Math.abs(radius - 2)).toBeLessThan(0.005);
    // Mean squared distance to the own centre = 2σ² = 8e-4 (σ = 0.02).
    expect(sq).toBeGreaterThan(7e-4);
    expect(sq).toBeLessThan(9e-4);
  });

  it('puts the centres at radius 2 in FFJORD order and gives exact centres without noise', () => {
    const s = Math.SQRT1_2 * 2;
    expect(EIGHT_GAUSSIANS_CENTERS).toEqual([[2, 0], [-2, 0], [0, 2], [0, -2], [s, s], [s, -s], [-s, s], [-s, -s]]);
    const ds = eightGaussians(20, { seed: 3, noise: 0 });
    for (let i = 0; i < 20; i++) {
      const [cx, cy] = EIGHT_GAUSSIANS_CENTERS[ds.labels[i]];
      expect([ds.data[2 * i], ds.data[2 * i + 1]]).toEqual([Math.fround(cx), Math.fround(cy)]);
    }
    // Modes come from their own stream: the noise level does not change which mode a point gets.
    expect(Array.from(eightGaussians(20, { seed: 3, noise: 0.3 }).labels)).toEqual(Array.from(ds.labels));
  });
});

describe('twoMoons', () => {
  it('places ⌊n/2⌋ outer and the rest inner points on make_moons arcs, standardised by the fixed map', () => {
    // n = 5 without noise: outer s ∈ {0, π} → (1, 0), (−1, 0); inner s ∈ {0, π/2, π} → (0, 0.5), (1, −0.5), (2, 0.5).
    const ds = twoMoons(5, { seed: 2, noise: 0 });
    expect(counts(ds.labels, 2)).toEqual([2, 3]);
    const raw: string[] = [];
    for (let i = 0; i < 5; i++) {
      const x = ds.data[2 * i] * TWO_MOONS_STD[0] + TWO_MOONS_MEAN[0];
      const y = ds.data[2 * i + 1] * TWO_MOONS_STD[1] + TWO_MOONS_MEAN[1];
      raw.push(`${ds.labels[i]}:${x.toFixed(5)},${y.toFixed(5)}`);
    }
    expect(raw.sort()).toEqual(['0:-1.00000,0.00000', '0:1.00000,0.00000', '1:0.00000,0.50000', '1:1.00000,-0.50000', '1:2.00000,0.50000']);
    expect(TWO_MOONS_STD[0]).toBeCloseTo(0.8660254, 6);
    // 9/16 − 1/π = 0.5625 − 0.3183099 = 0.2441901.
    expect(TWO_MOONS_STD[1]).toBeCloseTo(Math.sqrt(0.2441901), 6);
  });

  it('has mean ≈ 0 and standard deviation ≈ 1 per axis, points on their arcs without noise', () => {
    const n = 10000;
    const ds = twoMoons(n, { seed: 4, noise: 0 });
    const { mean, std } = moments(ds.data);
    // linspace differs from the continuum by O(1/n).
    for (const a of [0, 1]) {
      expect(Math.abs(mean[a])).toBeLessThan(2e-3);
      expect(Math.abs(std[a] - 1)).toBeLessThan(2e-3);
    }
    for (let i = 0; i < n; i++) {
      const x = ds.data[2 * i] * TWO_MOONS_STD[0] + TWO_MOONS_MEAN[0];
      const y = ds.data[2 * i + 1] * TWO_MOONS_STD[1] + TWO_MOONS_MEAN[1];
      const r = ds.labels[i] === 0 ? Math.hypot(x, y) : Math.hypot(1 - x, 0.5 - y);
      expect(Math.abs(r - 1)).toBeLessThan(1e-5);
    }
    // With the default noise 0.05 the spread grows only slightly: var_x = 0.75 + 0.0025 → std ≈ 1.0017 after /0.866.
    const noisy = moments(twoMoons(n, { seed: 4 }).data);
    expect(Math.abs(noisy.std[0] - 1.0017)).toBeLessThan(0.01);
    expect(noisy.std[1]).toBeGreaterThan(1);
  });
});

describe('swissRoll', () => {
  it('lies on the scaled roll without noise, with the label = bucket of the roll parameter', () => {
    const n = 5000;
    const ds = swissRoll(n, { seed: 5, noise: 0 });
    expect(ds.numModes).toBe(10);
    const lo = 1.5 * Math.PI;
    for (let i = 0; i < n; i++) {
      const x = ds.data[2 * i] * SWISS_ROLL_SCALE;
      const z = ds.data[2 * i + 1] * SWISS_ROLL_SCALE;
      // t is the radius, and the angle equals t modulo 2π.
      const t = Math.hypot(x, z);
      expect(t).toBeGreaterThanOrEqual(lo - 1e-4);
      expect(t).toBeLessThanOrEqual(3 * lo + 1e-4);
      const angle = Math.atan2(z, x);
      const wrapped = Math.atan2(Math.sin(t), Math.cos(t));
      expect(Math.abs(Math.sin(angle - wrapped))).toBeLessThan(1e-4);
      const bucket = Math.floor((10 * (t - lo)) / (3 * Math.PI));
      // Points within float error of a bucket edge may round either way.
      if (Math.abs((10 * (t - lo)) / (3 * Math.PI) - Math.round((10 * (t - lo)) / (3 * Math.PI))) > 1e-4) {
        expect(ds.labels[i]).toBe(bucket);
      }
    }
    // Equal t ranges per bucket: 500 ± 21 each, ±110 is five standard deviations.
    for (const c of counts(ds.labels, 10)) expect(Math.abs(c - 500)).toBeLessThan(110);
  });

  it('has roughly unit scale: per-coordinate RMS ≈ √(E[t²]/2 + noise²)/7 ≈ 0.98 with the default noise', () => {
    const ds = swissRoll(20000, { seed: 6 });
    let sq = 0;
    for (const v of ds.data) sq += (v * v) / ds.data.length;
    // E[t²] = 9.75π² for t uniform on [1.5π, 4.5π]: √(9.75π²/2 + 1)/7 = 0.9799.
    expect(Math.abs(Math.sqrt(sq) - Math.sqrt((9.75 * Math.PI ** 2) / 2 + 1) / 7)).toBeLessThan(0.02);
    const { mean } = moments(ds.data);
    // Noise-free mean (2, 2/(3π))/7 ≈ (0.286, 0.030).
    expect(mean[0]).toBeCloseTo(2 / 7, 1);
    expect(mean[1]).toBeCloseTo(2 / (3 * Math.PI * 7), 1);
  });
});

describe('toy2d', () => {
  it('dispatches by kind with the same result as the named generator', () => {
    expect(Array.from(toy2d('two-moons', 50, { seed: 9 }).data)).toEqual(Array.from(twoMoons(50, { seed: 9 }).data));
    expect(toy2d('swiss-roll', 4, { seed: 9, name: 'roll' }).name).toBe('roll');
    expect(toy2d('eight-gaussians', 4, { seed: 9 }).name).toBe('toy/eight-gaussians');
    expect(() => toy2d('spiral' as 'two-moons', 4, { seed: 9 })).toThrow(/unknown kind 'spiral'/);
  });
});
