import { ResultRow } from '@diffpress/eval';
import { RunSummary } from '../run/runner';
import { PositionResult, UnitResult } from '../run/unit';
import { ValidatedRecipe } from '../recipe/validate';
import { headerCells, rowCells } from './cells';
import { buildTable, formatAggregate, stageCost } from './table';

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

// Two cells (bits 8 and 4) × two seeds; every cell shares one FP evaluation per seed.
const results = [unit(0, 0, 8, 0, 10, 11), unit(1, 0, 8, 1, 12, 13), unit(2, 1, 4, 0, 10, 20), unit(3, 1, 4, 1, 12, 30)];
const recipe = { cells: [{ params: { 'pipeline[0].config.bits': 8 } }] } as unknown as ValidatedRecipe;

describe('buildTable', () => {
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
    // No sampling time was measured in isolation (latency off): no s / sample column, whatever drawing took.
    expect(table.columns.map((c) => c.title)).toEqual(['pipeline[0].config.bits', 'kid', 'class-entropy', 'size (MiB)', 'OPs (M)', 'compress s']);
  });

  it('sums the pipeline steps\' wall-clock into "compress s" (absent for the FP row)', () => {
    // bits 8: 80 and 81 s over the seeds; bits 4: 40 and 41 s.
    expect(table.rows[0].values.compressSeconds).toBeUndefined();
    expect(table.rows[1].values.compressSeconds.mean).toBe(80.5);
    expect(table.rows[2].values.compressSeconds.mean).toBe(40.5);
    expect(table.rows[2].marks).toEqual({});
  });

  it('marks the best row per quality column by its direction, none where all rows tie, and never a cost column', () => {
    expect(table.best['kid-net']).toBe(0); // lower is better: FP's 11
    expect(table.best['class-entropy-net']).toBe(0); // higher is better: FP's 2.2
    // 0.5 MiB at 4 bits and the least compression time are costs, not qualities.
    expect(Object.keys(table.best).sort()).toEqual(['class-entropy-net', 'kid-net']);
    expect(table.columns.filter((c) => c.kind === 'cost').every((c) => c.better === undefined)).toBe(true);
    expect(headerCells(table)).toEqual(['model', 'sampler', 'n', 'pipeline[0].config.bits', 'kid ↓', 'class-entropy ↑', 'size (MiB)', 'OPs (M)', 'compress s']);
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

  it('shows s / sample measured in isolation, and the cost of a reused step as stored, never its reuse time', () => {
    const timed = (u: UnitResult, seconds: number, reused: boolean): UnitResult => ({
      ...u,
      positions: u.positions.map((p) => ({
        ...p,
        sampling: { sampler: 'ddim-2', backend: 'wasm', batch: 8, warmup: 1, secondsPerSample: seconds, times: [seconds] },
        stages: p.stages.map((st) => ({ ...st, ...(reused ? { reused } : {}) })),
      })),
    });
    const t = buildTable({ recipe, results: [timed(results[0], 0.02, true), timed(results[1], 0.04, false), timed(results[2], 0.01, false)], floor: [] } as unknown as RunSummary);
    const col = t.columns.findIndex((c) => c.id === 'secondsPerSample') + 3;
    // FP: 0.02 and 0.04 s over the seeds (the wall-clock of drawing, 0.5 s, is not shown).
    expect(rowCells(t, 0, (x) => x)[col]).toBe('0.0300 ± 0.0141');
    const compress = t.columns.findIndex((c) => c.id === 'compressSeconds') + 3;
    // Bits 8: one seed's step came from the store: its recorded 80 s (and 81 s computed), marked.
    expect(rowCells(t, 1, (x) => x)[compress]).toBe('81 ± 0.707 (stored)');
    expect(rowCells(t, 2, (x) => x)[compress]).toBe('40');
  });
});

describe('stageCost', () => {
  const table = (columns: string[], rows: Array<Array<string | number>>) => ({ id: 'm.calibration-time', title: 'cost', columns, rows });
  it('takes a method\'s cost table where it has one: the total\'s cost s, stored when a phase was reused', () => {
    // The wall-clock of apply (12 s) read a 300 s weight phase from the store in 2 s: the step costs 310 s, not 12.
    const reused = table(['phase', 'this run s', 'cost s', 'reused'], [['calibration set', 8, 8, 0], ['weights', 2, 300, 1], ['total', 10, 308, 1]]);
    expect(stageCost({ method: 'm', seconds: 12, diagnostics: [reused] })).toEqual({ seconds: 308, stored: true });
    const fresh = table(['phase', 'this run s', 'cost s', 'reused'], [['weights', 300, 300, 0], ['total', 300, 300, 0]]);
    expect(stageCost({ method: 'm', seconds: 305, diagnostics: [fresh] })).toEqual({ seconds: 300, stored: false });
    // A whole step artifact reused from the store keeps its recorded cost, marked.
    expect(stageCost({ method: 'm', seconds: 305, diagnostics: [fresh], reused: true })).toEqual({ seconds: 300, stored: true });
    // Older tables without a reused column: a phase whose cost is not its wall-clock was reused.
    const old = table(['phase', 'seconds', 'cost s'], [['calibration set (cached)', 1, 50], ['total', 1, 50]]);
    expect(stageCost({ method: 'm', seconds: 3, diagnostics: [old] })).toEqual({ seconds: 50, stored: true });
    // Without a cost table: the wall-clock of apply.
    expect(stageCost({ method: 'm', seconds: 7, diagnostics: [table(['step', 'loss'], [[0, 1]])] })).toEqual({ seconds: 7, stored: false });
  });
});

describe('buildTable comparisons', () => {
  it('puts the verdict against the row\'s FP row next to its number', () => {
    const paired = (u: UnitResult, mse: number[]): UnitResult => ({
      ...u,
      positions: u.positions.map((p) => (p.position === 'baseline' ? p : { ...p, rows: [...p.rows, { ...row('sample-mse', 'sample-mse', mse.reduce((a, b) => a + b, 0) / mse.length), seed: u.seed, perSample: mse }] })),
    });
    const t = buildTable({ recipe, results: [paired(results[0], [1, 2, 3, 4]), paired(results[1], [2, 2, 2, 2]), results[2], results[3]], floor: [] } as unknown as RunSummary);
    expect(t.comparisons.map((c) => [c.a, c.b, c.metric, c.result?.verdict, c.note])).toEqual([['quant, pipeline[0].config.bits=8', 'FP', 'sample-mse', 'worse', 'FP is its own reference: its sample-mse is 0 by definition']]);
    const col = t.columns.findIndex((c) => c.id === 'sample-mse') + 3;
    expect(rowCells(t, 1, (x) => x)[col]).toBe('2.250 ± 0.354 (worse)');
    // FP has no sample-mse of its own; the bits-4 row has none either: no verdicts there.
    expect(rowCells(t, 0, (x) => x)[col]).toBe('—');
    expect(rowCells(t, 2, (x) => x)[col]).toBe('—');
  });
});
