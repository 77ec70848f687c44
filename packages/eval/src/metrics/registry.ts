/** What a metric consumes. */
export type MetricInput =
  /** Feature vectors of samples and reference under a feature network. */
  | 'features'
  /** Class probabilities of the samples under a classifier feature network. */
  | 'probs'
  /** A reference (FP) model sampled from the same noise. */
  | 'paired'
  /** Raw low-dimensional points (2-D toy data) and the reference points. */
  | 'points';

/** A registry entry: what a metric is and how to read it. */
export interface MetricInfo {
  /** Registry name (`fd`, `kid`, …). Feature metrics are reported as `<name>-<feature net id>`, e.g. `fd-mnist-classifier-v1`. */
  name: string;
  /** Bumped whenever the computation changes, so rows from different versions are never compared silently. */
  version: number;
  /** Whether lower or higher values are better. */
  better: 'lower' | 'higher';
  /** What it consumes. */
  input: MetricInput;
  /** One-line definition. */
  description: string;
}

/**
 * Every metric `evaluate()` can compute, by name. The pure functions behind them are exported too
 * (`frechetDistance`, `kernelInceptionDistance`, `precisionRecall`, `classifierScore`, `classEntropy`,
 * `teacherForcedEpsMse`, `sampleFidelity`, `mmdRbf`, `slicedWasserstein`, `modeCoverage`).
 */
export const METRICS: Readonly<Record<string, MetricInfo>> = {
  fd: { name: 'fd', version: 1, better: 'lower', input: 'features', description: 'Fréchet distance between Gaussian fits of sample and reference features (FID with InceptionV3 features)' },
  kid: { name: 'kid', version: 1, better: 'lower', input: 'features', description: 'unbiased squared MMD, cubic polynomial kernel, with jackknife standard error' },
  precision: { name: 'precision', version: 1, better: 'higher', input: 'features', description: 'share of samples inside the k-NN (k = 3) manifold of an equally large reference subset' },
  recall: { name: 'recall', version: 1, better: 'higher', input: 'features', description: 'share of an equally large reference subset inside the k-NN (k = 3) manifold of the samples' },
  'classifier-score': { name: 'classifier-score', version: 1, better: 'higher', input: 'probs', description: 'exp(E KL(p(y|x) ‖ p(y))), Inception-Score-like' },
  'class-entropy': { name: 'class-entropy', version: 1, better: 'higher', input: 'probs', description: 'entropy (nats) of the arg-max class histogram; ln 10 ≈ 2.303 for ten even digit classes' },
  'eps-mse': { name: 'eps-mse', version: 1, better: 'lower', input: 'paired', description: 'teacher-forced ε-MSE against the reference model on its own trajectory, mean and per step bucket' },
  'sample-mse': { name: 'sample-mse', version: 1, better: 'lower', input: 'paired', description: 'MSE of final samples against the reference model’s from the same x_T' },
  'sample-psnr': { name: 'sample-psnr', version: 1, better: 'higher', input: 'paired', description: 'PSNR (dB, peak-to-peak 2) of final samples against the reference model’s from the same x_T' },
  'mmd-rbf': { name: 'mmd-rbf', version: 1, better: 'lower', input: 'points', description: 'unbiased squared MMD, Gaussian kernel of median-distance bandwidth, against held-out points' },
  'sliced-wasserstein': { name: 'sliced-wasserstein', version: 1, better: 'lower', input: 'points', description: 'sliced Wasserstein-2 distance (128 seeded projections) to held-out points' },
  'mode-coverage': { name: 'mode-coverage', version: 1, better: 'higher', input: 'points', description: 'share of modes receiving at least half their reference share of samples' },
};

/**
 * The registry entry of a metric.
 *
 * @throws Error listing the known metrics (and the closest name) when `name` is unknown.
 */
export function metricInfo(name: string): MetricInfo {
  // Own keys only: names such as 'toString' must not resolve to Object.prototype members.
  if (Object.hasOwn(METRICS, name)) return METRICS[name];
  const known = Object.keys(METRICS);
  const near = known.map((k) => [k, editDistance(k, name)] as const).sort((a, b) => a[1] - b[1])[0][0];
  throw new Error(`unknown metric '${name}' (did you mean '${near}'? known: ${known.join(', ')})`);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}
