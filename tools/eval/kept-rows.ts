/**
 * Which result rows of an earlier `docs/baselines.json` may stand in for a sample set that is not in this machine's
 * sample cache. A DDPM-1000 set of 1000 samples costs more core-hours than one working session has, and sample
 * caches do not travel with the repository, so the baselines document is assembled from rows measured on different
 * machines and days; each kept row still says when and from what it was measured (its `date`, digests and versions).
 */
import * as fs from 'fs';
import { ResultRow, metricInfo } from '@diffpress/eval';

/** What a kept set of rows must match exactly. */
export interface KeptRowsQuery {
  /** Model id (the rows' `subject`). */
  subject: string;
  /** Content digest of the model's weights as loaded now. */
  modelDigest: string;
  /** Sampler label, e.g. `ddpm-1000`. */
  sampler: string;
  /** Experiment seed. */
  seed: number;
  /** Artifact digest of the feature network in use now. */
  featureNetDigest: string;
  /** Version of `@diffpress/eval` now. */
  libraryVersion: string;
  /** Registry names of the metrics the document needs; every one must be present at its current version. */
  metrics: readonly string[];
}

/**
 * Reads the rows of an earlier baselines.json, or none when the file does not exist.
 *
 * @throws Error when the file exists but is not a JSON array (a damaged record should stop the run, not be overwritten).
 */
export function readPreviousRows(file: string): ResultRow[] {
  if (!fs.existsSync(file)) return [];
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(parsed)) throw new Error(`${file}: expected a JSON array of result rows`);
  return parsed as ResultRow[];
}

/**
 * The earlier rows of one sample set, one per asked metric, at the largest sample count up to `maxSamples` that has
 * them all; `null` when no such count has every metric. Rows are kept only when everything that determines their
 * values matches: model weights, sampler, seed, feature network, metric versions and library version. Data rows (the
 * floor) are never kept: they are cheap to recompute.
 */
export function keptRows(previous: readonly ResultRow[], q: KeptRowsQuery, maxSamples = Infinity): ResultRow[] | null {
  const matching = previous.filter(
    (r) =>
      r.subject === q.subject &&
      r.modelDigest === q.modelDigest &&
      r.sampler === q.sampler &&
      r.seed === q.seed &&
      r.featureNet?.digest === q.featureNetDigest &&
      r.libraryVersion === q.libraryVersion &&
      r.recipeHash === null &&
      r.samples <= maxSamples,
  );
  const counts = [...new Set(matching.map((r) => r.samples))].sort((a, b) => b - a);
  for (const n of counts) {
    const rows = q.metrics.map((id) => matching.find((r) => r.samples === n && r.metricId === id && r.metricVersion === metricInfo(id).version));
    if (rows.every((r): r is ResultRow => r !== undefined)) return rows;
  }
  return null;
}
