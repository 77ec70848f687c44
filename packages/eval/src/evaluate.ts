import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { engineInfo } from '@diffpress/core';
import { ArrayDataset, SamplerConfig, SamplingHook, subset } from '@diffpress/diffusion';
import { embedImages } from './features/embed';
import { DEFAULT_FEATURE_NETWORK, FeatureNetRef, FeatureNetwork, loadFeatureNetwork } from './features/feature-network';
import { seededSubset } from './metrics/features';
import { teacherForcedEpsMse } from './metrics/fidelity';
import { MetricEntry, MetricInput, MetricInputs, MetricValue, PairedInputs, PointsInputs, metricInfo } from './metrics/registry';
import { ReferenceStats, datasetDigest, referenceStats } from './reference/reference-stats';
import { SamplingModel, drawSamples, samplerLabel } from './samples/sample-store';
import { modelRuntimeLabel } from './samples/runtime-label';

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
  /**
   * Reference data (e.g. `loadMnist({ split: 'train' })`); feature metrics embed it once and cache it, point metrics
   * compare against it. Paired metrics need none: give `shape` instead and leave a large split unloaded.
   */
  reference?: ArrayDataset;
  /** Shape of one sample (default: the reference's); required without a reference. */
  shape?: readonly number[];
  /** Feature network: an id/path for {@link loadFeatureNetwork} or a loaded one (default the shipped MNIST classifier). */
  featureNet?: string | FeatureNetwork;
  /** The FP model for the paired metrics (`eps-mse`, `sample-mse`, `sample-psnr`). */
  pairedReference?: SamplingModel;
  /**
   * The sampler of `pairedReference` (default `sampler`): a distilled student is compared with the FP model sampled
   * as the recipe samples it, not with the FP model run through the student's own sampler.
   */
  pairedSampler?: SamplerConfig;
  /** Trajectories of the teacher-forced ε-MSE (default min(samples, 64)). */
  epsMseSamples?: number;
  /** Sampling hooks of the model under test, outermost first (see `drawSamples`). */
  hooks?: readonly SamplingHook[];
  /** Cache key of the hook chain. */
  hooksKey?: string;
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
  /**
   * Per-sample contributions the value aggregates, in sample-index order (for PSNR the per-sample MSEs): carried by
   * the paired metrics' rows (`sample-mse`, `sample-psnr`, the mean `eps-mse` row) so that two rows can be compared
   * by a paired bootstrap over samples ({@link compareRows}). Absent in rows written before it existed.
   */
  perSample?: number[];
  /** Reference dataset name and how many of its samples were used. */
  reference: ReferenceRef | null;
  /** Feature network id and artifact digest (feature and probability metrics). */
  featureNet: FeatureNetRef | null;
  /** Backend that computed the metrics; sample sets drawn earlier record theirs in `sampleBackends`. */
  backend: string;
  /** Backends that drew the samples (from the sample cache). */
  sampleBackends: string[];
  /**
   * Runtime that runs the evaluated model (`tfjs-wasm`, or e.g. `onnxruntime-node 1.30.0 (cpu, 2 threads, qdq)`):
   * its version and threads. Absent for data subjects and in rows written before runtimes existed.
   */
  runtime?: string;
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

async function resolveFeatureNet(spec: string | FeatureNetwork | undefined, shape: readonly number[]): Promise<FeatureNetwork> {
  if (spec && typeof spec !== 'string') return spec;
  const id = spec ?? DEFAULT_FEATURE_NETWORK;
  // By image shape too: a network loads for one input shape, and refuses data it does not fit.
  const key = `${id} ${shape.join('x')}`;
  let net = featureNetMemo.get(key);
  if (!net) {
    net = await loadFeatureNetwork(id, shape);
    featureNetMemo.set(key, net);
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

/** How the metrics of one input kind get their inputs, and what their rows say besides the values. */
interface InputFrame<I extends MetricInput> {
  /** The inputs handed to every metric of the kind. */
  inputs: MetricInputs[I];
  /** The reported name of a metric (feature-space metrics carry the network id: `fd-mnist-classifier-v1`). */
  label: (name: string) => string;
  /** What the values were compared against (a value may report fewer reference samples). */
  reference: ReferenceRef | null;
  /** The feature network, for feature-space metrics. */
  featureNet: FeatureNetRef | null;
}

/** The frames prepared for one group of input kinds. */
type Frames = { [I in MetricInput]?: InputFrame<I> };

// Generic, so that TypeScript pairs an entry's input kind with the frame of that kind.
function computeMetric<I extends MetricInput>(m: MetricEntry<I>, frame: InputFrame<I>): MetricValue[] {
  return m.compute(frame.inputs);
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
  const entries: MetricEntry[] = options.metrics.map(metricInfo);
  const { seed } = options;
  const log = options.log;
  if (!Number.isInteger(options.samples) || options.samples < 1) throw new RangeError(`evaluate: samples must be a positive integer, got ${options.samples}`);
  const shape = [...(options.shape ?? options.reference?.sampleShape ?? [])];
  if (shape.length === 0) throw new Error('evaluate: give options.reference or options.shape (the shape of one sample)');
  const needing = entries.filter((m) => m.input !== 'paired').map((m) => m.name);
  if (!options.reference && needing.length > 0) throw new Error(`evaluate: metrics ${needing.join(', ')} compare against reference data: give options.reference`);
  if (options.reference && options.shape && options.reference.sampleShape.join('x') !== shape.join('x')) {
    throw new Error(`evaluate: options.shape [${shape.join(', ')}] differs from the reference's samples [${options.reference.sampleShape.join(', ')}]`);
  }
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
      batchSize: options.batchSize, hooks: options.hooks, hooksKey: options.hooksKey, share: options.shareSamples,
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
    if (ds.sampleShape.join('x') !== shape.join('x')) throw new Error(`evaluate: ${ds.name} has samples [${ds.sampleShape.join(', ')}], the evaluation [${shape.join(', ')}]`);
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
  const runtime = isModel(subject) ? modelRuntimeLabel(subject.unet) : undefined;
  const rows: ResultRow[] = [];
  /** Computes `metrics` and records a row per value; `t0` is when their group's shared preparation began. */
  const report = (metrics: readonly MetricEntry[], frames: Frames, t0: number): void => {
    for (const m of metrics) {
      const frame = frames[m.input];
      if (!frame) throw new Error(`evaluate: no ${m.input} inputs were prepared for metric '${m.name}'`);
      computeMetric(m, frame).forEach((v, i) => {
        // Shared preparation (embedding, reference samples) is counted once, in the first metric that needed it.
        const seconds = i === 0 ? (performance.now() - t0) / 1000 : 0;
        const reference = frame.reference && v.referenceSamples !== undefined ? { ...frame.reference, samples: v.referenceSamples } : frame.reference;
        rows.push({
          recipeHash: options.recipeHash ?? null, cell: options.cell ?? {}, subject: subjectName, modelDigest, seed, samples: n, sampler: samplerName,
          metric: frame.label(m.name) + (v.suffix ?? ''), metricId: m.name, metricVersion: m.version, value: v.value, reference, featureNet: frame.featureNet, backend,
          sampleBackends, samplingSeconds, metricSeconds: seconds, libraryVersion: libraryVersion(), date: new Date().toISOString(),
          ...(runtime ? { runtime } : {}),
          ...(v.stderr !== undefined ? { stderr: v.stderr } : {}),
          ...(v.detail ? { detail: v.detail } : {}),
          ...(v.perSample ? { perSample: v.perSample } : {}),
        });
      });
      t0 = performance.now();
    }
  };
  // Rows keep the order they have always had: feature-space metrics as asked, then paired, then point metrics.
  const wanted = (...inputs: MetricInput[]): MetricEntry[] => entries.filter((m) => inputs.includes(m.input));

  // 2. Feature-space metrics: features and class probabilities share one embedding.
  const featureSpace = wanted('features', 'probs');
  if (featureSpace.length > 0) {
    const t0 = performance.now();
    const net = await resolveFeatureNet(options.featureNet, shape);
    const refData = options.reference as ArrayDataset;
    const ref = memoReference(refData, net, options.cacheDir, log);
    const emb = embedImages(net, data, shape);
    const probsMetric = featureSpace.find((m) => m.input === 'probs');
    if (probsMetric && !emb.probs) throw new Error(`evaluate: metric '${probsMetric.name}' needs class probabilities, and feature network ${net.id} gives none`);
    const featureNet = { id: net.id, digest: net.digest };
    const label = (name: string): string => `${name}-${net.id}`;
    report(featureSpace, {
      features: { inputs: { samples: emb.features, reference: ref, seed }, label, reference: { dataset: refData.name, samples: ref.features.n }, featureNet },
      probs: emb.probs && { inputs: { probs: emb.probs }, label, reference: null, featureNet },
    }, t0);
  }

  // 3. Paired metrics against the FP model.
  const paired = wanted('paired');
  if (paired.length > 0) {
    const refModel = options.pairedReference;
    const sampler = options.pairedSampler ?? options.sampler;
    if (!refModel || !sampler || !isModel(subject)) throw new Error('evaluate: paired metrics need a model subject, options.sampler and options.pairedReference');
    const refName = `${refModel.id ?? 'reference model'}${options.pairedSampler ? ` (${samplerLabel(options.pairedSampler)})` : ''}`;
    let refSet: Float32Array | undefined;
    const inputs: PairedInputs = {
      samples: data,
      count: n,
      epsMseSamples: options.epsMseSamples,
      epsMse: (count) => teacherForcedEpsMse({ model: subject, reference: refModel, sampler, seed, count, shape, batchSize: options.batchSize, hooks: options.hooks }),
      referenceSamples: () =>
        (refSet ??= drawSamples({ model: refModel, sampler, seed, count: n, shape, cacheDir: options.cacheDir, batchSize: options.batchSize, share: options.shareSamples }).data),
    };
    report(paired, { paired: { inputs, label: (name) => name, reference: { dataset: refName, samples: n }, featureNet: null } }, performance.now());
  }

  // 4. Low-dimensional point metrics (2-D toy data).
  const points = wanted('points');
  if (points.length > 0) {
    if (per > 16) throw new Error(`evaluate: point metrics are for low-dimensional data; samples have ${per} values`);
    const ds = options.reference as ArrayDataset;
    const inputs: PointsInputs = { samples: { data, n, dim: per }, reference: { data: ds.data, n: ds.size, dim: per }, labels: ds.labels, referenceName: ds.name, seed };
    report(points, { points: { inputs, label: (name) => name, reference: { dataset: ds.name, samples: ds.size }, featureNet: null } }, performance.now());
  }
  if (rows.length === 0) throw new Error('evaluate: no metric produced a value');
  return rows;
}
