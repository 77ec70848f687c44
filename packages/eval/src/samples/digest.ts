import * as fs from 'fs';
import { createHash } from 'crypto';
import { AnyModule } from '@diffpress/core';

function isPlain(v: unknown, depth = 0): boolean {
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return true;
  if (depth > 4 || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.every((x) => isPlain(x, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.values(v as Record<string, unknown>).every((x) => isPlain(x, depth + 1));
}

/**
 * A module's own settings: its enumerable fields holding plain data (numbers, strings, booleans, and arrays or
 * plain objects of them) — e.g. a quantizer's bit-width or a layer's config — but not tensors, child modules,
 * generators or the training flag.
 */
function settingsOf(m: AnyModule): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) if (k !== 'trainingMode' && isPlain(v)) out[k] = v;
  return out;
}

/**
 * Content digest of a module: SHA-256 over its module tree (paths, class names and each module's plain settings
 * such as bit-widths) and every state-dict tensor (name, dtype, shape, bytes). Two models with equal digests
 * compute the same function, so cached samples and statistics keyed by it are safe to reuse; a compressed copy
 * (replaced layers, other bit-widths, changed weights) gets a new digest. State held elsewhere (closures, class
 * instances) is invisible to it: give such a model an explicit `policyKey` when sampling.
 *
 * @returns 64 hex characters.
 */
export function moduleDigest(module: AnyModule): string {
  const h = createHash('sha256');
  for (const [p, m] of module.namedModules()) h.update(`module ${p} ${m.constructor.name} ${canonicalJson(settingsOf(m))}\n`);
  const entries = [...module.stateDict()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, v] of entries) {
    h.update(`tensor ${name} ${v.dtype} ${v.shape.join('x')}\n`);
    const data = v.dataSync();
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex');
}

/** SHA-256 of the canonical JSON of `value` (object keys sorted), as hex: the key of a cached product. */
export function jsonDigest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
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
    const h = createHash('sha256');
    for (const f of files) h.update(fs.readFileSync(f));
    digest = h.digest('hex');
    fileDigestMemo.set(stamp, digest);
  }
  return digest;
}
