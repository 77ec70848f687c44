import { Rng } from '@diffpress/core';
import { FeatureMatrix, featureMatrix } from './features';
import { EpsMseResult } from './fidelity';
import { fdInfinityFit, gaussianStats } from './frechet';
import { FeatureInputs, METRICS, MetricInputs, MetricValue, PairedInputs, metricInfo } from './registry';

/** `n` seeded standard-normal points of width `dim`. */
function normal(n: number, dim: number, stream: string, shift = 0): FeatureMatrix {
  return featureMatrix(new Rng(0, stream).normalArray(n * dim).map((v) => v + shift), n, dim);
}

/** The values of a metric on inputs of its kind. */
function compute<K extends keyof MetricInputs>(name: string, input: K, inputs: MetricInputs[K]): MetricValue[] {
  const entry = metricInfo(name);
  if (entry.input !== input) throw new Error(`${name} takes ${entry.input}, not ${input}`);
  return (entry.compute as (x: MetricInputs[K]) => MetricValue[])(inputs);
}

describe('METRICS', () => {
  it('keys every entry by its own name, with an integer version ≥ 1', () => {
    const entries = Object.entries(METRICS);
    expect(entries.length).toBeGreaterThan(0);
    for (const [key, info] of entries) {
      expect(info.name).toBe(key);
      expect(Number.isInteger(info.version)).toBe(true);
      expect(info.version).toBeGreaterThanOrEqual(1);
    }
  });

  it('gives every entry a direction, a known input kind and a description', () => {
    for (const info of Object.values(METRICS)) {
      expect(['lower', 'higher']).toContain(info.better);
      expect(['features', 'probs', 'paired', 'points']).toContain(info.input);
      expect(info.description.length).toBeGreaterThan(0);
    }
  });

  it('lists the metrics the pure functions implement', () => {
    expect(Object.keys(METRICS).sort()).toEqual(
      ['fd', 'fd-inf', 'kid', 'precision', 'recall', 'classifier-score', 'class-entropy', 'eps-mse', 'sample-mse', 'sample-psnr', 'mmd-rbf', 'sliced-wasserstein', 'mode-coverage'].sort(),
    );
  });
});

describe('metricInfo', () => {
  it('returns the registry entry itself for a known name', () => {
    expect(metricInfo('kid')).toBe(METRICS.kid);
    expect(metricInfo('kid')).toMatchObject({ name: 'kid', better: 'lower', input: 'features' });
  });

  it("suggests 'fd' for 'fid' (edit distance 1; 'kid' ties at 1 but 'fd' is listed first)", () => {
    expect(() => metricInfo('fid')).toThrow("did you mean 'fd'");
    expect(() => metricInfo('fid')).toThrow(/unknown metric 'fid'/);
  });

  it('suggests the closest name by edit distance and lists every known metric', () => {
    // 'precison' → 'precision' is one insertion; every other name is further away.
    expect(() => metricInfo('precison')).toThrow("did you mean 'precision'");
    // 'mmd_rbf' → 'mmd-rbf' is one substitution ('fd' and 'kid' need 6).
    expect(() => metricInfo('mmd_rbf')).toThrow("did you mean 'mmd-rbf'");
    // 'sample-msa' is 1 from 'sample-mse' and 3 from 'sample-psnr'.
    expect(() => metricInfo('sample-msa')).toThrow("did you mean 'sample-mse'");
    let message = '';
    try {
      metricInfo('nope');
    } catch (e) {
      message = (e as Error).message;
    }
    for (const name of Object.keys(METRICS)) expect(message).toContain(name);
  });

  // Object.prototype members must not pass for metrics (evaluate() would then silently compute nothing).
  it.each(['toString', 'constructor', 'hasOwnProperty', '__proto__'])('rejects the inherited object property %s as an unknown metric', (name) => {
    expect(() => metricInfo(name)).toThrow(`unknown metric '${name}'`);
  });
});

describe('METRICS compute', () => {
  const reference = normal(200, 3, 'ref');
  const features = (samples: FeatureMatrix): FeatureInputs => ({ samples, reference: { features: reference, stats: gaussianStats(reference) }, seed: 0 });

  it('gives every entry a computation', () => {
    for (const entry of Object.values(METRICS)) expect(typeof entry.compute).toBe('function');
  });

  it('scores the reference set against itself as ideal: FD ≈ 0, precision and recall 1 on an equally large subset', () => {
    const self = features(reference);
    const [fd] = compute('fd', 'features', self);
    expect(fd.value).toBeCloseTo(0, 6);
    const [p] = compute('precision', 'features', self);
    const [r] = compute('recall', 'features', self);
    expect(p).toEqual({ value: 1, referenceSamples: 200, detail: { k: 3 } });
    expect(r).toEqual({ value: 1, referenceSamples: 200, detail: { k: 3 } });
  });

  it('compares precision and recall against a reference subset as large as the samples, and moves FD with a shift', () => {
    const shifted = features(normal(50, 3, 'gen', 1));
    const [p] = compute('precision', 'features', shifted);
    const [r] = compute('recall', 'features', shifted);
    expect([p.referenceSamples, r.referenceSamples]).toEqual([50, 50]);
    expect(p.value).toBeLessThan(1);
    // A mean shift of 1 in each of 3 dimensions adds about 3 to the Fréchet distance.
    expect(compute('fd', 'features', shifted)[0].value).toBeGreaterThan(2);
    const [kid] = compute('kid', 'features', shifted);
    expect(kid.stderr).toBeGreaterThan(0);
  });

  it('reports FD∞ as the intercept of FD against 1/n, with the points and the slope in the detail', () => {
    const samples = normal(64, 3, 'gen');
    const [fdInf] = compute('fd-inf', 'features', features(samples));
    const detail = fdInf.detail as { sizes: number[]; fds: number[]; slope: number; draws: number };
    expect(detail.sizes).toEqual([64, 37, 26, 20, 16]);
    expect(detail.draws).toBe(3);
    // The first point is FD at the row's n, the `fd` metric's value.
    expect(detail.fds[0]).toBeCloseTo(compute('fd', 'features', features(samples))[0].value, 12);
    const fit = fdInfinityFit(detail.sizes.map((n, i) => ({ n, fd: detail.fds[i] })));
    expect(fdInf.value).toBeCloseTo(fit.intercept, 12);
    expect(detail.slope).toBeCloseTo(fit.slope, 9);
    expect(fdInf.value).toBeLessThan(detail.fds[0]);
  });

  it('reports ε-MSE as its mean and one suffixed value per step bucket, on min(epsMseSamples, count) trajectories', () => {
    const asked: number[] = [];
    const result: EpsMseResult = {
      mean: 0.5, buckets: [{ fromStep: 0, toStep: 1, times: [999, 500], mse: 0.25 }, { fromStep: 2, toStep: 3, times: [250, 1], mse: 0.75 }], perTrajectory: [0.25, 0.75],
    };
    const inputs = (epsMseSamples?: number): PairedInputs => ({
      samples: new Float32Array(8), count: 8, epsMseSamples,
      epsMse: (n) => (asked.push(n), result),
      referenceSamples: () => new Float32Array(8),
    });
    expect(compute('eps-mse', 'paired', inputs())).toEqual([
      { value: 0.5, detail: { trajectories: 8 }, perSample: [0.25, 0.75] },
      { suffix: '[0]', value: 0.25, detail: { trajectories: 8, fromStep: 0, toStep: 1, times: [999, 500] } },
      { suffix: '[1]', value: 0.75, detail: { trajectories: 8, fromStep: 2, toStep: 3, times: [250, 1] } },
    ]);
    compute('eps-mse', 'paired', inputs(4));
    expect(asked).toEqual([8, 4]);
  });

  it('draws the reference samples of the paired sample metrics once per evaluation', () => {
    let draws = 0;
    const inputs: PairedInputs = {
      samples: Float32Array.from([0.5, -0.5]), count: 1,
      epsMse: () => {
        throw new Error('not asked');
      },
      referenceSamples: () => (draws++, Float32Array.from([0.5, 0.5])),
    };
    // MSE (0 + 1) / 2 = 0.5; PSNR 10·log10(2² / 0.5) = 10·log10(8).
    expect(compute('sample-mse', 'paired', inputs)).toEqual([{ value: 0.5, perSample: [0.5] }]);
    expect(compute('sample-psnr', 'paired', inputs)[0].value).toBeCloseTo(10 * Math.log10(8), 12);
    expect(draws).toBe(1);
  });

  it('gives the paired sample metrics per-sample MSEs from which their aggregates reproduce the values', () => {
    // Three samples of two values: squared differences (1, 0), (0.25, 0.25), (4, 0) → per-sample MSEs 0.5, 0.25, 2.
    const inputs: PairedInputs = {
      samples: Float32Array.from([1, 0, 0.5, -0.5, 2, 3]), count: 3,
      epsMse: () => {
        throw new Error('not asked');
      },
      referenceSamples: () => Float32Array.from([0, 0, 0, 0, 0, 3]),
    };
    const [mse] = compute('sample-mse', 'paired', inputs);
    const [psnr] = compute('sample-psnr', 'paired', inputs);
    expect(mse.perSample).toEqual([0.5, 0.25, 2]);
    expect(psnr.perSample).toEqual([0.5, 0.25, 2]);
    expect(mse.value).toBe(5.5 / 6);
    expect(metricInfo('sample-mse').aggregate?.(mse.perSample as number[])).toBeCloseTo(mse.value, 14);
    expect(metricInfo('sample-psnr').aggregate?.(psnr.perSample as number[])).toBeCloseTo(10 * Math.log10(4 / (5.5 / 6)), 12);
    expect(metricInfo('sample-psnr').aggregate?.(psnr.perSample as number[])).toBeCloseTo(psnr.value, 12);
    // The PSNR aggregate is not the mean of per-sample PSNRs (Jensen): the bootstrap must use the aggregate.
    const meanOfPsnrs = [0.5, 0.25, 2].reduce((s, m) => s + 10 * Math.log10(4 / m), 0) / 3;
    expect(Math.abs(meanOfPsnrs - psnr.value)).toBeGreaterThan(0.5);
    expect(metricInfo('eps-mse').aggregate?.([0.25, 0.75])).toBe(0.5);
  });

  it('gives an aggregate exactly to the metrics whose rows carry per-sample values', () => {
    expect(Object.values(METRICS).filter((m) => m.aggregate).map((m) => m.name).sort()).toEqual(['eps-mse', 'sample-mse', 'sample-psnr']);
  });

  it('computes mode coverage from labelled reference points, and refuses unlabelled ones', () => {
    const ref = featureMatrix(Float32Array.from([0, 0, 0.1, 0, 5, 5, 5.1, 5]), 4, 2);
    const gen = featureMatrix(Float32Array.from([0, 0.1, 0.1, 0.1]), 2, 2);
    const inputs = { samples: gen, reference: ref, labels: Int32Array.from([0, 0, 1, 1]), referenceName: 'two-blobs', seed: 0 };
    const [c] = compute('mode-coverage', 'points', inputs);
    expect(c.value).toBe(0.5);
    expect(() => compute('mode-coverage', 'points', { ...inputs, labels: undefined })).toThrow('mode-coverage needs labelled reference data; two-blobs has no labels');
  });
});
