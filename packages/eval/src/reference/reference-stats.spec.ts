import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine } from '@diffpress/core';
import { ArrayDataset } from '@diffpress/diffusion';
import { FeatureNetwork } from '../features/feature-network';
import { datasetDigest, referenceStats } from './reference-stats';

/** Features = the 2-D points themselves: the statistics are then known by hand. */
const identity: FeatureNetwork = {
  id: 'identity',
  digest: 'e'.repeat(64),
  inputShape: [2],
  featureDim: 2,
  embed: (x) => ({ features: x.as2D(x.shape[0], 2) }),
  dispose: () => undefined,
};

const points: ArrayDataset = { name: 'toy/points', sampleShape: [2], size: 3, data: new Float32Array([0, 0, 2, 0, 1, 3]) };

let dir: string;
beforeAll(async () => {
  await initEngine({ backend: 'wasm', quiet: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-reference-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('referenceStats', () => {
  // Users' caches hold statistics under these names: a refactor of the digests must not move them.
  it('keeps the dataset digest and the cache file of existing entries (pinned values)', () => {
    expect(datasetDigest(points)).toBe('7cbaba96aab46d6520e60a15747c3c6c84d4d955ea80a2a44cfd640e66960bf2');
    const ref = referenceStats(points, identity, { cacheDir: dir });
    expect(ref.file).toBe(path.join(dir, 'reference', '87e109d5cc1b91c9557aa872a4d6181c7c6090ed6dce3fb1627c396c32816c36.safetensors'));
    expect(ref.cached).toBe(false);
    expect(Array.from(ref.stats.mean)).toEqual([1, 1]);
  });

  it('reads the cached entry back, and computes without writing when the cache is off', () => {
    const first = referenceStats(points, identity, { cacheDir: dir });
    const again = referenceStats(points, identity, { cacheDir: dir });
    expect(again.cached).toBe(true);
    expect(again.file).toBe(first.file);
    expect(Array.from(again.stats.cov.data)).toEqual(Array.from(first.stats.cov.data));
    const off = referenceStats(points, identity, { cacheDir: null });
    expect(off).toMatchObject({ file: null, cached: false });
    expect(Array.from(off.stats.mean)).toEqual([1, 1]);
  });
});
