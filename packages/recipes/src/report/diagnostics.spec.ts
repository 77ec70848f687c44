import { RunSummary } from '../run/runner';
import { PositionResult, UnitResult } from '../run/unit';
import { diagnosticGroups, diagnosticsHtml, diagnosticsMarkdown, formatDiagnostic } from './diagnostics';

function unit(cell: number, seed: number, mse: number, stages = 1): UnitResult {
  const table = { id: 'q.eps', title: 'ε-MSE per step', columns: ['step', 'ε-MSE', 'note'], rows: [[0, mse, 'noisy'], [1, 2 * mse, null]] };
  const position = { position: 'final', label: 'q', stages: Array.from({ length: stages }, () => ({ method: 'q', seconds: 1, diagnostics: [table] })) } as unknown as PositionResult;
  const baseline = { position: 'baseline', label: 'FP', stages: [] } as unknown as PositionResult;
  return { order: 0, cell, params: { bits: 4 + cell }, seed, sampler: 'ddim-4', steps: 4, samples: 8, base: 'b', positions: [baseline, position] };
}

describe('diagnostics report sections', () => {
  it('merges a table over seeds row by row: mean ± sample std for numbers, strings kept', () => {
    const groups = diagnosticGroups({ results: [unit(0, 0, 1), unit(0, 1, 3), unit(1, 0, 5)] } as Pick<RunSummary, 'results'>);
    expect(groups).toHaveLength(2);
    const [a, b] = groups;
    expect(a.params).toEqual({ bits: 4 });
    expect(a.tables[0].seeds).toBe(2);
    // ε-MSE over the seeds: 1 and 3 → 2 ± √2; 2 and 6 → 4 ± √8. Equal values (the step column) print once.
    expect(a.tables[0].rows).toEqual([['0', `2 ± ${formatDiagnostic(Math.SQRT2)}`, 'noisy'], ['1', `4 ± ${formatDiagnostic(Math.sqrt(8))}`, '—']]);
    expect(b.tables[0].rows[0]).toEqual(['0', '5', 'noisy']);
    const md = diagnosticsMarkdown(groups).join('\n');
    expect(md).toContain('### q (bits = 4)');
    expect(md).toContain('| step | ε-MSE | note |');
    expect(diagnosticsHtml(groups)).toContain('<details><summary>q (bits = 5)</summary>');
  });

  it('prefixes table ids with the step index when a pipeline has several steps, and is empty without tables', () => {
    const groups = diagnosticGroups({ results: [unit(0, 0, 1, 2)] } as Pick<RunSummary, 'results'>);
    expect(groups[0].tables.map((t) => t.id)).toEqual(['0:q.eps', '1:q.eps']);
    expect(diagnosticsMarkdown([])).toEqual([]);
    expect(diagnosticsHtml([])).toBe('');
  });

  it('formats numbers with 4 significant digits, exponents for extreme magnitudes', () => {
    expect(formatDiagnostic(0.012345)).toBe('0.01235');
    expect(formatDiagnostic(2.5e-5)).toBe('2.50e-5');
    expect(formatDiagnostic(12)).toBe('12');
  });
});
