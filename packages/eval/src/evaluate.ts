import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Rng, engineInfo } from '@diffpress/core';
import { ArrayDataset, ModelCallPolicy, SamplerConfig, subset } from '@diffpress/diffusion';
import { embedImages } from './features/embed';
import { DEFAULT_FEATURE_NETWORK, FeatureNetRef, FeatureNetwork, loadFeatureNetwork } from './features/feature-network';
import { classEntropy, classifierScore } from './metrics/classifier-score';
import { FeatureMatrix, selectRows } from './metrics/features';
import { sampleFidelity, teacherForcedEpsMse } from './metrics/fidelity';
import { frechetDistance, gaussianStats } from './metrics/frechet';
import { kernelInceptionDistance } from './metrics/kid';
import { precisionRecall } from './metrics/precision-recall';
import { MetricInfo, metricInfo } from './metrics/registry';
import { mmdRbf, modeCoverage, slicedWasserstein } from './metrics/toy2d';
import { ReferenceStats, datasetDigest, referenceStats } from './reference/reference-stats';
import { SamplingModel, drawSamples, samplerLabel } from './samples/sample-store';

/** Real data evaluated like a model (e.g. the test split: the floor every model is compared with). */
export interface DatasetSubject {
  /** The data; all of it, or a subset of `samples` rows drawn from (seed, `'eval/dataset-subject'`). */
  dataset: ArrayDataset;
}

/** Samples produced elsewhere (e.g. by a sampler of a method package). */
export interface SamplesSubject {
  /** Name recorded in the rows. */
  name: string;
  /** Samples `[n, ...shape]` back to back. */
  samples: Float32Array;
  /** Shape of one sample. */
  shape: readonly number[];
}

/** What {@link evaluate} evaluates: a model (sampled with `options.sampler`), real data, or ready samples. */
export type EvalSubject = SamplingModel | DatasetSubject | SamplesSubject;

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Metric names from {@link METRICS}. */
  metrics: readonly string[];
  /** Number of samples (model subjects: indices 0 … samples − 1 of the seeded noise). */
  samples: number;
  /** Experiment seed. */
  seed: number;
  /** Sampler (required for model subjects). */
  sampler?: SamplerConfig;
  /** Reference data (e.g. `loadMnist({ split: 'train' })`); feature metrics embed it once and cache it. */
  reference: ArrayDataset;
  /** Feature network: an id/path for {@link loadFeatureNetwork} or a loaded one (default the shipped MNIST classifier). */
  featureNet?: string | FeatureNetwork;
  /** The FP model for the paired metrics (`eps-mse`, `sample-mse`, `sample-psnr`). */
  pairedReference?: SamplingModel;
  /** Trajectories of the teacher-forced ε-MSE (default min(samples, 64)). */
  epsMseSamples?: number;
  /** Sampling-time policy of the model under test, and its cache key (see `drawSamples`). */
  policy?: ModelCallPolicy;
  /** Cache key of `policy`. */
  policyKey?: string;
  /** Cache folder for samples and reference statistics (default `defaultCacheDir()`; `null`: no cache). */
  cacheDir?: string | null;
  /** Samples per model call (default 64). */
  batchSize?: number;
  /** Share sample drawing with other processes using the same cache folder (see `drawSamples`). */
  shareSamples?: boolean;
  /** Recipe hash and ablation cell (filled in by the recipe runner). */
  recipeHash?: string | null;
  /** Ablation cell parameters. */
  cell?: Record<string, unknown>;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What a metric compared against: a dataset (or reference model) and how many of its samples. */
export interface ReferenceRef {
  /** Dataset name, or the reference model's id for paired metrics. */
  dataset: string;
  /** Samples used. */
  samples: number;
}

/** One result row: the format of the evaluation spec (§1), one metric value with everything that produced it. */
export interface ResultRow {
  /** Hash of the recipe (null outside the recipe runner). */
  recipeHash: string | null;
  /** Ablation cell parameters. */
  cell: Record<string, unknown>;
  /** What was evaluated: model id, dataset name or sample-set name. */
  subject: string;
  /** Content digest of the evaluated model (null for data and ready samples). */
  modelDigest: string | null;
  /** Experiment seed. */
  seed: number;
  /** Number of samples evaluated. */
  samples: number;
  /** Sampler label (`ddim-50`), or null for data. */
  sampler: string | null;
  /** Metric name as reported (feature metrics carry the network: `fd-mnist-classifier-v1`). */
  metric: string;
  /** Registry name of the metric. */
  metricId: string;
  /** Metric version. */
  metricVersion: number;
  /** The value. */
  value: number;
  /** Standard error, where the metric has one. */
  stderr?: number;
  /** Extra detail (e.g. the step range of an ε-MSE bucket). */
  detail?: Record<string, unknown>;
  /** Reference dataset name and how many of its samples were used. */
  reference: ReferenceRef | null;
  /** Feature network id and artifact digest (feature and probability metrics). */
  featureNet: FeatureNetRef | null;
  /** Backend that computed the metrics; sample sets drawn earlier record theirs in `sampleBackends`. */
  backend: string;
  /** Backends that drew the samples (from the sample cache). */
  sampleBackends: string[];
  /** Wall-clock seconds to draw the samples (summed over cache chunks, so the same whether cached or not). */
  samplingSeconds: number;
  /** Wall-clock seconds of this metric's computation (embedding shared across metrics counted once, in the first). */
  metricSeconds: number;
  /** Version of `@diffpress/eval`. */
  libraryVersion: string;
  /** ISO time the row was produced. */
  date: string;
}

let cachedVersion: string | undefined;

/** Version of this package, recorded in every row. */
export function libraryVersion(): string {
  if (cachedVersion === undefined) {
    try {
      cachedVersion = (JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}

function isModel(s: EvalSubject): s is SamplingModel {
  return 'unet' in s;
}

function isDataset(s: EvalSubject): s is DatasetSubject {
  return 'dataset' in s;
}

const referenceMemo = new Map<string, ReferenceStats>();
const featureNetMemo = new Map<string, FeatureNetwork>();

async function resolveFeatureNet(spec: string | FeatureNetwork | undefined): Promise<FeatureNetwork> {
  if (spec && typeof spec !== 'string') return spec;
  const id = spec ?? DEFAULT_FEATURE_NETWORK;
  let net = featureNetMemo.get(id);
  if (!net) {
    net = await loadFeatureNetwork(id);
    featureNetMemo.set(id, net);
  }
  return net;
}

function memoReference(ds: ArrayDataset, net: FeatureNetwork, cacheDir: string | null | undefined, log?: (l: string) => void): ReferenceStats {
  // Keyed by content, like the disk cache: two datasets that share a name must not share statistics.
  const key = `${datasetDigest(ds)} ${net.digest} ${cacheDir}`;
  let ref = referenceMemo.get(key);
  if (!ref) {
    ref = referenceStats(ds, net, { cacheDir });
    log?.(`reference ${ds.name} under ${net.id}: ${ref.cached ? 'read from cache' : 'embedded and cached'}${ref.file ? ` (${ref.file})` : ''}`);
    referenceMemo.set(key, ref);
  }
  return ref;
}

/** Rows `0 … n − 1` of a permutation drawn from (seed, stream): a deterministic subset. */
function seededSubset(total: number, n: number, seed: number, stream: string): number[] {
  return new Rng(seed, stream).permutation(total).slice(0, Math.min(n, total));
}

/**
 * Evaluates a model (or real data, or ready samples) with the requested metrics and returns one {@link ResultRow}
 * per value, in the evaluation spec's format. Samples of a model are drawn with seeded noise (sample i from
 * (seed, i)) through the sample cache, so repeated or interrupted evaluations do not redraw them, and every model
 * evaluated with one seed sees the same x_T. Feature metrics embed the reference set once (cached on disk).
 *
 * @example
 * ```ts
 * const rows = await evaluate(loadDiffusionModel('unet-mnist-s-eps'), {
 *   metrics: ['fd', 'kid', 'precision', 'recall', 'class-entropy'],
 *   samples: 1000, seed: 0, sampler: { kind: 'ddim', steps: 100 },
 *   reference: loadMnist({ split: 'train' }),
 * });
 * ```
 */
export async function evaluate(subject: EvalSubject, options: EvaluateOptions): Promise<ResultRow[]> {
  const infos: MetricInfo[] = options.metrics.map(metricInfo);
  const { seed } = options;
  const log = options.log;
  if (!Number.isInteger(options.samples) || options.samples < 1) throw new RangeError(`evaluate: samples must be a positive integer, got ${options.samples}`);
  const shape = [...options.reference.sampleShape];
  const per = shape.reduce((a, b) => a * b, 1);

  // 1. The samples.
  let data: Float32Array;
  let subjectName: string;
  let modelDigest: string | null = null;
  let samplerName: string | null = null;
  let samplingSeconds = 0;
  let sampleBackends: string[] = [];
  if (isModel(subject)) {
    if (!options.sampler) throw new Error('evaluate: a model subject needs options.sampler');
    samplerName = samplerLabel(options.sampler);
    subjectName = subject.id ?? 'model';
    let last = 0;
    const set = drawSamples({
      model: subject, sampler: options.sampler, seed, count: options.samples, shape, cacheDir: options.cacheDir,
      batchSize: options.batchSize, policy: options.policy, policyKey: options.policyKey, share: options.shareSamples,
      onProgress: (done, total) => {
        if (log && (Date.now() - last > 30_000 || done === total)) {
          last = Date.now();
          log(`${subjectName} ${samplerName}: ${done}/${total} samples`);
        }
      },
    });
    data = set.data;
    modelDigest = set.modelDigest;
    samplingSeconds = set.seconds;
    sampleBackends = set.backends;
  } else if (isDataset(subject)) {
    const ds = subject.dataset;
    if (options.samples > ds.size) throw new RangeError(`evaluate: ${options.samples} samples asked of ${ds.name}, which has ${ds.size}`);
    if (ds.sampleShape.join('x') !== shape.join('x')) throw new Error(`evaluate: ${ds.name} has samples [${ds.sampleShape.join(', ')}], the reference [${shape.join(', ')}]`);
    // A seeded subset, not the first rows: splits can be ordered by class (the MNIST test split is).
    data = options.samples === ds.size ? ds.data : subset(ds, seededSubset(ds.size, options.samples, seed, 'eval/dataset-subject')).data;
    subjectName = options.samples === ds.size ? ds.name : `${ds.name} (seeded subset)`;
  } else {
    if (subject.samples.length !== options.samples * per) throw new Error(`evaluate: ${subject.name} holds ${subject.samples.length / per} samples, ${options.samples} asked`);
    data = subject.samples;
    subjectName = subject.name;
  }
  const n = options.samples;
  const backend = engineInfo()?.backend ?? tf.getBackend();
  const rows: ResultRow[] = [];
  const row = (info: MetricInfo, metric: string, value: number, extra: Partial<ResultRow>, seconds: number): void => {
    rows.push({
      recipeHash: options.recipeHash ?? null, cell: options.cell ?? {}, subject: subjectName, modelDigest, seed, samples: n, sampler: samplerName,
      metric, metricId: info.name, metricVersion: info.version, value, reference: null, featureNet: null, backend, sampleBackends, samplingSeconds,
      metricSeconds: seconds, libraryVersion: libraryVersion(), date: new Date().toISOString(), ...extra,
    });
  };

  // 2. Feature-space metrics.
  const needsFeatures = infos.some((m) => m.input === 'features' || m.input === 'probs');
  if (needsFeatures) {
    let t0 = performance.now();
    const net = await resolveFeatureNet(options.featureNet);
    const ref = memoReference(options.reference, net, options.cacheDir, log);
    const emb = embedImages(net, data, shape);
    const fnet = { id: net.id, digest: net.digest };
    const refInfo = (count: number): ResultRow['reference'] => ({ dataset: options.reference.name, samples: count });
    let pr: { precision: number; recall: number; k: number; refCount: number } | undefined;
    for (const info of infos) {
      const name = `${info.name}-${net.id}`;
      if (info.name === 'fd') {
        row(info, name, frechetDistance(gaussianStats(emb.features), ref.stats), { reference: refInfo(ref.features.n), featureNet: fnet }, (performance.now() - t0) / 1000);
      } else if (info.name === 'kid') {
        const kid = kernelInceptionDistance(emb.features, ref.features);
        row(info, name, kid.value, { stderr: kid.stderr, reference: refInfo(ref.features.n), featureNet: fnet }, (performance.now() - t0) / 1000);
      } else if (info.name === 'precision' || info.name === 'recall') {
        if (!pr) {
          // Equal set sizes: k-NN radii depend on how many points a set has.
          const subset: FeatureMatrix = selectRows(ref.features, seededSubset(ref.features.n, n, seed, 'eval/pr-reference'));
          const gen: FeatureMatrix = subset.n < n ? selectRows(emb.features, Array.from({ length: subset.n }, (_, i) => i)) : emb.features;
          pr = { ...precisionRecall(subset, gen, 3), refCount: subset.n };
        }
        row(info, name, info.name === 'precision' ? pr.precision : pr.recall, { reference: refInfo(pr.refCount), featureNet: fnet, detail: { k: pr.k } }, (performance.now() - t0) / 1000);
      } else if (info.input === 'probs') {
        if (!emb.probs) throw new Error(`evaluate: metric '${info.name}' needs class probabilities, and feature network ${net.id} gives none`);
        const value = info.name === 'classifier-score' ? classifierScore(emb.probs) : classEntropy(emb.probs);
        row(info, name, value, { featureNet: fnet }, (performance.now() - t0) / 1000);
      } else {
        continue;
      }
      t0 = performance.now();
    }
  }

  // 3. Paired metrics against the FP model.
  const paired = infos.filter((m) => m.input === 'paired');
  if (paired.length > 0) {
    const refModel = options.pairedReference;
    if (!refModel || !options.sampler || !isModel(subject)) throw new Error('evaluate: paired metrics need a model subject, options.sampler and options.pairedReference');
    const refExtra = { reference: { dataset: refModel.id ?? 'reference model', samples: n } };
    let t0 = performance.now();
    let refSet: Float32Array | undefined;
    for (const info of paired) {
      if (info.name === 'eps-mse') {
        const count = Math.min(options.epsMseSamples ?? 64, n);
        const r = teacherForcedEpsMse({ model: subject, reference: refModel, sampler: options.sampler, seed, count, shape, batchSize: options.batchSize, policy: options.policy });
        const seconds = (performance.now() - t0) / 1000;
        row(info, 'eps-mse', r.mean, { ...refExtra, detail: { trajectories: count } }, seconds);
        r.buckets.forEach((b, i) => row(info, `eps-mse[${i}]`, b.mse, { ...refExtra, detail: { trajectories: count, fromStep: b.fromStep, toStep: b.toStep, times: b.times } }, 0));
      } else {
        refSet ??= drawSamples({ model: refModel, sampler: options.sampler, seed, count: n, shape, cacheDir: options.cacheDir, batchSize: options.batchSize, share: options.shareSamples }).data;
        const f = sampleFidelity(data, refSet, 2);
        row(info, info.name, info.name === 'sample-mse' ? f.mse : f.psnr, refExtra, (performance.now() - t0) / 1000);
      }
      t0 = performance.now();
    }
  }

  // 4. Low-dimensional point metrics (2-D toy data).
  const points = infos.filter((m) => m.input === 'points');
  if (points.length > 0) {
    if (per > 16) throw new Error(`evaluate: point metrics are for low-dimensional data; samples have ${per} values`);
    const gen: FeatureMatrix = { data, n, dim: per };
    const refPts: FeatureMatrix = { data: options.reference.data, n: options.reference.size, dim: per };
    let t0 = performance.now();
    for (const info of points) {
      const refExtra = { reference: { dataset: options.reference.name, samples: options.reference.size } };
      if (info.name === 'mmd-rbf') row(info, info.name, mmdRbf(gen, refPts), refExtra, (performance.now() - t0) / 1000);
      else if (info.name === 'sliced-wasserstein') row(info, info.name, slicedWasserstein(gen, refPts, 128, seed), refExtra, (performance.now() - t0) / 1000);
      else {
        const labels = options.reference.labels;
        if (!labels) throw new Error(`evaluate: mode-coverage needs labelled reference data; ${options.reference.name} has no labels`);
        const modes = Math.max(...labels) + 1;
        const c = modeCoverage(refPts, labels, gen, modes);
        row(info, info.name, c.coverage, { ...refExtra, detail: { shares: c.shares, referenceShares: c.referenceShares } }, (performance.now() - t0) / 1000);
      }
      t0 = performance.now();
    }
  }
  if (rows.length === 0) throw new Error('evaluate: no metric produced a value');
  return rows;
}
