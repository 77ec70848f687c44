/** One segment of a recipe path: an object key or an array index. */
export type PathSegment = string | number;

/**
 * Parses a dotted recipe path with array indices, e.g. `pipeline[1].config.bits` → `['pipeline', 1, 'config', 'bits']`.
 *
 * @throws Error for an empty path, an empty segment or a malformed index.
 */
export function parsePath(text: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|(\.)/g;
  let expectKey = true;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index !== last) break;
    if (m[1] !== undefined) {
      if (!expectKey) break;
      out.push(m[1]);
      expectKey = false;
    } else if (m[2] !== undefined) {
      if (expectKey) break;
      out.push(Number(m[2]));
    } else {
      if (expectKey) break;
      expectKey = true;
    }
    last = re.lastIndex;
  }
  if (last !== text.length || expectKey || out.length === 0) throw new Error(`'${text}' is not a recipe path (expected e.g. sample.steps or pipeline[1].config.bits)`);
  return out;
}

/** Formats path segments as `pipeline[1].config.bits` (the root is the empty string). */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else s += s === '' ? String(seg) : `.${String(seg)}`;
  }
  return s;
}

/** The value at `path` in a plain JSON-like value, or undefined. */
export function getPath(root: unknown, path: readonly PathSegment[]): unknown {
  let v: unknown = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/**
 * A deep copy of `root` with `value` at `path`; intermediate objects are created as needed, arrays must exist.
 * `null` removes an object key instead (an ablation value `null` for `pipeline` evaluates the base model alone).
 *
 * @throws Error when the path runs through a scalar or indexes past the end of an array.
 */
export function setPath<T>(root: T, path: readonly PathSegment[], value: unknown): T {
  const copy = structuredClone(root) as unknown;
  let v = copy as Record<PropertyKey, unknown>;
  path.forEach((seg, i) => {
    if (i === path.length - 1) {
      if (Array.isArray(v) && (typeof seg !== 'number' || seg >= v.length)) throw new Error(`${formatPath(path)}: index ${String(seg)} is past the end of the list`);
      if (value === null && !Array.isArray(v)) delete v[seg];
      else v[seg] = structuredClone(value);
      return;
    }
    let next = v[seg];
    if (next === undefined && !Array.isArray(v)) {
      next = typeof path[i + 1] === 'number' ? [] : {};
      v[seg] = next;
    }
    if (next === null || typeof next !== 'object') throw new Error(`${formatPath(path.slice(0, i + 1))} is not an object or list, so ${formatPath(path)} cannot be set`);
    v = next as Record<PropertyKey, unknown>;
  });
  return copy as T;
}
