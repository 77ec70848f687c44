import * as tf from '@tensorflow/tfjs';
import { CosineLogSnrSchedule, LinearBetaSchedule, NoiseSchedule, ScheduleConfig, scheduleFromConfig } from './schedule';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

/** Largest float64 below 1 (1 − 2⁻⁵³): the top of a uniform variate in [0, 1). */
const ONE_MINUS = 1 - 2 ** -53;

describe('LinearBetaSchedule', () => {
  const s = new LinearBetaSchedule();

  it('has the DDPM defaults and identity', () => {
    expect(s.kind).toBe('discrete');
    expect(s.id).toBe('linear-beta');
    expect(s.cleanTime).toBe(-1);
    expect([s.timesteps, s.betaStart, s.betaEnd]).toEqual([1000, 1e-4, 0.02]);
    expect(s.betas.length).toBe(1000);
    expect(s.alphaBar.length).toBe(1000);
  });

  it('spaces β linearly from 1e-4 to 0.02', () => {
    // β_i = 1e-4 + (0.02 − 1e-4)·i/999: β_0 = 1e-4, β_999 = 0.02, step 0.0199/999 ≈ 1.991992e-5.
    expect(s.betas[0]).toBe(1e-4);
    expect(s.betas[999]).toBeCloseTo(0.02, 15);
    const step = 0.0199 / 999;
    expect(s.betas[1]).toBeCloseTo(1e-4 + step, 15);
    // β_{499.5} would be the midpoint (1e-4 + 0.02)/2 = 0.01005; β_499 + β_500 = 2·0.01005.
    expect(s.betas[499] + s.betas[500]).toBeCloseTo(0.0201, 14);
    for (let i = 1; i < 1000; i++) expect(s.betas[i] - s.betas[i - 1]).toBeCloseTo(step, 15);
  });

  it('α̅_0 and α̅_1 by hand', () => {
    // α̅_0 = 1 − β_0 = 0.9999, so α_0 = √0.9999, σ_0 = √1e-4 = 0.01.
    expect(s.alphaBar[0]).toBeCloseTo(0.9999, 15);
    expect(s.alpha(0)).toBeCloseTo(Math.sqrt(0.9999), 15);
    expect(s.sigma(0)).toBeCloseTo(0.01, 12);
    // α̅_1 = 0.9999·(1 − β_1), β_1 = 1e-4 + 0.0199/999 = 1.19919920e-4 → α̅_1 = 0.9999·0.99988008008 = 0.99978009207.
    expect(s.alphaBar[1]).toBeCloseTo(0.9999 * (1 - (1e-4 + 0.0199 / 999)), 15);
    expect(s.alphaBar[1]).toBeCloseTo(0.99978009207, 10);
    // log-SNR at t = 0: log(0.9999/0.0001) = log 9999.
    expect(s.logSnr(0)).toBeCloseTo(Math.log(9999), 9);
  });

  it('α̅_999 matches an independent float64 product (α_999 ≈ 0.00635)', () => {
    let prod = 1;
    for (let i = 0; i < 1000; i++) prod *= 1 - (1e-4 + (0.02 - 1e-4) * (i / 999));
    expect(s.alphaBar[999] / prod).toBeCloseTo(1, 12);
    // Known DDPM value: α̅_999 ≈ 4.0358e-5, α_999 = √α̅_999 ≈ 0.0063528.
    expect(s.alphaBar[999]).toBeCloseTo(4.0358e-5, 8);
    expect(s.alpha(999)).toBeCloseTo(0.00635, 5);
  });

  it('α̅ strictly decreases, α² + σ² = 1 and logSnr = log(α²/σ²)', () => {
    for (let t = 0; t < 1000; t++) {
      if (t > 0) expect(s.alphaBar[t]).toBeLessThan(s.alphaBar[t - 1]);
      const a = s.alpha(t);
      const sg = s.sigma(t);
      expect(a * a + sg * sg).toBeCloseTo(1, 14);
      expect(s.logSnr(t)).toBeCloseTo(Math.log((a * a) / (sg * sg)), 8);
      if (t > 0) expect(s.logSnr(t)).toBeLessThan(s.logSnr(t - 1));
    }
  });

  it('time −1 is clean data: α = 1, σ = 0, logSnr = +∞', () => {
    expect(s.alpha(-1)).toBe(1);
    expect(s.sigma(-1)).toBe(0);
    expect(s.logSnr(-1)).toBe(Infinity);
  });

  it.each([-2, 1000, 0.5, NaN, Infinity])('rejects time %p', (t) => {
    expect(() => s.alpha(t)).toThrow(/LinearBetaSchedule: time must be an integer in \[-1, 999\]/);
    expect(() => s.sigma(t)).toThrow(RangeError);
    expect(() => s.logSnr(t)).toThrow(RangeError);
  });

  it('modelTime is the index itself', () => {
    expect(s.modelTime(0)).toBe(0);
    expect(s.modelTime(500)).toBe(500);
    expect(s.modelTime(999)).toBe(999);
  });

  describe('samplingTimes', () => {
    it('uniform n = 10 gives DDIM range(0, 1000, 100) reversed', () => {
      expect(s.samplingTimes(10)).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
      expect(s.samplingTimes(10, 'uniform')).toEqual(s.samplingTimes(10));
    });

    it('uniform n = 1000 is every step 999 … 0', () => {
      const times = s.samplingTimes(1000);
      expect(times).toEqual(Array.from({ length: 1000 }, (_, i) => 999 - i));
    });

    it('uniform n = 3 (not dividing 1000) gives ⌊i·1000/3⌋ = [666, 333, 0]', () => {
      expect(s.samplingTimes(3)).toEqual([666, 333, 0]);
    });

    it('uniform n = 1 is the single step 0', () => {
      expect(s.samplingTimes(1)).toEqual([0]);
    });

    it('quadratic n = 10 equals DDIM (np.linspace(0, np.sqrt(T*0.8), n)**2).astype(int)', () => {
      // numpy's linspace: step = stop/(n−1), y_i = i·step, last element set to stop exactly; then square and
      // truncate toward zero.
      const T = 1000;
      const n = 10;
      const stop = Math.sqrt(T * 0.8);
      const step = stop / (n - 1);
      const ddim = Array.from({ length: n }, (_, i) => Math.trunc((i === n - 1 ? stop : i * step) ** 2));
      // By hand: 800·i²/81 for i = 0 … 9 = 0, 9.88, 39.5, 88.9, 158.0, 246.9, 355.6, 483.95, 632.1, 800.
      expect(ddim).toEqual([0, 9, 39, 88, 158, 246, 355, 483, 632, 800]);
      expect(s.samplingTimes(n, 'quadratic')).toEqual([...ddim].reverse());
    });

    it.each([1, 2, 10, 50, 100, 200])('quadratic n = %p: n entries, strictly decreasing, last 0', (n) => {
      const times = s.samplingTimes(n, 'quadratic');
      expect(times).toHaveLength(n);
      expect(times[n - 1]).toBe(0);
      for (let i = 1; i < n; i++) expect(times[i]).toBeLessThan(times[i - 1]);
      for (const t of times) {
        expect(Number.isInteger(t)).toBe(true);
        expect(t).toBeGreaterThanOrEqual(0);
        expect(t).toBeLessThan(1000);
      }
    });

    it('quadratic n = T degenerates to every step (collisions are pushed up by one)', () => {
      // ⌊800·i²/999²⌋ ≤ i for every i ≤ 999 (800·i/999² < 1), so the de-duplication makes step i equal to i.
      expect(s.samplingTimes(1000, 'quadratic')).toEqual(Array.from({ length: 1000 }, (_, i) => 999 - i));
    });

    it.each([0, -1, 1001, 2.5, NaN])('rejects step count %p', (n) => {
      expect(() => s.samplingTimes(n)).toThrow(/sampling steps must be an integer in \[1, 1000\]/);
    });

    it('rejects an unknown spacing', () => {
      expect(() => s.samplingTimes(10, 'log' as never)).toThrow("unknown time spacing 'log' (expected 'uniform' or 'quadratic')");
    });

    it('works for a short custom chain (T = 10)', () => {
      const short = new LinearBetaSchedule(10, 0.1, 0.5);
      expect(short.samplingTimes(10)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(short.samplingTimes(5)).toEqual([8, 6, 4, 2, 0]);
      // β = 0.1, 0.1444…, …, 0.5; α̅_1 = 0.9·(1 − (0.1 + 0.4/9)) = 0.9·0.85556 = 0.77.
      expect(short.alphaBar[1]).toBeCloseTo(0.9 * (1 - (0.1 + 0.4 / 9)), 14);
      expect(short.alphaBar[1]).toBeCloseTo(0.77, 14);
    });
  });

  describe('trainingTime', () => {
    it('maps [0, 1) onto the integers 0 … 999 as ⌊1000 r⌋', () => {
      expect(s.trainingTime(0)).toBe(0);
      expect(s.trainingTime(0.0005)).toBe(0); // ⌊0.5⌋
      expect(s.trainingTime(0.0015)).toBe(1); // ⌊1.5⌋
      expect(s.trainingTime(0.5)).toBe(500);
      expect(s.trainingTime(0.9995)).toBe(999); // ⌊999.5⌋
      expect(s.trainingTime(ONE_MINUS)).toBe(999);
      // r = 1 is outside the documented domain but is clamped rather than returning the invalid index 1000.
      expect(s.trainingTime(1)).toBe(999);
    });

    it('every training time is a valid schedule time', () => {
      for (const r of [0, 0.123, 0.5, 0.777, ONE_MINUS]) expect(() => s.alpha(s.trainingTime(r))).not.toThrow();
    });
  });

  it('rejects invalid constructor arguments', () => {
    expect(() => new LinearBetaSchedule(1)).toThrow('LinearBetaSchedule: timesteps must be an integer ≥ 2, got 1');
    expect(() => new LinearBetaSchedule(10.5)).toThrow(/timesteps must be an integer/);
    expect(() => new LinearBetaSchedule(1000, 0, 0.02)).toThrow('LinearBetaSchedule: need 0 < betaStart ≤ betaEnd < 1, got 0, 0.02');
    expect(() => new LinearBetaSchedule(1000, 0.03, 0.02)).toThrow(/need 0 < betaStart ≤ betaEnd < 1/);
    expect(() => new LinearBetaSchedule(1000, 1e-4, 1)).toThrow(/need 0 < betaStart ≤ betaEnd < 1/);
    expect(() => new LinearBetaSchedule(1000, NaN, 0.02)).toThrow(RangeError);
    // A constant β is allowed: α̅_t = (1 − β)^{t+1}.
    const flat = new LinearBetaSchedule(5, 0.1, 0.1);
    expect(flat.alphaBar[4]).toBeCloseTo(0.9 ** 5, 14);
  });
});

describe('CosineLogSnrSchedule', () => {
  const s = new CosineLogSnrSchedule();

  it('has the progressive-distillation defaults and identity', () => {
    expect(s.kind).toBe('continuous');
    expect(s.id).toBe('cosine-logsnr');
    expect(s.cleanTime).toBe(0);
    expect([s.logSnrMin, s.logSnrMax]).toEqual([-20, 20]);
  });

  it('λ(0) = 20, λ(1) = −20, λ(0.5) = 0', () => {
    // b = atan(e^{−10}); λ(0) = −2 log tan(b) = −2 log e^{−10} = 20. a + b = atan(e^{10}) → λ(1) = −20.
    expect(s.logSnr(0)).toBeCloseTo(20, 9);
    expect(s.logSnr(1)).toBeCloseTo(-20, 9);
    // a/2 + b = (atan(e^{10}) + atan(e^{−10}))/2 = (π/2)/2 = π/4, tan(π/4) = 1 → λ = 0.
    expect(s.logSnr(0.5)).toBeCloseTo(0, 12);
  });

  it('α = σ = √½ at u = 0.5', () => {
    expect(s.alpha(0.5)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(s.sigma(0.5)).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it('α² = sigmoid(λ), α² + σ² = 1, λ strictly decreasing in u', () => {
    let prev = Infinity;
    for (let i = 0; i <= 100; i++) {
      const u = i / 100;
      const lam = s.logSnr(u);
      const a = s.alpha(u);
      const sg = s.sigma(u);
      expect(a * a).toBeCloseTo(1 / (1 + Math.exp(-lam)), 14);
      expect(sg * sg).toBeCloseTo(1 / (1 + Math.exp(lam)), 14);
      expect(a * a + sg * sg).toBeCloseTo(1, 14);
      expect(lam).toBeLessThan(prev);
      prev = lam;
    }
  });

  it('is almost clean at u = 0 and almost pure noise at u = 1', () => {
    // α²(0) = sigmoid(20) = 1 − 2.06e-9; σ(0) = √sigmoid(−20) = e^{−10}/√(1 + e^{−20}) ≈ 4.54e-5.
    expect(s.sigma(0)).toBeCloseTo(Math.exp(-10), 12);
    expect(s.alpha(1)).toBeCloseTo(Math.exp(-10), 12);
    expect(s.alpha(0)).toBeCloseTo(1, 8);
    expect(s.sigma(1)).toBeCloseTo(1, 8);
    // sigmoid is evaluated stably: no 0 or NaN at the ends.
    expect(s.sigma(0)).toBeGreaterThan(0);
    expect(s.alpha(1)).toBeGreaterThan(0);
  });

  it('honours a custom λ range', () => {
    const c = new CosineLogSnrSchedule(-5, 3);
    expect(c.logSnr(0)).toBeCloseTo(3, 12);
    expect(c.logSnr(1)).toBeCloseTo(-5, 12);
  });

  it.each([-0.01, 1.01, NaN, -Infinity])('rejects time %p', (u) => {
    expect(() => s.logSnr(u)).toThrow(/CosineLogSnrSchedule: time must be in \[0, 1\]/);
    expect(() => s.alpha(u)).toThrow(RangeError);
    expect(() => s.sigma(u)).toThrow(RangeError);
  });

  it('modelTime scales to the DDPM range: 1000·u', () => {
    expect(s.modelTime(0)).toBe(0);
    expect(s.modelTime(0.25)).toBe(250);
    expect(s.modelTime(1)).toBe(1000);
  });

  it('samplingTimes: uniform (i+1)/n and quadratic ((i+1)/n)², noisiest first', () => {
    expect(s.samplingTimes(4)).toEqual([1, 0.75, 0.5, 0.25]);
    expect(s.samplingTimes(4, 'uniform')).toEqual([1, 0.75, 0.5, 0.25]);
    // (4/4)², (3/4)², (2/4)², (1/4)² = 1, 0.5625, 0.25, 0.0625.
    expect(s.samplingTimes(4, 'quadratic')).toEqual([1, 0.5625, 0.25, 0.0625]);
    expect(s.samplingTimes(1)).toEqual([1]);
    const q = s.samplingTimes(37, 'quadratic');
    expect(q).toHaveLength(37);
    for (let i = 1; i < q.length; i++) expect(q[i]).toBeLessThan(q[i - 1]);
    // Never the clean time itself: the last step goes from u_{n−1} > 0 to cleanTime = 0.
    expect(q[36]).toBeGreaterThan(0);
  });

  it('samplingTimes rejects bad counts and spacings', () => {
    expect(() => s.samplingTimes(0)).toThrow(/sampling steps must be an integer in \[1, /);
    expect(() => s.samplingTimes(2.5)).toThrow(RangeError);
    expect(() => s.samplingTimes(4, 'cubic' as never)).toThrow("unknown time spacing 'cubic' (expected 'uniform' or 'quadratic')");
  });

  it('trainingTime maps [0, 1) onto (0, 1] as 1 − r', () => {
    expect(s.trainingTime(0)).toBe(1);
    expect(s.trainingTime(0.25)).toBe(0.75);
    expect(s.trainingTime(ONE_MINUS)).toBeGreaterThan(0);
    expect(s.trainingTime(ONE_MINUS)).toBeCloseTo(0, 15);
  });

  it('rejects logSnrMin ≥ logSnrMax', () => {
    expect(() => new CosineLogSnrSchedule(5, 5)).toThrow('CosineLogSnrSchedule: need logSnrMin < logSnrMax, got 5, 5');
    expect(() => new CosineLogSnrSchedule(20, -20)).toThrow(RangeError);
    expect(() => new CosineLogSnrSchedule(NaN, 1)).toThrow(RangeError);
  });
});

describe('scheduleFromConfig / toConfig', () => {
  const cases: [string, NoiseSchedule][] = [
    ['linear default', new LinearBetaSchedule()],
    ['linear custom', new LinearBetaSchedule(50, 1e-3, 0.05)],
    ['cosine default', new CosineLogSnrSchedule()],
    ['cosine custom', new CosineLogSnrSchedule(-8, 12)],
  ];

  it.each(cases)('%s round-trips', (_name, s) => {
    const config = s.toConfig();
    // The config is plain JSON data.
    const back = scheduleFromConfig(JSON.parse(JSON.stringify(config)) as ScheduleConfig);
    expect(back.constructor).toBe(s.constructor);
    expect(back.toConfig()).toEqual(config);
    expect(back.id).toBe(s.id);
    const times = s.samplingTimes(5);
    for (const t of times) {
      expect(back.alpha(t)).toBe(s.alpha(t));
      expect(back.sigma(t)).toBe(s.sigma(t));
      expect(back.logSnr(t)).toBe(s.logSnr(t));
    }
  });

  it('writes the documented fields', () => {
    expect(new LinearBetaSchedule(50, 1e-3, 0.05).toConfig()).toEqual({ type: 'linear-beta', timesteps: 50, betaStart: 1e-3, betaEnd: 0.05 });
    expect(new CosineLogSnrSchedule(-8, 12).toConfig()).toEqual({ type: 'cosine-logsnr', logSnrMin: -8, logSnrMax: 12 });
  });

  it('rejects an unknown type', () => {
    expect(() => scheduleFromConfig({ type: 'sqrt' } as unknown as ScheduleConfig)).toThrow(
      "unknown schedule type 'sqrt' (expected 'linear-beta' or 'cosine-logsnr')",
    );
  });

  it('propagates constructor validation', () => {
    expect(() => scheduleFromConfig({ type: 'linear-beta', timesteps: 1, betaStart: 1e-4, betaEnd: 0.02 })).toThrow(RangeError);
    expect(() => scheduleFromConfig({ type: 'cosine-logsnr', logSnrMin: 1, logSnrMax: 0 })).toThrow(RangeError);
  });
});
