import { RawTensor, cachedFile, rawFromFloat32, rawToTypedArray, readSafetensorsFile, sha256Hex, writeSafetensorsFile } from '@diffpress/core';
import { ArrayDataset } from '@diffpress/diffusion';
import { EmbeddedSet, embedImages } from '../features/embed';
import { FeatureNetRef, FeatureNetwork } from '../features/feature-network';
import { GaussianStats, gaussianStats } from '../metrics/frechet';
import { defaultCacheDir } from '../samples/sample-store';

/** A reference set in a feature space: its features, probabilities and Gaussian fit. */
export interface ReferenceStats extends EmbeddedSet {
  /** Dataset name, e.g. `mnist/train`. */
  dataset: string;
  /** SHA-256 of the dataset's values (so a changed split is never served from an old cache). */
  datasetDigest: string;
  /** Feature network id and digest. */
  featureNet: FeatureNetRef;
  /** Mean and covariance of the features (float64). */
  stats: GaussianStats;
  /** Cache file, or `null` when not cached. */
  file: string | null;
  /** Whether it was read from the cache. */
  cached: boolean;
}

/** SHA-256 of a dataset's name, shape and values. */
export function datasetDigest(ds: ArrayDataset): string {
  return sha256Hex([`${ds.name} ${ds.sampleShape.join('x')} ${ds.size}\n`, new Uint8Array(ds.data.buffer, ds.data.byteOffset, ds.data.byteLength)]);
}

function rawF64(data: Float64Array, shape: number[]): RawTensor {
  return { dtype: 'F64', shape, data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

/** Options of {@link referenceStats}. */
export interface ReferenceStatsOptions {
  /** Cache folder (default `defaultCacheDir()`); `null` disables the cache. */
  cacheDir?: string | null;
  /** Progress of the embedding. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The features, class probabilities and Gaussian statistics of a dataset split under a feature network, computed
 * once and cached on disk (`<cache>/reference/<key>.safetensors`, key = SHA-256 of dataset digest and network
 * digest; statistics stored in float64).
 *
 * @example
 * ```ts
 * const ref = referenceStats(loadMnist({ split: 'train' }), await loadFeatureNetwork());
 * ```
 */
export function referenceStats(ds: ArrayDataset, net: FeatureNetwork, options: ReferenceStatsOptions = {}): ReferenceStats {
  const dsDigest = datasetDigest(ds);
  // Keyed by a plain string rather than jsonDigest: entries written before the helper existed keep their names.
  const key = sha256Hex([`v1 ${dsDigest} ${net.digest}`]);
  const root = options.cacheDir === null ? null : (options.cacheDir ?? defaultCacheDir());
  const base = { dataset: ds.name, datasetDigest: dsDigest, featureNet: { id: net.id, digest: net.digest } };
  const read = (file: string): ReferenceStats => {
    const { tensors } = readSafetensorsFile(file);
    const get = (name: string): RawTensor => {
      const t = tensors.get(name);
      if (!t) throw new Error(`reference cache ${file} lacks '${name}'; delete it to recompute`);
      return t;
    };
    const f = get('features');
    const features = { data: rawToTypedArray(f as RawTensor & { dtype: 'F32' }), n: f.shape[0], dim: f.shape[1] };
    const p = tensors.get('probs');
    const probs = p ? { data: rawToTypedArray(p as RawTensor & { dtype: 'F32' }), n: p.shape[0], classes: p.shape[1] } : undefined;
    const dim = features.dim;
    const stats: GaussianStats = {
      n: features.n,
      mean: rawToTypedArray(get('mean') as RawTensor & { dtype: 'F64' }),
      cov: { rows: dim, cols: dim, data: rawToTypedArray(get('cov') as RawTensor & { dtype: 'F64' }) },
    };
    return { ...base, file, features, probs, stats, cached: true };
  };
  const compute = (file: string | null): ReferenceStats => {
    const embedded = embedImages(net, ds.data, ds.sampleShape, 250, options.onProgress);
    const stats = gaussianStats(embedded.features);
    if (file) {
      const tensors = new Map<string, RawTensor>([
        ['features', rawFromFloat32(embedded.features.data, [embedded.features.n, embedded.features.dim])],
        ['mean', rawF64(stats.mean, [stats.mean.length])],
        ['cov', rawF64(stats.cov.data, [stats.cov.rows, stats.cov.cols])],
      ]);
      if (embedded.probs) tensors.set('probs', rawFromFloat32(embedded.probs.data, [embedded.probs.n, embedded.probs.classes]));
      writeSafetensorsFile(file, tensors, { 'diffpress.dataset': ds.name, 'diffpress.featureNet': net.id, 'diffpress.featureNetDigest': net.digest });
    }
    return { ...base, file, ...embedded, stats, cached: false };
  };
  // Processes sharing the cache (recipe workers, background draws) embed a split once; the others wait and read it.
  return cachedFile({ root, kind: 'reference', key, ext: '.safetensors' }, read, compute);
}
