/**
 * What a caching hook did, counted per network call it answered (one count per call, whatever its batch size):
 * how many ran the whole UNet, how many reused cached features, and how many decoder calls parallel decoding
 * batched. Tests check these against the schedules; the method's diagnostics report the per-sample figures the
 * schedule implies.
 */
export interface CacheStats {
  /** Calls that ran the whole UNet (key or full steps) and refreshed the cache. */
  full: number;
  /** Calls answered from cached features (decoder-only, shallow-path, or a pre-computed parallel decode). */
  reused: number;
  /** Batched decoder calls of parallel decoding (each covers one key step and the non-key steps after it). */
  parallelBatches: number;
}

/** Zeroed counters. */
export function emptyCacheStats(): CacheStats {
  return { full: 0, reused: 0, parallelBatches: 0 };
}
