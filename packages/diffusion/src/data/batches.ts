import { Rng } from '@diffpress/core';
import { ArrayDataset, takeBatch } from './dataset';
import { DataBatch } from '../train/diffusion-loss';

/**
 * Batches for a {@link Trainer} as a pure function of the step: sample `g = step·batchSize + j` of the stream is
 * `perm_e[g mod N]` with epoch `e = ⌊g/N⌋` and `perm_e` a permutation drawn from `Rng(seed, 'data/epoch-e')`. So
 * every epoch visits each sample once, and a resumed run sees the same batches as an uninterrupted one.
 *
 * @example
 * ```ts
 * const batches = datasetBatches(loadMnist({ split: 'train' }), 32, 0);
 * const { x, indices, rows } = batches(0); // x: [32, 28, 28, 1]; rows: dataset rows (for labels)
 * ```
 */
export function datasetBatches(ds: ArrayDataset, batchSize: number, seed: number): (step: number) => DataBatch {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  if (ds.size === 0) throw new Error(`dataset ${ds.name} is empty`);
  const perms = new Map<number, number[]>();
  const perm = (epoch: number): number[] => {
    let p = perms.get(epoch);
    if (!p) {
      p = new Rng(seed, `data/epoch-${epoch}`).permutation(ds.size);
      // Keep two epochs: a batch that straddles a boundary reads both.
      if (perms.size >= 2) perms.delete(Math.min(...perms.keys()));
      perms.set(epoch, p);
    }
    return p;
  };
  return (step) => {
    const indices = Array.from({ length: batchSize }, (_, j) => step * batchSize + j);
    const rows = indices.map((g) => perm(Math.floor(g / ds.size))[g % ds.size]);
    return { x: takeBatch(ds, rows), indices, rows };
  };
}
