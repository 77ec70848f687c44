// Helpers shared by the stats module and the metric registry; not exported from the package.

/** Arithmetic mean of the values (NaN for none): the default bootstrap statistic and the MSE metrics' aggregate. */
export function arrayMean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** Throws unless `level` is a confidence level strictly between 0 and 1. */
export function checkLevel(level: number, who: string): void {
  if (!(level > 0 && level < 1)) throw new RangeError(`${who}: level must lie strictly between 0 and 1, got ${level}`);
}
