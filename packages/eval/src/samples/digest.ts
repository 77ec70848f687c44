import { AnyModule, canonicalJson, sha256Hex } from '@diffpress/core';
import { OnnxUNet, runtimeOf } from '@diffpress/diffusion';

// The content keys moved to core (one helper for every cache); re-exported for the packages that import them from here.
export { canonicalJson, fileDigest, jsonDigest } from '@diffpress/core';

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
 * instances) is invisible to it: give such a model an explicit `hooksKey` when sampling.
 *
 * @returns 64 hex characters.
 */
export function moduleDigest(module: AnyModule): string {
  const runtime = runtimeOf(module);
  // A model on another runtime is its source network plus how it was exported: its samples agree with tfjs's only
  // to a tolerance (and QDQ up to rounding ties), so they are kept apart; the thread count does not enter.
  if (runtime && module instanceof OnnxUNet) return sha256Hex(withRuntime(moduleDigestParts(module.source as unknown as AnyModule), `runtime ${runtime.name} ${runtime.quantization}\n`));
  return sha256Hex(moduleDigestParts(module));
}

function* withRuntime(parts: Generator<string | Uint8Array>, tag: string): Generator<string | Uint8Array> {
  yield* parts;
  yield tag;
}

/** What {@link moduleDigest} hashes, one piece at a time (a tensor's values are read only when hashed). */
function* moduleDigestParts(module: AnyModule): Generator<string | Uint8Array> {
  for (const [p, m] of module.namedModules()) yield `module ${p} ${m.constructor.name} ${canonicalJson(settingsOf(m))}\n`;
  const entries = [...module.stateDict()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, v] of entries) {
    yield `tensor ${name} ${v.dtype} ${v.shape.join('x')}\n`;
    const data = v.dataSync();
    yield new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
}

