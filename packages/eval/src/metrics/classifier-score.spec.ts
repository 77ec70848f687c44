import { Rng } from '@diffpress/core';
import { ProbabilityMatrix, classEntropy, classHistogram, classifierScore } from './classifier-score';

function probs(rows: number[][]): ProbabilityMatrix {
  return { data: Float32Array.from(rows.flat()), n: rows.length, classes: rows[0].length };
}

function oneHot(labels: number[], classes: number): ProbabilityMatrix {
  return probs(labels.map((l) => Array.from({ length: classes }, (_, c) => (c === l ? 1 : 0))));
}

/** exp(mean_i KL(p_i ‖ mean_j p_j)) straight from the definition, on the float32-rounded inputs. */
function scoreByDefinition(rows: number[][]): number {
  const r = rows.map((row) => row.map(Math.fround));
  const classes = r[0].length;
  const marginal = Array.from({ length: classes }, (_, c) => r.reduce((s, row) => s + row[c], 0) / r.length);
  const kls = r.map((row) => row.reduce((s, q, c) => (q > 0 ? s + q * Math.log(q / marginal[c]) : s), 0));
  return Math.exp(kls.reduce((a, b) => a + b, 0) / r.length);
}

describe('classifierScore', () => {
  it('equals the number of classes (to 1e-9) for confident predictions spread evenly over 10 classes', () => {
    // Marginal 0.1 everywhere, KL of each one-hot row = ln 10, so the score is e^{ln 10} = 10 (rounding only).
    const p = oneHot(Array.from({ length: 50 }, (_, i) => i % 10), 10);
    expect(Math.abs(classifierScore(p) - 10)).toBeLessThan(1e-9);
  });

  it('is 1 when every sample is confidently the same class', () => {
    // KL = log(1) − log(p̄₃) with p̄₃ = 5 · (1/5), which may round to 1 ± 1 ulp: allow 1e-12.
    expect(Math.abs(classifierScore(oneHot([3, 3, 3, 3, 3], 10)) - 1)).toBeLessThan(1e-12);
  });

  it('is 1 when every sample gets the same (non-degenerate) distribution', () => {
    // Each row equals the marginal, so every KL term is log(q / q) = 0 up to summation rounding of the marginal.
    const row = [0.2, 0.3, 0.5];
    expect(Math.abs(classifierScore(probs([row, row, row, row])) - 1)).toBeLessThan(1e-12);
  });

  it('matches exp(mean KL(p_i ‖ p̄)) computed by hand for [[0.9, 0.1], [0.2, 0.8]]', () => {
    // p̄ = [0.55, 0.45]; KL₁ = 0.9 ln(0.9/0.55) + 0.1 ln(0.1/0.45), KL₂ = 0.2 ln(0.2/0.55) + 0.8 ln(0.8/0.45).
    const rows = [[0.9, 0.1], [0.2, 0.8]];
    const byHand = Math.exp(
      (0.9 * Math.log(0.9 / 0.55) + 0.1 * Math.log(0.1 / 0.45) + 0.2 * Math.log(0.2 / 0.55) + 0.8 * Math.log(0.8 / 0.45)) / 2,
    );
    const got = classifierScore(probs(rows));
    // The exact-decimal hand value differs from the float32 inputs' value by ~1e-8 (float32 rounding of 0.9 etc.).
    expect(Math.abs(got - byHand)).toBeLessThan(1e-6);
    expect(byHand).toBeCloseTo(1.3170523, 7);
    // Against the definition evaluated on the same float32 inputs only summation order differs.
    expect(Math.abs(got - scoreByDefinition(rows))).toBeLessThan(1e-12);
  });

  it('skips zero probabilities (0·log 0 = 0): [[1, 0], [0.5, 0.5]] gives (4/3)^(3/4)', () => {
    // p̄ = [0.75, 0.25]; KL₁ = ln(4/3), KL₂ = 0.5 ln(2/3) + 0.5 ln 2 = 0.5 ln(4/3); mean = 0.75 ln(4/3).
    expect(Math.abs(classifierScore(probs([[1, 0], [0.5, 0.5]])) - (4 / 3) ** 0.75)).toBeLessThan(1e-12);
  });

  it('matches the definition on random softmax rows and lies in [1, classes]', () => {
    const rng = new Rng(3, 'classifier-score-softmax');
    const rows = Array.from({ length: 30 }, () => {
      const logits = Array.from(rng.normalArray(5), (v) => 2 * v);
      const e = logits.map(Math.exp);
      const z = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / z);
    });
    const got = classifierScore(probs(rows));
    expect(Math.abs(got - scoreByDefinition(rows))).toBeLessThan(1e-12);
    expect(got).toBeGreaterThan(1);
    expect(got).toBeLessThan(5);
  });

  it('throws when there are no samples', () => {
    expect(() => classifierScore({ data: new Float32Array(0), n: 0, classes: 10 })).toThrow(RangeError);
  });
});

describe('classHistogram', () => {
  it('counts arg-max classes, the first class winning ties', () => {
    const p = probs([
      [0.1, 0.7, 0.2],
      [0.6, 0.3, 0.1],
      [0.2, 0.2, 0.6],
      [0.3, 0.4, 0.3],
      [0.5, 0.5, 0], // tie between 0 and 1 → class 0
    ]);
    expect(classHistogram(p)).toEqual([2, 2, 1]);
  });

  it('counts one-hot labels exactly', () => {
    expect(classHistogram(oneHot([0, 2, 2, 9, 9, 9], 10))).toEqual([1, 0, 2, 0, 0, 0, 0, 0, 0, 3]);
  });
});

describe('classEntropy', () => {
  it('is ln 10 for samples spread evenly over 10 classes', () => {
    const p = oneHot(Array.from({ length: 40 }, (_, i) => (i * 7) % 10), 10);
    expect(Math.abs(classEntropy(p) - Math.log(10))).toBeLessThan(1e-12);
  });

  it('is 0 when every sample is the same class', () => {
    expect(classEntropy(oneHot([4, 4, 4, 4], 10))).toBe(0);
  });

  it('is the entropy of the arg-max histogram, not of the probabilities (hand value for counts [2, 2, 1])', () => {
    const p = probs([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3], [0.5, 0.5, 0]]);
    const byHand = -(2 * 0.4 * Math.log(0.4) + 0.2 * Math.log(0.2));
    expect(Math.abs(classEntropy(p) - byHand)).toBeLessThan(1e-12);
  });
});
