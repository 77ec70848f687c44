import { ResultRow } from '@diffpress/eval';
import { RowIdentity, fpGroupId, pairProblem, resolveSelector, rowName, selectRows, tableComparisons, verdictInTable } from './comparisons';
import { comparisonCells, comparisonsCsv, comparisonsMarkdown } from './comparison-section';
import { ReportRow, ReportTable } from './table';

// The rows of the default ablation: the floor, FP at four step counts, PTQ rows at DDIM-20 named by the method axis.
const REF = (steps: number): string => fpGroupId('m', `ddim-${steps}`, 256, { 'sample.steps': steps });
const fp = (steps: number): RowIdentity => ({ kind: 'fp', label: 'FP', position: 'baseline', params: { 'sample.steps': steps }, sampler: `ddim-${steps}`, reference: REF(steps) });
const ptq = (label: string, method: string): RowIdentity => ({
  kind: 'compressed', label, position: 'final', params: { 'sample.steps': 20, method }, sampler: 'ddim-20', reference: REF(20),
});
const ROWS: RowIdentity[] = [
  { kind: 'floor', label: 'floor: MNIST test split (seeded 256)', position: '—', params: {}, sampler: '—' },
  fp(10), fp(20), fp(50),
  ptq('tfmq', 'TFMQ W8A8'), ptq('tfmq', 'TFMQ W4A8'), ptq('q-diffusion', 'Q-Diffusion W4A8'),
];

describe('row selectors', () => {
  it('select by an axis label, the model label with a sampler or an axis, an object of columns, or floor', () => {
    expect(selectRows(ROWS, 'TFMQ W4A8')).toEqual([5]);
    expect(selectRows(ROWS, 'FP')).toEqual([1, 2, 3]);
    expect(selectRows(ROWS, 'FP, sample.steps=20')).toEqual([2]);
    expect(selectRows(ROWS, ' FP ,ddim-50 ')).toEqual([3]);
    expect(selectRows(ROWS, { model: 'FP', sampler: 'ddim-10' })).toEqual([1]);
    expect(selectRows(ROWS, { 'sample.steps': 20, model: 'tfmq' })).toEqual([4, 5]);
    expect(selectRows(ROWS, 'tfmq, method=TFMQ W8A8')).toEqual([4]);
    expect(selectRows(ROWS, 'floor')).toEqual([0]);
    // FP rows do not show the pipeline axis; a term on it does not match them.
    expect(selectRows(ROWS, 'method=FP')).toEqual([]);
    expect(selectRows(ROWS, '')).toEqual([]);
  });

  it('read name=value as a column term only when name is a column (labels may contain =)', () => {
    const rows: RowIdentity[] = [ptq('q', 'W4 p=2'), ptq('q', 'W8 p=2')];
    expect(selectRows(rows, 'W4 p=2')).toEqual([0]);
    expect(selectRows(rows, 'method=W8 p=2')).toEqual([1]);
  });

  it('name every row by a selector that selects it alone', () => {
    const names = ROWS.map((_, i) => rowName(ROWS, i));
    expect(names).toEqual(['floor', 'FP, ddim-10', 'FP, ddim-20', 'FP, ddim-50', 'TFMQ W8A8', 'TFMQ W4A8', 'q-diffusion']);
    names.forEach((n, i) => expect(selectRows(ROWS, n)).toEqual([i]));
    // Two rows that differ only in position are named by every column.
    const twins: RowIdentity[] = [ptq('x', 'm'), { ...ptq('x', 'm'), position: 'after:0' }];
    expect(rowName(twins, 1)).toBe('model=x, sampler=ddim-20, sample.steps=20, method=m, position=after:0');
    expect(selectRows(twins, rowName(twins, 1))).toEqual([1]);
  });

  it('explain a selector that selects no row or several, listing the rows', () => {
    expect(resolveSelector(ROWS, 'TFMQ W4A8')).toEqual({ row: 5 });
    const none = resolveSelector(ROWS, 'TFMQ W4A9');
    expect('problem' in none && none.problem).toMatch(/^'TFMQ W4A9' selects no row of the report — did you mean 'TFMQ W4A8'\? \(rows: 'floor', 'FP, ddim-10', /);
    const many = resolveSelector(ROWS, 'FP');
    expect('problem' in many && many.problem).toBe("'FP' selects 3 rows ('FP, ddim-10', 'FP, ddim-20', 'FP, ddim-50'); add a term to pick one");
  });

  it('refuse pairs that cannot be compared on a metric', () => {
    expect(pairProblem(ROWS, 5, 2, 'sample-mse')).toBeUndefined();
    expect(pairProblem(ROWS, 5, 4, 'sample-psnr')).toBeUndefined();
    expect(pairProblem(ROWS, 5, 1, 'fd')).toBeUndefined();
    expect(pairProblem(ROWS, 0, 2, 'kid')).toBeUndefined();
    expect(pairProblem(ROWS, 5, 5, 'fd')).toBe('a and b select the same row');
    expect(pairProblem(ROWS, 5, 1, 'sample-mse')).toMatch(/paired with different FP evaluations/);
    expect(pairProblem(ROWS, 0, 2, 'eps-mse')).toMatch(/the floor row has none/);
    expect(pairProblem(ROWS, 5, 2, 'sample-psnr')).toMatch(/against itself is Infinity/);
  });
});

function result(metric: string, seed: number, value: number, perSample?: number[], samples = 4): ResultRow {
  return {
    recipeHash: 'h', cell: {}, subject: 'm', modelDigest: 'd', seed, samples, sampler: 'ddim-20', metric, metricId: metric, metricVersion: 1, value,
    reference: null, featureNet: null, backend: 'wasm', sampleBackends: ['wasm'], samplingSeconds: 1, metricSeconds: 0, libraryVersion: '0.1.0', date: 'x',
    ...(perSample ? { perSample } : {}),
  };
}

function reportRow(id: RowIdentity, results: Record<string, ResultRow[]>): ReportRow {
  return { ...id, samples: 4, values: {}, results, marks: {} };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('tableComparisons', () => {
  // Per-sample MSEs of two seeds; ε-MSE without per-sample values (a t-interval over seeds).
  const a0 = [1, 2, 3, 4];
  const a1 = [2, 2, 2, 2];
  const w8 = reportRow(ptq('tfmq', 'TFMQ W8A8'), {
    'sample-mse': [result('sample-mse', 0, mean(a0), a0), result('sample-mse', 1, mean(a1), a1)],
    'sample-psnr': [result('sample-psnr', 0, 1, a0), result('sample-psnr', 1, 1, a1)],
    'eps-mse': [0, 1, 2].map((s) => result('eps-mse', s, s + 1)),
  });
  const w4 = reportRow(ptq('tfmq', 'TFMQ W4A8'), { 'sample-mse': [result('sample-mse', 0, mean(a0), a0), result('sample-mse', 1, mean(a1), a1)] });
  const rows: ReportRow[] = [reportRow(fp(20), { fd: [result('fd', 0, 50)] }), w8, w4];

  it('by default compares every compressed row with its FP row on sample-mse and eps-mse, FP being 0 there', () => {
    const cs = tableComparisons(rows, undefined);
    expect(cs.map((c) => [c.a, c.b, c.metric, c.source])).toEqual([
      ['TFMQ W8A8', 'FP', 'sample-mse', 'default'],
      ['TFMQ W8A8', 'FP', 'eps-mse', 'default'],
      ['TFMQ W4A8', 'FP', 'sample-mse', 'default'],
    ]);
    const mse = cs[0].result;
    // Mean over the seeds of the per-seed means 2.5 and 2; FP is 0. Every resampled mean of positive MSEs is > 0.
    expect(mse).toMatchObject({ a: 2.25, b: 0, verdict: 'worse', diff: { mean: 2.25, method: 'bootstrap', seeds: 2, samples: 4 } });
    expect(mse?.diff.lo).toBeGreaterThan(0);
    expect(cs[0].note).toBe('FP is its own reference: its sample-mse is 0 by definition');
    // ε-MSE 1, 2, 3 against 0: differences [1, 2, 3] → mean 2, 95 % t-interval 2 ± 4.303·1/√3 = [−0.484, 4.484].
    const eps = cs[1].result;
    expect(eps?.diff.method).toBe('t');
    expect(eps?.diff.mean).toBeCloseTo(2, 12);
    expect(eps?.diff.lo).toBeCloseTo(-0.4841, 3);
    expect(eps?.diff.hi).toBeCloseTo(4.4841, 3);
    expect(eps?.verdict).toBe('inconclusive');
  });

  it('with eval.pairedSteps pairs a compressed row with the FP row that is the reference, not an FP row measured against it', () => {
    // FP DDIM-9 (first) and FP DDIM-50 share the reference FP DDIM-50; only DDIM-50 is that evaluation itself.
    const ref = fpGroupId('m', 'ddim-50', 256, {});
    const fp9 = reportRow({ kind: 'fp', label: 'FP', position: 'baseline', params: { 'sample.steps': 9 }, sampler: 'ddim-9', reference: ref, evaluation: fpGroupId('m', 'ddim-9', 256, {}) }, {
      'sample-mse': [result('sample-mse', 0, mean(a1), a1)],
    });
    const fp50 = reportRow({ kind: 'fp', label: 'FP', position: 'baseline', params: { 'sample.steps': 50 }, sampler: 'ddim-50', reference: ref }, {});
    const fd = reportRow({ kind: 'compressed', label: 'faster-diffusion', position: 'final', params: { 'sample.steps': 50, method: 'FD' }, sampler: 'ddim-50', reference: ref }, {
      'sample-mse': [result('sample-mse', 0, mean(a0), a0)],
    });
    const cs = tableComparisons([fp9, fp50, fd], [{ a: 'FD', b: 'FP, ddim-9', metric: 'sample-mse' }]);
    expect(cs.map((c) => [c.a, c.b, c.source, c.rowB])).toEqual([
      ['FD', 'FP, ddim-9', 'recipe', 0],
      ['faster-diffusion', 'FP, ddim-50', 'default', 1],
    ]);
    // FP DDIM-9 has its own MSEs against the reference (2 per sample), FP DDIM-50 is the reference (0).
    expect(cs[0].result).toMatchObject({ a: 2.5, b: 2 });
    expect(cs[1].result).toMatchObject({ a: 2.5, b: 0 });
    expect(verdictInTable([fp9, fp50, fd], cs[1])).toBe(true);
    expect(verdictInTable([fp9, fp50, fd], cs[0])).toBe(false);
  });

  it('compares the rows a recipe names, with a margin in percent of b’s mean', () => {
    const same = tableComparisons(rows, [
      { a: 'TFMQ W8A8', b: 'TFMQ W4A8', metric: 'sample-mse', margin: '10%' },
      { a: 'TFMQ W8A8', b: 'TFMQ W4A8', metric: 'sample-mse' },
      { a: 'TFMQ W8A8', b: 'TFMQ W4A8', metric: 'sample-mse', margin: 0.001 },
      { a: { method: 'TFMQ W8A8' }, b: 'FP, ddim-20', metric: 'sample-mse', margin: '5%' },
    ]);
    // Identical per-sample values: every resampled difference is 0, inside ±10 % of 2.25 = ±0.225 → equivalent;
    // without a margin the interval [0, 0] does not exclude 0 → inconclusive.
    expect(same[0]).toMatchObject({ a: 'TFMQ W8A8', b: 'TFMQ W4A8', rowA: 1, rowB: 2, source: 'recipe', margin: '10%' });
    expect(same[0].result).toMatchObject({ verdict: 'equivalent', diff: { mean: 0, lo: 0, hi: 0 } });
    expect(same[0].result?.margin).toBeCloseTo(0.225, 12);
    expect(same[1].result?.verdict).toBe('inconclusive');
    expect(same[2].result).toMatchObject({ margin: 0.001, verdict: 'equivalent' });
    // 5 % of FP's 0 is no margin: said so, and the comparison made without one.
    expect(same[3].result?.margin).toBeUndefined();
    expect(same[3].result?.verdict).toBe('worse');
    expect(same[3].note).toMatch(/margin 5% of b's mean 0 is 0: no equivalence test/);
    // The defaults follow, without the one the recipe already makes (TFMQ W8A8 against FP on sample-mse).
    expect(same.slice(4).map((c) => [c.a, c.b, c.metric, c.source])).toEqual([
      ['TFMQ W8A8', 'FP', 'eps-mse', 'default'],
      ['TFMQ W4A8', 'FP', 'sample-mse', 'default'],
    ]);
  });

  it('gives a note instead of a result when a row is missing, a pair cannot be compared, or n differs', () => {
    const short = reportRow(ptq('naive', 'naive W8A8'), { fd: [result('fd', 0, 60, undefined, 8)] });
    const cs = tableComparisons([...rows, short], [
      { a: 'TFMQ W4A9', b: 'FP', metric: 'sample-mse' },
      { a: 'TFMQ W8A8', b: 'FP', metric: 'sample-psnr' },
      { a: 'naive W8A8', b: 'FP', metric: 'fd' },
      { a: 'TFMQ W4A8', b: 'FP', metric: 'eps-mse' },
    ]);
    expect(cs.slice(0, 4).every((c) => c.result === undefined)).toBe(true);
    // The defaults are made all the same (naive W8A8 has no paired metric; TFMQ W4A8 has no eps-mse).
    expect(cs.slice(4).map((c) => [c.a, c.metric, c.source, c.result !== undefined])).toEqual([
      ['TFMQ W8A8', 'sample-mse', 'default', true],
      ['TFMQ W8A8', 'eps-mse', 'default', true],
      ['TFMQ W4A8', 'sample-mse', 'default', true],
    ]);
    expect(cs[0].note).toMatch(/^a: 'TFMQ W4A9' selects no row of the report — did you mean 'TFMQ W4A8'\?/);
    expect(cs[1].note).toMatch(/FP row's sample-psnr against itself is Infinity/);
    expect(cs[2].note).toMatch(/is from 8 samples in a and 4 in b/);
    expect(cs[3].note).toBe('a has no eps-mse values');
  });

  it('renders the section: means, interval, method, margin, verdict; the CSV carries the numbers', () => {
    const table = { columns: [], rows, best: {}, comparisons: tableComparisons(rows, undefined) } as ReportTable;
    expect(comparisonCells(table.comparisons[1]).slice(0, 9)).toEqual(['TFMQ W8A8', 'FP', 'eps-mse', '2', '0', '2 [-0.4841, 4.484]', 't, 3 seeds', '—', 'inconclusive']);
    expect(comparisonCells(table.comparisons[0])[6]).toBe('bootstrap, 4 samples × 2 seeds (2000 resamples)');
    const md = comparisonsMarkdown(table).join('\n');
    expect(md).toContain('## Comparisons');
    expect(md).toContain('| a | b | metric | mean a | mean b | a − b [95 % CI] | method | margin | verdict | note |');
    expect(md).toContain('| TFMQ W8A8 | FP | eps-mse | 2 | 0 | 2 [-0.4841, 4.484] | t, 3 seeds | — | inconclusive |');
    expect(md).toMatch(/The recipe declares no comparisons/);
    expect(comparisonsMarkdown({ ...table, comparisons: [{ ...table.comparisons[0], source: 'recipe' }, ...table.comparisons.slice(1)] }).join('\n')).toMatch(/The first comparison is the one the recipe declares/);
    const csv = comparisonsCsv(table).trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv[2].split(',').slice(0, 8)).toEqual(['TFMQ W8A8', 'FP', 'eps-mse', 'default', '2', '0', '2', String(table.comparisons[1].result?.diff.lo)]);
    const none = comparisonsMarkdown({ ...table, comparisons: [] }).join('\n');
    expect(none).toMatch(/No comparisons: the recipe names none and evaluates none of the paired fidelity metrics/);
  });
});
