/**
 * The expectation of KID between the two parts of a class-stratified split of one pool, such as the project's
 * MNIST test and train splits (per class, a seeded 20 % of one 10,000-digit file goes to test). KID's estimator is
 * unbiased for two independent samples, so two samples of one distribution average 0. A stratified split is not two
 * independent samples: each part holds an exact share of every class, so a pair inside one part is slightly less
 * often same-class than a pair across the parts. Same-class pairs have the larger kernel values, so the within-set
 * terms come out low and KID's expectation is negative, of order 1/n. That is why the floor rows of
 * docs/baselines.md have a KID below zero.
 */
import { FeatureMatrix, kidKernel } from '@diffpress/eval';

/** Result of {@link stratifiedSplitKid}. */
export interface SplitKid {
  /** E[KID(first part, second part)] over every split with these per-class sizes. */
  expected: number;
  /** Mean kernel over distinct same-class pairs of the pool, weighted by class share. */
  sameClass: number;
  /** Mean kernel over distinct pairs of the pool when classes are mixed at their shares: Σ p_c p_d K̄_cd. */
  mixed: number;
}

/**
 * The exact expectation of KID (the unbiased estimator of `kernelInceptionDistance`) between the parts of a
 * random split of `pool` that sends `firstPerClass[c]` members of class c to the first part and the rest to the
 * second, every such split equally likely. With K̄_cd the mean kernel over distinct pool pairs of classes c and d,
 * n_c and m_c the per-class part sizes (n, m their sums):
 * E = Σ n_c n_d K̄_cd − Σ n_c K̄_cc over n(n−1), plus the same for m, minus 2·Σ n_c m_d K̄_cd / (nm).
 * O(N²·d) for a pool of N vectors.
 *
 * @throws Error when sizes disagree, a label is outside the class range or a part has fewer than 2 members.
 */
export function stratifiedSplitKid(pool: FeatureMatrix, labels: Int32Array, firstPerClass: readonly number[]): SplitKid {
  const classes = firstPerClass.length;
  if (labels.length !== pool.n) throw new Error(`stratifiedSplitKid: ${labels.length} labels for ${pool.n} vectors`);
  const count = new Float64Array(classes);
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0 || l >= classes) throw new Error(`stratifiedSplitKid: label ${l} outside [0, ${classes})`);
    count[l]++;
  }
  firstPerClass.forEach((n, c) => {
    if (n < 0 || n > count[c]) throw new Error(`stratifiedSplitKid: class ${c} has ${count[c]} members, ${n} asked for the first part`);
  });
  const sum = Array.from({ length: classes }, () => new Float64Array(classes));
  for (let i = 0; i < pool.n; i++) {
    for (let j = i + 1; j < pool.n; j++) {
      const k = kidKernel(pool.data, i, pool.data, j, pool.dim);
      sum[labels[i]][labels[j]] += k;
      if (labels[i] !== labels[j]) sum[labels[j]][labels[i]] += k;
    }
  }
  // Mean over distinct pairs: a class with one member has no same-class pair, and then no term uses it.
  const mean = (c: number, d: number): number => {
    const pairs = c === d ? (count[c] * (count[c] - 1)) / 2 : count[c] * count[d];
    return pairs > 0 ? sum[c][d] / pairs : 0;
  };
  const first = Float64Array.from(firstPerClass);
  const second = count.map((t, c) => t - first[c]);
  const total = (v: Float64Array): number => v.reduce((a, b) => a + b, 0);
  const [n, m] = [total(first), total(second)];
  if (n < 2 || m < 2) throw new Error(`stratifiedSplitKid: parts of ${n} and ${m} members; KID needs at least 2 in each`);
  const within = (v: Float64Array, size: number): number => {
    let s = 0;
    for (let c = 0; c < classes; c++) for (let d = 0; d < classes; d++) s += v[c] * (c === d ? v[c] - 1 : v[d]) * mean(c, d);
    return s / (size * (size - 1));
  };
  let cross = 0;
  let sameClass = 0;
  let mixed = 0;
  const poolSize = total(count);
  for (let c = 0; c < classes; c++) {
    sameClass += (count[c] / poolSize) * mean(c, c);
    for (let d = 0; d < classes; d++) {
      cross += first[c] * second[d] * mean(c, d);
      mixed += (count[c] / poolSize) * (count[d] / poolSize) * mean(c, d);
    }
  }
  return { expected: within(first, n) + within(second, m) - (2 * cross) / (n * m), sameClass, mixed };
}
