import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { produceOnce } from './lock';

/**
 * SHA-256 of `parts` fed in order (strings as UTF-8), as 64 hex characters: the one hash behind every content key
 * of the framework. `parts` may be a generator, so large inputs (a model's tensors, a file's bytes) are hashed one
 * piece at a time.
 *
 * @example
 * ```ts
 * sha256Hex(['v1 ', datasetDigest, ' ', netDigest]); // same as sha256Hex([`v1 ${datasetDigest} ${netDigest}`])
 * ```
 */
export function sha256Hex(parts: Iterable<string | Uint8Array>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** JSON with object keys sorted at every level, so equal values always serialise identically. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return v;
  });
}

/** SHA-256 of the canonical JSON of `value` (object keys sorted), as hex: the key of a cached product. */
export function jsonDigest(value: unknown): string {
  return sha256Hex([canonicalJson(value)]);
}

const fileDigestMemo = new Map<string, string>();

/**
 * SHA-256 of the bytes of `files`, concatenated in order (an artifact's identity, e.g. a checkpoint or a tfjs model's
 * `model.json` and shards). Remembered per (paths, sizes, modification times), so keying many runs by the same file
 * reads it once.
 *
 * @example
 * ```ts
 * fileDigest(['models/unet-mnist-s-eps/model.safetensors']); // 'a3f1…'
 * ```
 */
export function fileDigest(files: readonly string[]): string {
  const stamp = files.map((f) => {
    const st = fs.statSync(f);
    return `${f}\u0000${st.size}\u0000${st.mtimeMs}`;
  }).join('\u0001');
  let digest = fileDigestMemo.get(stamp);
  if (digest === undefined) {
    digest = sha256Hex((function* () {
      for (const f of files) yield fs.readFileSync(f);
    })());
    fileDigestMemo.set(stamp, digest);
  }
  return digest;
}

/**
 * Where a cache entry lives: `<root>/<kind>/<key><ext>` — a folder (`ext` empty, e.g. a sample set's chunks) or a
 * file (`ext` `.safetensors`). Every content-addressed cache of the framework lays its entries out this way, so one
 * cache folder holds them all side by side (`samples/`, `reference/`, `calibration/`, `ptq-weights/`, and the
 * recipe store's artifact kinds).
 *
 * @example
 * ```ts
 * cachePath('~/.cache/diffpress', 'reference', key, '.safetensors'); // '~/.cache/diffpress/reference/<key>.safetensors'
 * ```
 */
export function cachePath(root: string, kind: string, key: string, ext = ''): string {
  return path.join(root, kind, `${key}${ext}`);
}

/** A single-file entry of a content-addressed cache; see {@link cachedFile}. */
export interface CachedFileEntry {
  /** The cache folder, or `null` when caching is off (the entry is then computed and not stored). */
  root: string | null;
  /** Subfolder of the kind of entry, e.g. `reference`. */
  kind: string;
  /** Content key, usually a {@link jsonDigest} of everything the entry depends on. */
  key: string;
  /** File name extension with its dot, e.g. `.safetensors`. */
  ext: string;
}

/**
 * A cache entry held in one file ({@link cachePath}): read when it exists, else produced once — under a lock, while
 * other processes sharing the folder wait and then read it ({@link produceOnce}). `produce` gets the file to write
 * atomically (e.g. with `writeSafetensorsFile`), or `null` when caching is off.
 *
 * @example
 * ```ts
 * const stats = cachedFile({ root: cacheDir, kind: 'reference', key, ext: '.safetensors' }, readStats, (file) => {
 *   const s = compute();
 *   if (file) writeStats(file, s);
 *   return s;
 * });
 * ```
 */
export function cachedFile<T>(entry: CachedFileEntry, read: (file: string) => T, produce: (file: string | null) => T): T {
  if (entry.root === null) return produce(null);
  const file = cachePath(entry.root, entry.kind, entry.key, entry.ext);
  return produceOnce(file, () => read(file), () => produce(file));
}
