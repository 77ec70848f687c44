/**
 * Display pieces shared by the Markdown report, the HTML report and its diagnostics, and the CLI's table: the cells
 * of the result table and HTML escaping. A module of its own so that the report writers import it, not each other.
 */
import { ReportTable, formatAggregate, formatParam } from './table';

/** Escapes text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The cells of one table row as display strings, with the best value of a column marked by `mark`. */
export function rowCells(table: ReportTable, i: number, mark: (s: string) => string): string[] {
  const r = table.rows[i];
  const cells = [r.label, r.sampler, String(r.samples)];
  for (const c of table.columns) {
    const text = c.kind === 'param' ? formatParam(r.params[c.id]) : formatAggregate(r.values[c.id], c.digits);
    cells.push(table.best[c.id] === i ? mark(text) : text);
  }
  return cells;
}

/** Header cells matching {@link rowCells}. */
export function headerCells(table: ReportTable): string[] {
  return ['model', 'sampler', 'n', ...table.columns.map((c) => (c.better ? `${c.title} ${c.better === 'lower' ? '↓' : '↑'}` : c.title))];
}

/** How the spread after ± was computed, for the table's caption. */
export function spreadNote(table: ReportTable): string {
  const seeds = Math.max(...table.rows.map((r) => Math.max(0, ...Object.values(r.values).map((v) => v.n))));
  return seeds > 1
    ? `Values are mean ± std over ${seeds} seeds.`
    : 'One seed: ± is the metric’s own standard error where it has one (KID: jackknife).';
}
