/** Class probabilities of `n` samples over `classes` classes, row-major. */
export interface ProbabilityMatrix {
  /** `n × classes` probabilities (rows sum to 1). */
  data: Float32Array;
  /** Number of samples. */
  n: number;
  /** Number of classes. */
  classes: number;
}

/**
 * The classifier score, Inception-Score-like (Salimans et al. 2016): exp(E_x KL(p(y|x) ‖ p(y))) with p(y) the mean of
 * the rows. Between 1 (every sample gets the same distribution) and `classes` (confident, evenly spread).
 */
export function classifierScore(p: ProbabilityMatrix): number {
  const { n, classes, data } = p;
  if (n < 1) throw new RangeError('classifierScore: no samples');
  const marginal = new Float64Array(classes);
  for (let i = 0; i < n; i++) for (let c = 0; c < classes; c++) marginal[c] += data[i * classes + c] / n;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < classes; c++) {
      const q = data[i * classes + c];
      if (q > 0) kl += q * (Math.log(q) - Math.log(marginal[c]));
    }
  }
  return Math.exp(kl / n);
}

/** Number of samples assigned (arg-max) to each class. */
export function classHistogram(p: ProbabilityMatrix): number[] {
  const counts = new Array<number>(p.classes).fill(0);
  for (let i = 0; i < p.n; i++) {
    let best = 0;
    for (let c = 1; c < p.classes; c++) if (p.data[i * p.classes + c] > p.data[i * p.classes + best]) best = c;
    counts[best]++;
  }
  return counts;
}

/**
 * Entropy in nats of the arg-max class histogram: diversity / mode coverage. ln(10) ≈ 2.303 for ten evenly covered
 * digit classes, 0 when every sample is one class.
 */
export function classEntropy(p: ProbabilityMatrix): number {
  const counts = classHistogram(p);
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / p.n) * Math.log(c / p.n);
  return h;
}
