import { ProbabilityMatrix, classEntropy, classifierScore } from './classifier-score';
import { FeatureMatrix, seededSubset, selectRows } from './features';
import { EpsMseResult, sampleFidelity } from './fidelity';
import { GaussianStats, fdInfinity, frechetDistance, gaussianStats } from './frechet';
import { kernelInceptionDistance } from './kid';
import { precisionRecall } from './precision-recall';
import { mmdRbf, modeCoverage, slicedWasserstein } from './toy2d';
import { arrayMean } from '../stats/internal';

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
  /**
   * For metrics whose value aggregates per-sample contributions ({@link MetricValue.perSample}): reproduces the
   * value from them (the mean for the MSEs; 10·log10(4 / mean MSE) for PSNR). {@link compareRows} bootstraps with it.
   */
  aggregate?: (values: ArrayLike<number>) => number;
}

/** One value a metric reports: one result row of `evaluate()`. */
export interface MetricValue {
  /** Appended to the reported name, e.g. `[0]` for the first step bucket of `eps-mse`. */
  suffix?: string;
  /** The value. */
  value: number;
  /** Its standard error, where the metric has one. */
  stderr?: number;
  /** Extra detail recorded in the row. */
  detail?: Record<string, unknown>;
  /** Reference samples used, when fewer than the input offers (precision and recall take an equally large subset). */
  referenceSamples?: number;
  /**
   * Per-sample contributions the value aggregates, in sample-index order (for PSNR the per-sample MSEs), so that
   * two rows can be compared by a paired bootstrap over samples; {@link MetricInfo.aggregate} gives the value back.
   */
  perSample?: number[];
}

/** Input of `features` metrics: samples and reference embedded by one feature network. */
export interface FeatureInputs {
  /** Features of the samples. */
  samples: FeatureMatrix;
  /** The reference set. */
  reference: {
    /** Its features. */
    features: FeatureMatrix;
    /** Their Gaussian fit. */
    stats: GaussianStats;
  };
  /** Experiment seed (for seeded reference subsets). */
  seed: number;
}

/** Input of `probs` metrics. */
export interface ProbsInputs {
  /** Class probabilities of the samples. */
  probs: ProbabilityMatrix;
}

/** Input of `paired` metrics: the model under test against a reference model sampled from the same noise. */
export interface PairedInputs {
  /** The samples of the model under test, `[count, ...shape]`. */
  samples: Float32Array;
  /** Number of samples. */
  count: number;
  /** Trajectories of the teacher-forced ε-MSE (default min(count, 64)). */
  epsMseSamples?: number;
  /** Teacher-forced ε-MSE of the model under test on the first `trajectories` reference trajectories. */
  epsMse(trajectories: number): EpsMseResult;
  /** The reference model's samples from the same noise (drawn, or read from the cache, on first use). */
  referenceSamples(): Float32Array;
}

/** Input of `points` metrics: low-dimensional samples and reference points. */
export interface PointsInputs {
  /** The samples as points. */
  samples: FeatureMatrix;
  /** The reference points. */
  reference: FeatureMatrix;
  /** Mode label of each reference point, where the data has them. */
  labels?: Int32Array;
  /** Name of the reference data, for messages. */
  referenceName: string;
  /** Experiment seed (for seeded projections). */
  seed: number;
}

/** What each input kind hands its metrics. */
export interface MetricInputs {
  /** See {@link FeatureInputs}. */
  features: FeatureInputs;
  /** See {@link ProbsInputs}. */
  probs: ProbsInputs;
  /** See {@link PairedInputs}. */
  paired: PairedInputs;
  /** See {@link PointsInputs}. */
  points: PointsInputs;
}

/**
 * A metric of the registry: its {@link MetricInfo} and how to compute it from the inputs of its kind. A new metric is
 * one entry of {@link METRICS}; `evaluate()` prepares each input kind once and names and records the rows.
 */
export type MetricEntry<I extends MetricInput = MetricInput> = {
  [K in I]: MetricInfo & {
    /** What it consumes. */
    input: K;
    /** Its values (usually one) from the inputs of its kind. */
    compute(inputs: MetricInputs[K]): MetricValue[];
  };
}[I];

/** `compute(inputs)` once per inputs object, for metrics that share a computation within one evaluation. */
function sharedBy<I extends object, T>(compute: (inputs: I) => T): (inputs: I) => T {
  const memo = new WeakMap<I, T>();
  return (inputs) => {
    if (!memo.has(inputs)) memo.set(inputs, compute(inputs));
    return memo.get(inputs) as T;
  };
}

/** Precision and recall against an equally large seeded reference subset (k-NN radii depend on the set size). */
const precisionRecallOf = sharedBy((x: FeatureInputs) => {
  const ref = x.reference.features;
  const subset = selectRows(ref, seededSubset(ref.n, x.samples.n, x.seed, 'eval/pr-reference'));
  const gen = subset.n < x.samples.n ? selectRows(x.samples, Array.from({ length: subset.n }, (_, i) => i)) : x.samples;
  return { ...precisionRecall(subset, gen, 3), refCount: subset.n };
});

/** Peak-to-peak range of the data the paired metrics see (images in [−1, 1]). */
const PSNR_RANGE = 2;

const fidelityOf = sharedBy((x: PairedInputs) => sampleFidelity(x.samples, x.referenceSamples(), PSNR_RANGE, x.count));

/** PSNR (dB) of a set from its per-sample MSEs: every sample has equally many values, so the set's MSE is their mean. */
function psnrOfMses(mses: ArrayLike<number>): number {
  return 10 * Math.log10((PSNR_RANGE * PSNR_RANGE) / arrayMean(mses));
}

/**
 * Every metric `evaluate()` can compute, by name, grouped by input kind. The pure functions behind them are exported
 * too (`frechetDistance`, `fdInfinity`, `kernelInceptionDistance`, `precisionRecall`, `classifierScore`, `classEntropy`,
 * `teacherForcedEpsMse`, `sampleFidelity`, `mmdRbf`, `slicedWasserstein`, `modeCoverage`).
 */
export const METRICS: Readonly<Record<string, MetricEntry>> = {
  fd: {
    name: 'fd', version: 1, better: 'lower', input: 'features', description: 'Fréchet distance between Gaussian fits of sample and reference features (FID with InceptionV3 features); biased by the sample count n, compare only at equal n',
    compute: (x) => [{ value: frechetDistance(gaussianStats(x.samples), x.reference.stats) }],
  },
  'fd-inf': {
    name: 'fd-inf', version: 1, better: 'lower', input: 'features',
    description: 'FD∞ (Chong & Forsyth 2020): FD of seeded sample subsets at 5 counts evenly spaced in 1/n from n/4 to n (3 draws each below n), least-squares line against 1/n, the intercept',
    compute: (x) => {
      const r = fdInfinity(x.samples, x.reference.stats, { seed: x.seed });
      return [{ value: r.intercept, detail: { sizes: r.sizes, fds: r.fds, slope: r.slope, draws: r.draws } }];
    },
  },
  kid: {
    name: 'kid', version: 1, better: 'lower', input: 'features', description: 'unbiased squared MMD, cubic polynomial kernel, with jackknife standard error',
    compute: (x) => {
      const kid = kernelInceptionDistance(x.samples, x.reference.features);
      return [{ value: kid.value, stderr: kid.stderr }];
    },
  },
  precision: {
    name: 'precision', version: 1, better: 'higher', input: 'features', description: 'share of samples inside the k-NN (k = 3) manifold of an equally large reference subset',
    compute: (x) => {
      const pr = precisionRecallOf(x);
      return [{ value: pr.precision, referenceSamples: pr.refCount, detail: { k: pr.k } }];
    },
  },
  recall: {
    name: 'recall', version: 1, better: 'higher', input: 'features', description: 'share of an equally large reference subset inside the k-NN (k = 3) manifold of the samples',
    compute: (x) => {
      const pr = precisionRecallOf(x);
      return [{ value: pr.recall, referenceSamples: pr.refCount, detail: { k: pr.k } }];
    },
  },
  'classifier-score': {
    name: 'classifier-score', version: 1, better: 'higher', input: 'probs', description: 'exp(E KL(p(y|x) ‖ p(y))), Inception-Score-like',
    compute: (x) => [{ value: classifierScore(x.probs) }],
  },
  'class-entropy': {
    name: 'class-entropy', version: 1, better: 'higher', input: 'probs', description: 'entropy (nats) of the arg-max class histogram; ln 10 ≈ 2.303 for ten even digit classes',
    compute: (x) => [{ value: classEntropy(x.probs) }],
  },
  'eps-mse': {
    name: 'eps-mse', version: 1, better: 'lower', input: 'paired', description: 'teacher-forced ε-MSE against the reference model on its own trajectory, mean and per step bucket',
    aggregate: arrayMean,
    compute: (x) => {
      const trajectories = Math.min(x.epsMseSamples ?? 64, x.count);
      const r = x.epsMse(trajectories);
      return [
        { value: r.mean, detail: { trajectories }, perSample: r.perTrajectory },
        ...r.buckets.map((b, i) => ({ suffix: `[${i}]`, value: b.mse, detail: { trajectories, fromStep: b.fromStep, toStep: b.toStep, times: b.times } })),
      ];
    },
  },
  'sample-mse': {
    name: 'sample-mse', version: 1, better: 'lower', input: 'paired', description: 'MSE of final samples against the reference model’s from the same x_T',
    aggregate: arrayMean,
    compute: (x) => {
      const f = fidelityOf(x);
      return [{ value: f.mse, perSample: f.perSample }];
    },
  },
  'sample-psnr': {
    name: 'sample-psnr', version: 1, better: 'higher', input: 'paired', description: 'PSNR (dB, peak-to-peak 2) of final samples against the reference model’s from the same x_T',
    aggregate: psnrOfMses,
    compute: (x) => {
      const f = fidelityOf(x);
      return [{ value: f.psnr, perSample: f.perSample }];
    },
  },
  'mmd-rbf': {
    name: 'mmd-rbf', version: 1, better: 'lower', input: 'points', description: 'unbiased squared MMD, Gaussian kernel of median-distance bandwidth, against held-out points',
    compute: (x) => [{ value: mmdRbf(x.samples, x.reference) }],
  },
  'sliced-wasserstein': {
    name: 'sliced-wasserstein', version: 1, better: 'lower', input: 'points', description: 'sliced Wasserstein-2 distance (128 seeded projections) to held-out points',
    compute: (x) => [{ value: slicedWasserstein(x.samples, x.reference, 128, x.seed) }],
  },
  'mode-coverage': {
    name: 'mode-coverage', version: 1, better: 'higher', input: 'points', description: 'share of modes receiving at least half their reference share of samples',
    compute: (x) => {
      if (!x.labels) throw new Error(`evaluate: mode-coverage needs labelled reference data; ${x.referenceName} has no labels`);
      const c = modeCoverage(x.reference, x.labels, x.samples, Math.max(...x.labels) + 1);
      return [{ value: c.coverage, detail: { shares: c.shares, referenceShares: c.referenceShares } }];
    },
  },
};

/**
 * The registry entry of a metric.
 *
 * @throws Error listing the known metrics (and the closest name) when `name` is unknown.
 */
export function metricInfo(name: string): MetricEntry {
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
