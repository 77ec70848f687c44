/** Median of a list of numbers (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times `fn` (which must force its result, e.g. by reading it back) `repeats` times after `warmup` untimed calls
 * and returns the median in milliseconds together with every sample.
 */
export function timeMedian(fn: () => void, repeats: number, warmup = 2): { medianMs: number; samplesMs: number[] } {
  for (let i = 0; i < warmup; i++) fn();
  const samplesMs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samplesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { medianMs: median(samplesMs), samplesMs };
}
