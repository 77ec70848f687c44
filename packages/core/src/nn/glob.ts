/**
 * Glob patterns over dotted module paths such as `down.1.res.0.conv1`.
 *
 * - `*` matches any run of characters inside one path segment (`res*` matches `res`, `res_skip`; `*` matches
 *   exactly one segment);
 * - `?` matches one character inside a segment;
 * - `**` as a whole segment matches zero or more segments (`**.conv1` matches `conv1` and `a.b.conv1`).
 *
 * @example
 * ```ts
 * matchesGlob('down.1.res.0.conv1', 'down.*.res.*.conv1'); // true
 * matchesGlob('up.2.attn.q', '**.attn.*');                // true
 * ```
 */
export function matchesGlob(path: string, pattern: string): boolean {
  const segs = path === '' ? [] : path.split('.');
  const pats = pattern === '' ? [] : pattern.split('.');
  return matchSegments(segs, 0, pats.map(compileSegment), 0);
}

/** Whether `path` matches at least one of `patterns` (see {@link matchesGlob}). */
export function matchesAnyGlob(path: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => matchesGlob(path, p));
}

type SegmentMatcher = RegExp | 'globstar';

const compiled = new Map<string, SegmentMatcher>();

function compileSegment(seg: string): SegmentMatcher {
  if (seg === '**') return 'globstar';
  let m = compiled.get(seg);
  if (m == null) {
    const body = seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    m = new RegExp(`^${body}$`);
    compiled.set(seg, m);
  }
  return m;
}

function matchSegments(segs: string[], i: number, pats: SegmentMatcher[], j: number): boolean {
  if (j === pats.length) return i === segs.length;
  const p = pats[j];
  if (p === 'globstar') {
    // Try every split point: ** swallows 0, 1, … segments.
    for (let k = i; k <= segs.length; k++) if (matchSegments(segs, k, pats, j + 1)) return true;
    return false;
  }
  return i < segs.length && p.test(segs[i]) && matchSegments(segs, i + 1, pats, j + 1);
}
