import { Rng } from '@diffpress/core';
import { ArrayDataset, subset } from './dataset';

/** Row indices of the two parts of a held-out split, each in dataset order. */
export interface SplitIndices {
  /** Rows kept for training. */
  train: number[];
  /** Rows held out. */
  test: number[];
}

/**
 * A fixed train/test split of `size` rows: within each class (all rows form one class when `labels` is absent) a
 * permutation drawn from `Rng(seed, '<stream>/<class>')` sends its first `round(fraction · count)` members to test
 * and the rest to train. So the split is stratified where there are labels, depends only on the rows' order, labels
 * and the seed, and both lists come back sorted (dataset order). MNIST's fixed split is this split (stream
 * `mnist-split`).
 *
 * @param size - Number of rows.
 * @param fraction - Share held out, in [0, 1].
 * @param seed - Seed of the permutations.
 * @param stream - Name of the generator stream (a fixed string per dataset kind keeps splits of kinds apart).
 * @param labels - Class of each row, when known.
 * @throws RangeError on a fraction outside [0, 1] or labels of another length.
 *
 * @example
 * ```ts
 * const { train, test } = heldOutSplit(100, 0.2, 7, 'png-split'); // 80 and 20 rows
 * ```
 */
export function heldOutSplit(size: number, fraction: number, seed: number, stream: string, labels?: Int32Array): SplitIndices {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`held-out fraction must be in [0, 1], got ${fraction}`);
  if (labels && labels.length !== size) throw new RangeError(`${labels.length} labels for ${size} rows`);
  const classes = new Map<number, number[]>();
  for (let i = 0; i < size; i++) {
    const c = labels ? labels[i] : -1;
    const members = classes.get(c);
    if (members) members.push(i);
    else classes.set(c, [i]);
  }
  const train: number[] = [];
  const test: number[] = [];
  for (const c of [...classes.keys()].sort((a, b) => a - b)) {
    const members = classes.get(c) as number[];
    const perm = new Rng(seed, `${stream}/${labels ? c : 'all'}`).permutation(members.length);
    const nTest = Math.round(fraction * members.length);
    perm.forEach((p, rank) => (rank < nTest ? test : train).push(members[p]));
  }
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

/**
 * One part of {@link heldOutSplit} of a dataset, named `<name>/<part>`.
 *
 * @example
 * ```ts
 * const test = splitDataset(loadPngFolder('faces'), 'test', { fraction: 0.2, seed: 7, stream: 'png-split' });
 * ```
 */
export function splitDataset(ds: ArrayDataset, part: keyof SplitIndices, split: { fraction: number; seed: number; stream: string }): ArrayDataset {
  const rows = heldOutSplit(ds.size, split.fraction, split.seed, split.stream, ds.labels)[part];
  return subset(ds, rows, `${ds.name}/${part}`);
}
