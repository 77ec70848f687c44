import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Module, Rng, initEngine } from '@diffpress/core';
import { ArrayDataset, loadMnist, scheduleFromConfig, subset } from '@diffpress/diffusion';
import { ResultRow, evaluate, libraryVersion } from './evaluate';
import { FeatureNetwork, classifierFeatureNetwork, loadFeatureNetwork } from './features/feature-network';
import { MnistClassifier } from './features/mnist-classifier';
import { referenceStats } from './reference/reference-stats';
import { SamplingModel, drawSamples } from './samples/sample-store';

/** z ↦ a·z + b: a parameter-free denoiser whose ε̂ differences are known exactly. */
class Affine extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  constructor(
    private readonly a: number,
    private readonly b: number,
  ) {
    super();
  }
  forward(z: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(tf.mul(z, this.a), this.b));
  }
}

const schedule = scheduleFromConfig({ type: 'linear-beta', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
let dir: string;
let net: FeatureNetwork;
/**
 * A small random-feature network (16 features) for the FD/KID checks: mathjs's eigen-solver runs about 100× slower
 * under jest than in plain Node (≈ 100 s for the shipped network's 128 features), and the identities checked here
 * hold in any feature space.
 */
let small: FeatureNetwork;
let digits: ArrayDataset;

beforeAll(async () => {
  await initEngine({ backend: 'wasm', quiet: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-evaluate-'));
  net = await loadFeatureNetwork();
  small = classifierFeatureNetwork(new MnistClassifier({ channels: [4, 4, 8], hidden: 16, classes: 10, dropout: 0 }, new Rng(0, 'small-net')), 'small', 'f'.repeat(64));
  // Every 16th test digit: the split is ordered by class, so its first rows would all be zeros.
  digits = subset(loadMnist({ split: 'test' }), Array.from({ length: 120 }, (_, i) => i * 16), 'mnist/test[::16]');
});
afterAll(() => {
  net.dispose();
  small.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('evaluate', () => {
  it('scores a set against itself as the ideal: FD 0, precision and recall 1, rows in the spec format', async () => {
    const copy = { name: 'copy', samples: digits.data, shape: [28, 28, 1] };
    const rows = await evaluate(copy, { metrics: ['precision', 'recall', 'class-entropy', 'classifier-score'], samples: 120, seed: 3, reference: digits, featureNet: net, cacheDir: dir });
    const by = (id: string): ResultRow => {
      const r = rows.find((x) => x.metricId === id);
      if (!r) throw new Error(`no ${id} row`);
      return r;
    };
    const [fd] = await evaluate(copy, { metrics: ['fd'], samples: 120, seed: 3, reference: digits, featureNet: small, cacheDir: dir });
    expect(fd.value).toBeLessThan(1e-6);
    expect(by('precision').value).toBe(1);
    expect(by('recall').value).toBe(1);
    // 120 test digits hold every class, so the histogram entropy is near ln 10 but not above it.
    expect(by('class-entropy').value).toBeGreaterThan(2.1);
    expect(by('class-entropy').value).toBeLessThanOrEqual(Math.log(10) + 1e-12);
    expect(by('precision')).toMatchObject({
      recipeHash: null, cell: {}, subject: 'copy', modelDigest: null, seed: 3, samples: 120, sampler: null,
      metric: `precision-${net.id}`, metricId: 'precision', metricVersion: 1, reference: { dataset: 'mnist/test[::16]', samples: 120 },
      featureNet: { id: net.id, digest: net.digest }, backend: 'wasm', libraryVersion: libraryVersion(),
    });
    expect(fd.metric).toBe('fd-small');
    expect(libraryVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('gives real data (the floor) a small but non-zero FD against other real data', async () => {
    const other = subset(loadMnist({ split: 'train' }), Array.from({ length: 400 }, (_, i) => i * 20), 'mnist/train[::20]');
    const rows = await evaluate({ dataset: digits }, { metrics: ['fd', 'kid'], samples: 120, seed: 0, reference: other, featureNet: small, cacheDir: dir });
    const [fdRow, kid] = rows;
    const fd = fdRow.value;
    expect([fdRow.metricId, kid.metricId]).toEqual(['fd', 'kid']);
    expect(fd).toBeGreaterThan(0);
    // KID of two real samples is 0 within a few standard errors (unbiased).
    expect(Math.abs(kid.value)).toBeLessThan(4 * (kid.stderr ?? 0));
  });

  it('computes paired fidelity against a reference model from the same noise', async () => {
    const ref: SamplingModel = { id: 'ref', unet: new Affine(0.5, 0), schedule, prediction: 'eps' };
    const same: SamplingModel = { id: 'same', unet: new Affine(0.5, 0), schedule, prediction: 'eps' };
    const shifted: SamplingModel = { id: 'shifted', unet: new Affine(0.5, 0.1), schedule, prediction: 'eps' };
    const toy: ArrayDataset = { name: 'toy', sampleShape: [2], size: 4, data: new Float32Array(8) };
    const opts = { metrics: ['eps-mse', 'sample-mse', 'sample-psnr'], samples: 8, seed: 0, sampler: { kind: 'ddim' as const, steps: 5 }, reference: toy, pairedReference: ref, cacheDir: dir };
    const pick = (rows: ResultRow[], metric: string): number => {
      const r = rows.find((x) => x.metric === metric);
      if (!r) throw new Error(`no ${metric} row`);
      return r.value;
    };
    const a = await evaluate(same, opts);
    expect(pick(a, 'eps-mse')).toBe(0);
    expect(pick(a, 'sample-mse')).toBe(0);
    expect(pick(a, 'sample-psnr')).toBe(Infinity);
    const b = await evaluate(shifted, opts);
    // ε̂ differs by exactly 0.1 at every step on the reference trajectory.
    expect(pick(b, 'eps-mse')).toBeCloseTo(0.01, 6);
    const buckets = b.filter((r) => r.metric.startsWith('eps-mse['));
    expect(buckets).toHaveLength(5);
    for (const r of buckets) expect(r.value).toBeCloseTo(0.01, 6);
    expect(pick(b, 'sample-mse')).toBeGreaterThan(0);
    // PSNR of the same pairs, peak-to-peak 2 (samples in [−1, 1]): 10·log10(2² / MSE).
    expect(pick(b, 'sample-psnr')).toBeCloseTo(10 * Math.log10(4 / pick(b, 'sample-mse')), 9);
    // The paired rows carry the per-sample values their value aggregates (for PSNR the MSEs); bucket rows carry none.
    const perSample = (metric: string): number[] => b.find((x) => x.metric === metric)?.perSample ?? [];
    expect(perSample('sample-mse')).toHaveLength(8);
    expect(perSample('sample-psnr')).toEqual(perSample('sample-mse'));
    expect(perSample('sample-mse').reduce((s, v) => s + v, 0) / 8).toBeCloseTo(pick(b, 'sample-mse'), 12);
    expect(perSample('eps-mse')).toHaveLength(8);
    for (const r of buckets) expect(r.perSample).toBeUndefined();
    expect(b[0]).toMatchObject({ subject: 'shifted', sampler: 'ddim-5', samples: 8 });
    expect(b[0].modelDigest).toMatch(/^[0-9a-f]{64}$/);
    // A student sampled with its own sampler is compared with the reference sampled with the paired sampler.
    const ddim3 = { kind: 'ddim' as const, steps: 3 };
    const [mixed] = await evaluate(same, { ...opts, metrics: ['sample-mse'], sampler: ddim3, pairedSampler: opts.sampler });
    const own = drawSamples({ model: same, sampler: ddim3, seed: 0, count: 8, shape: [2], cacheDir: null }).data;
    const refs = drawSamples({ model: ref, sampler: opts.sampler, seed: 0, count: 8, shape: [2], cacheDir: null }).data;
    expect(mixed.value).toBeCloseTo(own.reduce((acc, v, i) => acc + (v - refs[i]) ** 2, 0) / own.length, 9);
    expect(mixed.value).toBeGreaterThan(0);
    expect(mixed.reference?.dataset).toBe('ref (ddim-5)');
    // Paired metrics need no reference data, only the sample shape: the same values without loading any.
    const { reference: _unused, ...withoutData } = opts;
    const c = await evaluate(shifted, { ...withoutData, shape: [2] });
    expect(c.map((r) => [r.metric, r.value])).toEqual(b.map((r) => [r.metric, r.value]));
    await expect(evaluate(shifted, withoutData)).rejects.toThrow('give options.reference or options.shape');
    await expect(evaluate(shifted, { ...withoutData, shape: [2], metrics: ['sample-mse', 'kid'] })).rejects.toThrow('metrics kid compare against reference data: give options.reference');
  });

  it('refuses unknown metrics (naming the nearest) and impossible sample counts before doing work', async () => {
    await expect(evaluate({ dataset: digits }, { metrics: ['fid'], samples: 10, seed: 0, reference: digits })).rejects.toThrow(/did you mean 'fd'/);
    await expect(evaluate({ dataset: digits }, { metrics: ['fd'], samples: 121, seed: 0, reference: digits, featureNet: net })).rejects.toThrow(/has 120/);
  });
});

describe('referenceStats', () => {
  it('caches the features and float64 statistics on disk and reads back identical values', () => {
    const first = referenceStats(digits, net, { cacheDir: dir });
    const second = referenceStats(digits, net, { cacheDir: dir });
    expect(second.cached).toBe(true);
    expect(second.file).toBe(first.file);
    expect(Array.from(second.stats.mean)).toEqual(Array.from(first.stats.mean));
    expect(Array.from(second.stats.cov.data)).toEqual(Array.from(first.stats.cov.data));
    expect(Array.from(second.features.data)).toEqual(Array.from(first.features.data));
    expect(second.probs?.classes).toBe(10);
    // A different split gets a different cache entry.
    const other = subset(digits, [0, 1, 2, 3, 4, 5], 'mnist/test[0:6]');
    expect(referenceStats(other, net, { cacheDir: dir }).file).not.toBe(first.file);
    // So does the same split under another feature network, with that network's width.
    const underSmall = referenceStats(digits, small, { cacheDir: dir });
    expect(underSmall.file).not.toBe(first.file);
    expect(underSmall.stats.mean.length).toBe(16);
  });
});
