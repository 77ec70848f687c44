import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  FileLock, cachePath, engineInfo, rawFromFloat32, rawToFloat32, readSafetensorsFile, sleepSync, tryLock, writeJsonAtomic, writeSafetensorsFile,
} from '@diffpress/core';
import { Denoiser, NoiseSchedule, Prediction, SamplerConfig, SamplingHook, canonicalSamplerConfig, runtimeOf, sample } from '@diffpress/diffusion';
import { jsonDigest, moduleDigest } from './digest';
import { modelRuntimeLabel } from './runtime-label';

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

/**
 * Largest number of samples per new cache file. Small, so that processes sharing a cache (`--jobs` workers, cluster
 * shards) can split even a short set of expensive samples (DDPM-1000) between them; the batch size does not change
 * the per-sample cost of the UNet on wasm (27.1 ms at batch 64 and 27.4 ms at batch 16 for `unet-mnist-s`). Files
 * written with another chunk size (64 before version 0.1 of the store) are read as they are.
 */
export const SAMPLE_CHUNK = 16;

/** Subfolder of the cache holding sample sets: `<cache>/samples/<key>/` (see `cachePath`). */
const SAMPLES_KIND = 'samples';

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
  /** Sampling hooks of the model (sampling-time compression methods), outermost first; need `hooksKey` to be cached. */
  hooks?: readonly SamplingHook[];
  /** Identifies the hook chain and its settings in the cache key (e.g. the method ids and their resolved configs). */
  hooksKey?: string;
  /**
   * Share the work with other processes drawing the same set into the same cache folder: a chunk that another live
   * process is drawing (its lock file `<start>.lock` exists) is skipped and waited for instead of drawn twice.
   */
  share?: boolean;
  /** Progress: samples available so far (cached ones included) and the total. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Finer progress for long chunks (a DDPM-1000 chunk takes minutes): samples done so far, fractional within the
   * chunk being drawn (its share of sampler steps finished), and the total. Called after every sampler step.
   */
  onStepProgress?: (done: number, total: number) => void;
}

/** A drawn (or cache-loaded) sample set. */
export interface SampleSet {
  /** Samples `[count, ...shape]`, row-major, in the model's data range. */
  data: Float32Array;
  /** Number of samples. */
  count: number;
  /** Shape of one sample. */
  shape: number[];
  /** Cache key (SHA-256 of model digest, sampler, seed, shape and hook-chain key). */
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
  return canonicalSamplerConfig(s);
}

/** Short label of a sampler for tables and row fields, e.g. `ddim-50`, `ddpm-1000`, `ddim-50-eta0.5`. */
export function samplerLabel(s: SamplerConfig): string {
  const c = canonicalSampler(s);
  // Explicit times are named by a short digest: the label must stay short, and equal times give equal labels.
  const extra = [c.eta !== undefined ? `eta${c.eta}` : '', c.spacing ?? '', c.times ? `t${jsonDigest(c.times).slice(0, 8)}` : '', c.clipDenoised === false ? 'noclip' : '', c.ddpmVariance ?? ''].filter(Boolean);
  return [`${c.kind}-${c.steps}`, ...extra].join('-');
}

/**
 * The cache key of a sample set: SHA-256 of the model digest, its schedule and parameterization, the canonical
 * sampler, the seed, the sample shape and the hook-chain key (stored under `policy`, its name before hooks chained,
 * so that earlier sample sets are still found).
 */
export function sampleSetKey(
  modelDigest: string,
  model: Pick<SamplingModel, 'schedule' | 'prediction'>,
  sampler: SamplerConfig,
  seed: number,
  shape: readonly number[],
  hooksKey?: string,
): string {
  return jsonDigest({
    v: 1,
    model: modelDigest,
    schedule: model.schedule.toConfig(),
    prediction: model.prediction,
    sampler: canonicalSampler(sampler),
    seed,
    shape: [...shape],
    policy: hooksKey ?? null,
  });
}

/**
 * How many samples of a set the cache already holds from index 0 on (contiguous chunk files), without drawing any:
 * what an evaluation can report now while the rest is still being drawn.
 */
export function cachedSampleCount(model: SamplingModel, sampler: SamplerConfig, seed: number, shape: readonly number[], cacheDir?: string, hooksKey?: string): number {
  const key = sampleSetKey(moduleDigest(model.unet), model, sampler, seed, shape, hooksKey);
  const dir = cachePath(cacheDir ?? defaultCacheDir(), SAMPLES_KIND, key);
  const per = shape.reduce((a, b) => a * b, 1);
  const chunks = listChunks(dir, per);
  let count = 0;
  for (let c = chunks.get(0); c; c = chunks.get(count)) count += c.rows;
  return count;
}

function chunkFileName(start: number): string {
  return `${String(start).padStart(7, '0')}.safetensors`;
}

/** A chunk file on disk: rows [start, start + rows) of the set. */
interface ChunkFile {
  file: string;
  rows: number;
}

/** The shape of a chunk file's `samples` tensor from its safetensors header alone (planning must not decode data). */
function samplesShape(file: string): number[] | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const len = Buffer.alloc(8);
    fs.readSync(fd, len, 0, 8, 0);
    const header = Buffer.alloc(Number(len.readBigUInt64LE(0)));
    fs.readSync(fd, header, 0, header.length, 8);
    return (JSON.parse(header.toString('utf8')) as Record<string, { shape?: number[] }>).samples?.shape;
  } finally {
    fs.closeSync(fd);
  }
}

/** The chunk files of a set folder by first index (their row counts from the headers, without decoding the data). */
function listChunks(dir: string | null, per: number): Map<number, ChunkFile> {
  const out = new Map<number, ChunkFile>();
  if (!dir || !fs.existsSync(dir)) return out;
  for (const name of fs.readdirSync(dir)) {
    const m = /^(\d{7})\.safetensors$/.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    const shape = samplesShape(file);
    if (!shape) throw new Error(`sample cache file '${file}' has no 'samples' tensor; delete it to redraw`);
    const values = shape.reduce((a, b) => a * b, 1);
    if (values === 0 || values % per !== 0) {
      throw new Error(`sample cache file '${file}' holds ${values} values, not whole samples of ${per} values; delete it to redraw`);
    }
    out.set(Number(m[1]), { file, rows: values / per });
  }
  return out;
}

interface ChunkRecord {
  data: Float32Array;
  seconds: number;
  backend: string;
}

function readChunk(file: string): ChunkRecord {
  const { tensors, metadata } = readSafetensorsFile(file);
  const raw = tensors.get('samples');
  if (!raw) throw new Error(`sample cache file '${file}' has no 'samples' tensor; delete it to redraw`);
  return { data: rawToFloat32(raw), seconds: Number(metadata['diffpress.seconds'] ?? 0), backend: metadata['diffpress.backend'] ?? 'unknown' };
}

const lastRefresh = new WeakMap<FileLock, number>();

/** Keeps a held lock fresh during a long draw without touching the file at every sampler step. */
function refreshEvery(lock: FileLock, ms: number): void {
  const now = Date.now();
  if (now - (lastRefresh.get(lock) ?? 0) < ms) return;
  lastRefresh.set(lock, now);
  lock.refresh();
}

/** One piece of the set: rows [start, end), either on disk or still to draw. */
interface Piece {
  start: number;
  end: number;
  chunk?: ChunkFile;
}

/**
 * Cuts [0, count) into cached chunks and missing pieces of at most {@link SAMPLE_CHUNK} rows. Missing pieces start
 * where the cached data stops and end before the next cached chunk, so every process sharing the folder cuts the same
 * pieces and their lock names agree.
 */
function planPieces(chunks: Map<number, ChunkFile>, count: number): Piece[] {
  const starts = [...chunks.keys()].sort((a, b) => a - b);
  const pieces: Piece[] = [];
  let p = 0;
  while (p < count) {
    const chunk = chunks.get(p);
    if (chunk) {
      pieces.push({ start: p, end: Math.min(count, p + chunk.rows), chunk });
      p += chunk.rows;
      continue;
    }
    const next = starts.find((s) => s > p) ?? Infinity;
    const end = Math.min(count, p + SAMPLE_CHUNK, next);
    pieces.push({ start: p, end });
    p = end;
  }
  return pieces;
}

/**
 * Draws `count` samples of a model with a sampler, caching them on disk keyed by the model's content digest, the
 * sampler settings, the seed and the shape. Sample i is the same whether it comes from the cache or is drawn now
 * (its noise is keyed by (seed, i)), so evaluation runs are resumable, repeated evaluations are free, and a set can
 * grow later (only the new indices are drawn).
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
  if (options.hooks?.length && options.hooksKey === undefined && options.cacheDir !== null) {
    throw new Error('drawSamples: sampling hooks need a hooksKey to be cached (or pass cacheDir: null)');
  }
  const per = shape.reduce((a, b) => a * b, 1);
  const digest = moduleDigest(model.unet);
  const key = sampleSetKey(digest, model, sampler, seed, shape, options.hooksKey);
  const dir = options.cacheDir === null ? null : cachePath(options.cacheDir ?? defaultCacheDir(), SAMPLES_KIND, key);
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    const about = path.join(dir, 'about.json');
    if (!fs.existsSync(about)) {
      writeJsonAtomic(about, { model: model.id ?? null, modelDigest: digest, sampler, seed, shape, policy: options.hooksKey ?? null });
    }
  }
  const data = new Float32Array(count * per);
  let seconds = 0;
  let cached = 0;
  let done = 0;
  const backends = new Set<string>();
  // Chunks drawn on onnxruntime name it (version, threads); tfjs chunks keep the plain backend name they always had.
  const backend = runtimeOf(model.unet) ? modelRuntimeLabel(model.unet) : (engineInfo()?.backend ?? 'unknown');
  const take = (piece: Piece, chunk: ChunkRecord, fromCache: boolean): void => {
    const rows = piece.end - piece.start;
    data.set(chunk.data.subarray(0, rows * per), piece.start * per);
    seconds += (chunk.seconds * rows) / (chunk.data.length / per);
    backends.add(chunk.backend);
    if (fromCache) cached += rows;
    done += rows;
    options.onProgress?.(done, count);
  };
  const doneStarts = new Set<number>();
  // Passes over the plan: draw what nobody else is drawing, then wait for the rest (only when sharing).
  for (;;) {
    const pieces = planPieces(listChunks(dir, per), count).filter((p) => !doneStarts.has(p.start));
    if (pieces.length === 0) break;
    let waiting = false;
    for (const piece of pieces) {
      if (piece.chunk) {
        take(piece, readChunk(piece.chunk.file), true);
        doneStarts.add(piece.start);
        continue;
      }
      const lock = dir && options.share ? tryLock(path.join(dir, `${String(piece.start).padStart(7, '0')}.lock`)) : null;
      if (dir && options.share && !lock) {
        waiting = true;
        continue;
      }
      try {
        // Another process may have finished this piece between the plan and the lock.
        const file = dir ? path.join(dir, chunkFileName(piece.start)) : null;
        if (file && fs.existsSync(file)) continue;
        const t0 = performance.now();
        const x = sample({
          model: model.unet,
          schedule: model.schedule,
          prediction: model.prediction,
          shape,
          indices: Array.from({ length: piece.end - piece.start }, (_, j) => piece.start + j),
          seed,
          sampler,
          batchSize: options.batchSize,
          hooks: options.hooks,
          onStep:
            lock || options.onStepProgress
              ? (e) => {
                  if (lock) refreshEvery(lock, 10_000);
                  // Rows of earlier batches of this piece are finished; the current batch is (i + 1) / steps done.
                  options.onStepProgress?.(done + (e.indices[0] - piece.start) + (e.indices.length * (e.i + 1)) / sampler.steps, count);
                }
              : undefined,
        });
        if (!x) throw new Error('drawSamples: the sampler returned no samples');
        const values = x.dataSync() as Float32Array;
        x.dispose();
        const chunk = { data: values, seconds: (performance.now() - t0) / 1000, backend };
        if (file) {
          writeSafetensorsFile(file, new Map([['samples', rawFromFloat32(values, [piece.end - piece.start, ...shape])]]), {
            'diffpress.seconds': chunk.seconds.toFixed(3),
            'diffpress.backend': backend,
          });
        }
        take(piece, chunk, false);
        doneStarts.add(piece.start);
      } finally {
        lock?.release();
      }
    }
    if (waiting) sleepSync(1000);
  }
  return { data, count, shape, key, modelDigest: digest, seconds, cached, backends: [...backends] };
}

/** Thrown by {@link readCachedSamples} when the cache does not hold the samples asked for (a store without them). */
export class MissingSamplesError extends Error {
  /** The class name, for messages and logs. */
  override name = 'MissingSamplesError';
}

/**
 * Reads the first `count` samples of a cached set by its key (as recorded in result rows and reports), without the
 * model — e.g. to draw sample grids of a finished run.
 *
 * @throws MissingSamplesError when the cache holds fewer than `count` contiguous samples of the set; a chunk that
 * cannot be read throws as it is.
 */
export function readCachedSamples(cacheDir: string, key: string, count: number, shape: readonly number[]): Float32Array {
  const per = shape.reduce((a, b) => a * b, 1);
  const dir = cachePath(cacheDir, SAMPLES_KIND, key);
  const pieces = planPieces(listChunks(dir, per), count);
  const missing = pieces.find((p) => !p.chunk);
  if (missing) throw new MissingSamplesError(`sample set ${key.slice(0, 12)} in ${cacheDir} holds only ${missing.start} of the ${count} samples asked`);
  const data = new Float32Array(count * per);
  for (const p of pieces) data.set(readChunk((p.chunk as ChunkFile).file).data.subarray(0, (p.end - p.start) * per), p.start * per);
  return data;
}
