/**
 * Display pieces shared by the Markdown report, the HTML report and its diagnostics, and the CLI's table: the cells
 * of the result table and HTML escaping. A module of its own so that the report writers import it, not each other.
 */
import { SAMPLING_TIME_BATCH, SAMPLING_TIME_REPEATS } from '../run/unit';
import { ReportTable, formatAggregate, formatParam } from './table';

/** A CSV field: quoted when it holds a comma, quote or newline; objects as JSON; nothing for undefined and null. */
export function csvField(v: unknown): string {
  const s = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Escapes text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The cells of one table row as display strings, with the best value of a quality column marked by `mark`, and the
 * row's marks after the number: the verdict against its FP row (`0.0021 (worse)`), `(stored)` on a stored cost.
 */
export function rowCells(table: ReportTable, i: number, mark: (s: string) => string): string[] {
  const r = table.rows[i];
  const cells = [r.label, r.sampler, String(r.samples)];
  for (const c of table.columns) {
    const text = c.kind === 'param' ? formatParam(r.params[c.id]) : formatAggregate(r.values[c.id], c.digits);
    const shown = table.best[c.id] === i ? mark(text) : text;
    cells.push(r.marks[c.id] !== undefined && r.values[c.id] ? `${shown} (${r.marks[c.id]})` : shown);
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

/** How the table's marks and cost columns were produced (the Markdown and the HTML report's caption). */
export function tableNote(): string {
  return (
    'Best per quality column in bold (floor excluded); cost columns are never marked. A verdict after a number — (better), (worse), (equivalent), (inconclusive) — ' +
    'is the row against the FP row it is paired with: that of its sampler, or FP at eval.pairedSteps (see Comparisons). Sample i of every row starts from the same x_T, keyed by (seed, i). ' +
    'Size and OPs follow the paper-style accounting (eval package); ms / call / sample is the median of 5 timed UNet calls at batch 16 on the runtime named in its title ' +
    `(ORT: onnxruntime-node, quantized layers as QDQ); s / sample is sampling time measured in isolation: the median of ${SAMPLING_TIME_REPEATS} timed sampler runs of ${SAMPLING_TIME_BATCH} samples after an untimed one, ` +
    'through the row’s hooks on its runtime (results.csv also has draw_s_per_sample, the wall-clock of drawing the evaluation samples under the run’s load); ' +
    'compress s is the cost of computing the pipeline steps (calibration, training; a method’s own cost table where it has one), marked (stored) when the step or one of its phases was reused from the store — ' +
    'the cost recorded when it was computed, never the time of reusing it.'
  );
}
