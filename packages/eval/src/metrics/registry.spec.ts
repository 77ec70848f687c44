import { METRICS, metricInfo } from './registry';

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
      ['fd', 'kid', 'precision', 'recall', 'classifier-score', 'class-entropy', 'eps-mse', 'sample-mse', 'sample-psnr', 'mmd-rbf', 'sliced-wasserstein', 'mode-coverage'].sort(),
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
