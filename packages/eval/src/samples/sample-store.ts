import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { engineInfo, rawFromFloat32, rawToFloat32, readSafetensorsFile, writeSafetensorsFile } from '@diffpress/core';
import { Denoiser, ModelCallPolicy, NoiseSchedule, Prediction, SamplerConfig, sample } from '@diffpress/diffusion';
import { jsonDigest, moduleDigest } from './digest';

/** What a sampler needs of a diffusion model (a loaded `DiffusionModel` fits). */
export interface SamplingModel {
  /** The network. */
  unet: Denoiser;
  /** Its noise schedule. */
  schedule: NoiseSchedule;
  /** Its parameterization. */
  prediction: Prediction;
  /** A name for logs and result rows (the shipped id, or a file). */
  id?: string;
}

/** Samples per cache file. Fixed (not the batch size) so that a cache written with any batch size is reusable. */
export const SAMPLE_CHUNK = 64;

/** Environment variable that overrides the default cache folder. */
export const CACHE_ENV_VAR = 'DIFFPRESS_CACHE';

/** The cache folder: `$DIFFPRESS_CACHE`, else `~/.cache/diffpress`. */
export function defaultCacheDir(): string {
  return process.env[CACHE_ENV_VAR] || path.join(os.homedir(), '.cache', 'diffpress');
}

/** Options of {@link drawSamples}. */
export interface DrawSamplesOptions {
  /** The model to sample. */
  model: SamplingModel;
  /** Sampler and its settings. */
  sampler: SamplerConfig;
  /** Experiment seed: sample i's noise is keyed by (seed, i), as in `sample()`. */
  seed: number;
  /** Number of samples: indices 0 … count − 1. */
  count: number;
  /** Shape of one sample, e.g. `[28, 28, 1]`. */
  shape: readonly number[];
  /**
   * Cache folder (default {@link defaultCacheDir}); `null` disables caching. Samples are stored in chunks of
   * {@link SAMPLE_CHUNK} under `samples/<key>/`, so an interrupted draw resumes at the first missing chunk.
   */
  cacheDir?: string | null;
  /** Samples per model call (default 64). */
  batchSize?: number;
  /** How the sampler calls the model (sampling-time compression methods); needs `policyKey` to be cached. */
  policy?: ModelCallPolicy;
  /** Identifies `policy` and its settings in the cache key (e.g. the method id and its resolved config). */
  policyKey?: string;
  /** Progress: samples available so far (cached ones included) and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** A drawn (or cache-loaded) sample set. */
export interface SampleSet {
  /** Samples `[count, ...shape]`, row-major, in the model's data range. */
  data: Float32Array;
  /** Number of samples. */
  count: number;
  /** Shape of one sample. */
  shape: number[];
  /** Cache key (SHA-256 of model digest, sampler, seed, shape and policy key). */
  key: string;
  /** Digest of the sampled model ({@link moduleDigest}). */
  modelDigest: string;
  /** Wall-clock seconds spent drawing all `count` samples, summed over chunks (including cached chunks' records). */
  seconds: number;
  /** How many samples came from the cache. */
  cached: number;
  /** Backends that drew the chunks (usually one). */
  backends: string[];
}

/**
 * The sampler config without the entries that equal their defaults (η 0, uniform spacing, clipping on, small DDPM
 * variance), so that equal samplers give equal cache keys however they were written.
 */
export function canonicalSampler(s: SamplerConfig): SamplerConfig {
  const out: SamplerConfig = { kind: s.kind, steps: s.steps };
  if (s.kind === 'ddim' && (s.eta ?? 0) !== 0) out.eta = s.eta;
  if ((s.spacing ?? 'uniform') !== 'uniform') out.spacing = s.spacing;
  if ((s.clipDenoised ?? true) !== true) out.clipDenoised = s.clipDenoised;
  if (s.kind === 'ddpm' && (s.ddpmVariance ?? 'small') !== 'small') out.ddpmVariance = s.ddpmVariance;
  return out;
}

/** Short label of a sampler for tables and row fields, e.g. `ddim-50`, `ddpm-1000`, `ddim-50-eta0.5`. */
export function samplerLabel(s: SamplerConfig): string {
  const c = canonicalSampler(s);
  const extra = [c.eta !== undefined ? `eta${c.eta}` : '', c.spacing ?? '', c.clipDenoised === false ? 'noclip' : '', c.ddpmVariance ?? ''].filter(Boolean);
  return [`${c.kind}-${c.steps}`, ...extra].join('-');
}

/**
 * The cache key of a sample set: SHA-256 of the model digest, its schedule and parameterization, the canonical
 * sampler, the seed, the sample shape and the policy key.
 */
export function sampleSetKey(
  modelDigest: string,
  model: Pick<SamplingModel, 'schedule' | 'prediction'>,
  sampler: SamplerConfig,
  seed: number,
  shape: readonly number[],
  policyKey?: string,
): string {
  return jsonDigest({
    v: 1,
    model: modelDigest,
    schedule: model.schedule.toConfig(),
    prediction: model.prediction,
    sampler: canonicalSampler(sampler),
    seed,
    shape: [...shape],
    policy: policyKey ?? null,
  });
}

/**
 * How many samples of a set the cache already holds from index 0 on (whole chunks, in order), without drawing any:
 * what an evaluation can report now while the rest is still being drawn.
 */
export function cachedSampleCount(model: SamplingModel, sampler: SamplerConfig, seed: number, shape: readonly number[], cacheDir?: string, policyKey?: string): number {
  const key = sampleSetKey(moduleDigest(model.unet), model, sampler, seed, shape, policyKey);
  const dir = path.join(cacheDir ?? defaultCacheDir(), 'samples', key);
  let count = 0;
  while (fs.existsSync(path.join(dir, chunkFileName(count)))) count += SAMPLE_CHUNK;
  return count;
}

function chunkFileName(start: number): string {
  return `${String(start).padStart(7, '0')}.safetensors`;
}

interface ChunkRecord {
  data: Float32Array;
  seconds: number;
  backend: string;
}

function readChunk(file: string, expect: number): ChunkRecord | null {
  if (!fs.existsSync(file)) return null;
  const { tensors, metadata } = readSafetensorsFile(file);
  const raw = tensors.get('samples');
  if (!raw) throw new Error(`sample cache file '${file}' has no 'samples' tensor; delete it to redraw`);
  const data = rawToFloat32(raw);
  if (data.length !== expect) throw new Error(`sample cache file '${file}' holds ${data.length} values, expected ${expect}; delete it to redraw`);
  return { data, seconds: Number(metadata['diffpress.seconds'] ?? 0), backend: metadata['diffpress.backend'] ?? 'unknown' };
}

/**
 * Draws `count` samples of a model with a sampler, caching them on disk keyed by the model's content digest, the
 * sampler settings, the seed and the shape. Sample i is the same whether it comes from the cache or is drawn now
 * (its noise is keyed by (seed, i)), so evaluation runs are resumable and repeated evaluations are free.
 *
 * @example
 * ```ts
 * const m = loadDiffusionModel('unet-mnist-s-eps');
 * const set = drawSamples({ model: m, sampler: { kind: 'ddim', steps: 50 }, seed: 0, count: 1000, shape: [28, 28, 1] });
 * ```
 */
export function drawSamples(options: DrawSamplesOptions): SampleSet {
  const { model, sampler, seed, count } = options;
  const shape = [...options.shape];
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`drawSamples: count must be a positive integer, got ${count}`);
  if (options.policy && options.policyKey === undefined && options.cacheDir !== null) {
    throw new Error('drawSamples: a custom policy needs a policyKey to be cached (or pass cacheDir: null)');
  }
  const per = shape.reduce((a, b) => a * b, 1);
  const digest = moduleDigest(model.unet);
  const key = sampleSetKey(digest, model, sampler, seed, shape, options.policyKey);
  const dir = options.cacheDir === null ? null : path.join(options.cacheDir ?? defaultCacheDir(), 'samples', key);
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    const about = path.join(dir, 'about.json');
    if (!fs.existsSync(about)) {
      fs.writeFileSync(about, JSON.stringify({ model: model.id ?? null, modelDigest: digest, sampler, seed, shape, policy: options.policyKey ?? null }, null, 2) + '\n');
    }
  }
  const data = new Float32Array(count * per);
  let seconds = 0;
  let cached = 0;
  const backends = new Set<string>();
  const backend = engineInfo()?.backend ?? tf.getBackend();
  for (let start = 0; start < count; start += SAMPLE_CHUNK) {
    const n = Math.min(SAMPLE_CHUNK, count - start);
    // A chunk file always holds a full SAMPLE_CHUNK (so counts can grow later); only its first n rows are used.
    const full = SAMPLE_CHUNK;
    const file = dir ? path.join(dir, chunkFileName(start)) : null;
    let chunk = file ? readChunk(file, full * per) : null;
    if (chunk) {
      cached += n;
    } else {
      const t0 = performance.now();
      const x = sample({
        model: model.unet,
        schedule: model.schedule,
        prediction: model.prediction,
        shape,
        indices: Array.from({ length: file ? full : n }, (_, j) => start + j),
        seed,
        sampler,
        batchSize: options.batchSize,
        policy: options.policy,
      });
      if (!x) throw new Error('drawSamples: the sampler returned no samples');
      const values = x.dataSync() as Float32Array;
      x.dispose();
      chunk = { data: values, seconds: (performance.now() - t0) / 1000, backend };
      if (file) {
        writeSafetensorsFile(file, new Map([['samples', rawFromFloat32(values, [full, ...shape])]]), {
          'diffpress.seconds': chunk.seconds.toFixed(3),
          'diffpress.backend': backend,
        });
      }
    }
    data.set(chunk.data.subarray(0, n * per), start * per);
    seconds += (chunk.seconds * n) / (chunk.data.length / per);
    backends.add(chunk.backend);
    options.onProgress?.(start + n, count);
  }
  return { data, count, shape, key, modelDigest: digest, seconds, cached, backends: [...backends] };
}
