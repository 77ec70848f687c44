import { studentTCdf, studentTQuantile, tInterval, tost } from './t';

describe('studentTQuantile', () => {
  // Table values of t₀.₉₇₅ (two-sided 95 %), to the table's three decimals.
  it.each([
    [1, 12.706],
    [2, 4.303],
    [4, 2.776],
    [30, 2.042],
    [1e6, 1.96],
    [Infinity, 1.96],
  ])('gives the table value of t(0.975, df = %d)', (df, table) => {
    expect(Math.abs(studentTQuantile(0.975, df) - table)).toBeLessThan(5e-4);
  });

  it('matches more digits of the known values (R qt)', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706204736174698, 9);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.302652729749464, 11);
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.7764451051977934, 11);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.0422724563012373, 11);
    expect(studentTQuantile(0.975, Infinity)).toBeCloseTo(1.959963984540054, 12);
    expect(studentTQuantile(0.995, 2)).toBeCloseTo(9.92484320091827, 10);
  });

  it('equals the closed forms for df = 1 (Cauchy) and df = 2 across p', () => {
    for (const p of [0.001, 0.05, 0.3, 0.6, 0.9, 0.975, 0.9999]) {
      const cauchy = Math.tan(Math.PI * (p - 0.5));
      expect(Math.abs(studentTQuantile(p, 1) - cauchy) / Math.abs(cauchy)).toBeLessThan(1e-10);
      const two = (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
      expect(Math.abs(studentTQuantile(p, 2) - two) / Math.abs(two)).toBeLessThan(1e-10);
    }
  });

  it('inverts the CDF, is antisymmetric, and is continuous where it switches to the large-df expansion', () => {
    for (const df of [1, 2.5, 3, 7, 50, 1000, 2e5]) {
      for (const p of [0.01, 0.2, 0.8, 0.975]) {
        const t = studentTQuantile(p, df);
        // ln Γ(a + b) − ln Γ(a) − ln Γ(b) cancels digits at large df: ~1e-10 at 2e5 degrees of freedom.
        expect(Math.abs(studentTCdf(t, df) - p)).toBeLessThan(df > 1000 ? 1e-9 : 1e-14);
        expect(studentTQuantile(1 - p, df)).toBeCloseTo(-t, 10);
      }
    }
    // Newton on the CDF just below 1e5 degrees of freedom, the Cornish–Fisher series just above.
    const below = studentTQuantile(0.975, 99_999);
    const above = studentTQuantile(0.975, 100_001);
    // dt/d(df) ≈ −(z³ + z)/(4 df²) = −2.37e-10 at z = 1.96, df = 1e5: the two sides 2 df apart differ by ≈ 4.7e-10.
    expect(below - above).toBeGreaterThan(4e-10);
    expect(below - above).toBeLessThan(5.5e-10);
    expect(studentTQuantile(0.5, 3)).toBe(0);
    expect(studentTQuantile(1, 3)).toBe(Infinity);
  });

  it('refuses p outside [0, 1] and df ≤ 0', () => {
    expect(() => studentTQuantile(1.5, 2)).toThrow(/p must lie/);
    expect(() => studentTQuantile(0.9, 0)).toThrow(/degrees of freedom/);
  });
});

describe('studentTCdf', () => {
  it('equals the closed forms for df = 1 and df = 2, and the normal for df = Infinity', () => {
    for (const t of [-30, -2, -0.3, 0, 0.7, 4.303, 50]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 13);
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 13);
    }
    expect(studentTCdf(-1.959963984540054, Infinity)).toBeCloseTo(0.025, 14);
    // Far tail keeps relative precision: P(T < −1000) for df = 1 is atan-tail ≈ 1/(1000π).
    const tail = studentTCdf(-1000, 1);
    expect(Math.abs(tail - (0.5 - Math.atan(1000) / Math.PI)) / tail).toBeLessThan(1e-9);
  });
});

describe('tInterval', () => {
  it('gives mean 2 and the 95 % interval [−0.484, 4.484] for differences [1, 2, 3]', () => {
    const ci = tInterval([1, 2, 3]);
    // s = 1, s/√3 = 0.57735, t₀.₉₇₅,₂ = 4.30265: half-width 2.48414.
    expect(ci.mean).toBe(2);
    expect(ci.lo).toBeCloseTo(-0.484, 3);
    expect(ci.hi).toBeCloseTo(4.484, 3);
    expect(ci.hi - ci.mean).toBeCloseTo(4.302652729749464 / Math.sqrt(3), 10);
    expect(ci).toMatchObject({ level: 0.95, method: 't', seeds: 3, df: 2 });
  });

  it('uses the level asked for and the n − 1 divisor', () => {
    // Differences [0, 4]: mean 2, s = 2√2, s/√2 = 2; 90 %: t₀.₉₅,₁ = 6.3138.
    const ci = tInterval([0, 4], 0.9);
    expect(ci.hi - 2).toBeCloseTo(2 * 6.313751514675043, 8);
    expect(ci.level).toBe(0.9);
  });

  it('gives (−∞, ∞) for one difference and a zero-width interval for identical ones', () => {
    expect(tInterval([1.5])).toMatchObject({ mean: 1.5, lo: -Infinity, hi: Infinity, seeds: 1, df: 0 });
    expect(tInterval([0.25, 0.25, 0.25])).toMatchObject({ mean: 0.25, lo: 0.25, hi: 0.25 });
  });

  it('refuses no, non-finite differences and bad levels', () => {
    expect(() => tInterval([])).toThrow(/no differences/);
    expect(() => tInterval([1, Infinity])).toThrow(/finite/);
    expect(() => tInterval([1, 2], 1)).toThrow(/level/);
  });
});

describe('tost', () => {
  // df = 2 has the closed form P(T > x) = ½(1 − x/√(x² + 2)); differences [1, 2, 3]: mean 2, se = 1/√3.
  const tail2 = (x: number): number => 0.5 * (1 - x / Math.sqrt(x * x + 2));

  it('gives the hand-computed one-sided p-values for [1, 2, 3] within ±5', () => {
    const r = tost([1, 2, 3], 5);
    // H₀⁻ (μ ≤ −5): t = (2 + 5)·√3 = 12.124 → p = 0.003367; H₀⁺ (μ ≥ 5): t = (2 − 5)·√3 = −5.196 → p = 0.017549.
    expect(r.pLower).toBeCloseTo(tail2(7 * Math.sqrt(3)), 12);
    expect(r.pUpper).toBeCloseTo(tail2(3 * Math.sqrt(3)), 12);
    expect(r.pLower).toBeCloseTo(0.003367, 6);
    expect(r.pUpper).toBeCloseTo(0.017549, 6);
    expect(r.equivalent).toBe(true);
  });

  it('decides as the 95 % interval inside the margin at the default α = 0.025 (hi = 4.484)', () => {
    // Margin 4.4 < 4.484: p⁺ = tail(2.4·√3) = 0.0266 > 0.025; margin 4.5 > 4.484: p⁺ = tail(2.5·√3) = 0.0247.
    expect(tost([1, 2, 3], 4.4)).toMatchObject({ equivalent: false });
    expect(tost([1, 2, 3], 4.4).pUpper).toBeCloseTo(tail2(2.4 * Math.sqrt(3)), 12);
    expect(tost([1, 2, 3], 4.5)).toMatchObject({ equivalent: true });
    // At α = 0.05 (the 90 % interval, hi = 2 + 2.92/√3 = 3.686) margin 4 suffices, at 0.025 it does not.
    expect(tost([1, 2, 3], 4, 0.05).equivalent).toBe(true);
    expect(tost([1, 2, 3], 4).equivalent).toBe(false);
  });

  it('gives no equivalence from one difference, and decides identical differences by their side', () => {
    expect(tost([0], 1)).toEqual({ pLower: 1, pUpper: 1, equivalent: false });
    expect(tost([0.5, 0.5], 1)).toEqual({ pLower: 0, pUpper: 0, equivalent: true });
    expect(tost([1.5, 1.5], 1).equivalent).toBe(false);
  });

  it('refuses a margin ≤ 0 and alpha outside (0, 0.5)', () => {
    expect(() => tost([1, 2], 0)).toThrow(/margin/);
    expect(() => tost([1, 2], 1, 0.5)).toThrow(/alpha/);
  });
});
