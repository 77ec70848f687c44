import { ResultRow } from '@diffpress/eval';
import { RunSummary } from '../run/runner';
import { PositionResult, UnitResult } from '../run/unit';
import { ValidatedRecipe } from '../recipe/validate';
import { buildTable, formatAggregate } from './table';

function row(metric: string, metricId: string, value: number, stderr?: number): ResultRow {
  return {
    recipeHash: 'h', cell: {}, subject: 'm', modelDigest: 'd', seed: 0, samples: 4, sampler: 'ddim-2', metric, metricId, metricVersion: 1, value, stderr,
    reference: null, featureNet: null, backend: 'wasm', sampleBackends: ['wasm'], samplingSeconds: 1, metricSeconds: 0, libraryVersion: '0.1.0', date: 'x',
  };
}

const cost = { params: 1, sizeBytes: 1, sizeMiB: 6.192, macs: 1, fpMacs: 1, bops: 0, ops: 275.4e6 };

function position(position: string, label: string, key: string, kid: number, entropy: number, sizeMiB = 6.192, seconds?: number): PositionResult {
  return {
    position, label, modelKey: key, policyKey: null, sampleKey: `s-${key}`,
    rows: [row('kid-net', 'kid', kid, 0.5), row('class-entropy-net', 'class-entropy', entropy)],
    efficiency: { paper: { ...cost, sizeMiB }, asImplemented: { ...cost, sizeMiB }, quantizedLayers: 0 },
    latency: null, secondsPerSample: 0.5, stages: seconds === undefined ? [] : [{ method: 'quant', seconds, diagnostics: [] }],
  };
}

function unit(order: number, cell: number, bits: number, seed: number, kidFp: number, kidQ: number): UnitResult {
  return {
    order, cell, params: { 'pipeline[0].config.bits': bits }, seed, sampler: 'ddim-2', steps: 2, samples: 4, base: 'b',
    positions: [position('baseline', 'FP', 'fp', kidFp, 2.2), position('final', 'quant', `q${bits}`, kidQ, 2.0 + bits / 100, bits / 8, 10 * bits + seed)],
  };
}

describe('buildTable', () => {
  // Two cells (bits 8 and 4) × two seeds; every cell shares one FP evaluation per seed.
  const results = [unit(0, 0, 8, 0, 10, 11), unit(1, 0, 8, 1, 12, 13), unit(2, 1, 4, 0, 10, 20), unit(3, 1, 4, 1, 12, 30)];
  const recipe = { cells: [{ params: { 'pipeline[0].config.bits': 8 } }] } as unknown as ValidatedRecipe;
  const table = buildTable({ recipe, results, floor: [] } as unknown as RunSummary);

  it('shows the shared FP evaluation once, first, without the pipeline params', () => {
    expect(table.rows.map((r) => [r.kind, r.label, r.params])).toEqual([
      ['fp', 'FP', {}],
      ['compressed', 'quant', { 'pipeline[0].config.bits': 8 }],
      ['compressed', 'quant', { 'pipeline[0].config.bits': 4 }],
    ]);
  });

  it('aggregates over seeds as mean ± sample std', () => {
    // FP KID over seeds: 10 and 12 → mean 11, std √2; bits 4: 20 and 30 → 25 ± √50.
    expect(table.rows[0].values['kid-net']).toEqual({ mean: 11, spread: Math.SQRT2, spreadKind: 'std', n: 2 });
    expect(table.rows[2].values['kid-net'].mean).toBe(25);
    expect(table.rows[2].values['kid-net'].spread).toBeCloseTo(Math.sqrt(50), 12);
    expect(formatAggregate(table.rows[2].values['kid-net'], 3)).toBe('25.000 ± 7.071');
    expect(formatAggregate({ mean: 0.001384, spread: 0.0000712, n: 3 }, 3)).toBe('0.00138 ± 0.0000712');
    expect(formatAggregate({ mean: 0, n: 1 }, 3)).toBe('0.000');
    expect(table.columns.map((c) => c.title)).toEqual(['pipeline[0].config.bits', 'kid', 'class-entropy', 'size (MiB)', 'OPs (M)', 's / sample', 'compress s']);
  });

  it('sums the pipeline steps\' wall-clock into "compress s" (absent for the FP row)', () => {
    // bits 8: 80 and 81 s over the seeds; bits 4: 40 and 41 s.
    expect(table.rows[0].values.compressSeconds).toBeUndefined();
    expect(table.rows[1].values.compressSeconds.mean).toBe(80.5);
    expect(table.rows[2].values.compressSeconds.mean).toBe(40.5);
    expect(table.best.compressSeconds).toBe(2);
  });

  it('marks the best row per column by its direction, and none where all rows tie', () => {
    expect(table.best['kid-net']).toBe(0); // lower is better: FP's 11
    expect(table.best['class-entropy-net']).toBe(0); // higher is better: FP's 2.2
    expect(table.best.sizeMiB).toBe(2); // 0.5 MiB at 4 bits
    expect(table.best.opsM).toBeUndefined();
  });

  it('keeps FP rows free of pipeline axes whatever they are named', () => {
    const named = results.map((u) => ({ ...u, params: { method: u.params['pipeline[0].config.bits'] === 8 ? 'q8' : 'q4' } }));
    const withAxes = { cells: [{ params: { method: 'q8' } }], raw: { ablation: { mode: 'grid', axes: [{ path: 'pipeline[0]', name: 'method', values: [] }] } } } as unknown as ValidatedRecipe;
    const t = buildTable({ recipe: withAxes, results: named, floor: [] } as unknown as RunSummary);
    expect(t.rows.map((r) => [r.kind, r.params])).toEqual([['fp', {}], ['compressed', { method: 'q8' }], ['compressed', { method: 'q4' }]]);
  });

  it('with one seed shows the metric’s own standard error', () => {
    const one = buildTable({ recipe, results: [results[0]], floor: [] } as unknown as RunSummary);
    expect(one.rows[0].values['kid-net']).toEqual({ mean: 10, spread: 0.5, spreadKind: 'stderr', n: 1 });
    expect(one.rows[0].values['class-entropy-net']).toEqual({ mean: 2.2, n: 1 });
  });
});
