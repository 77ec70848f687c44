/**
 * Comparisons of report rows (evaluation spec §5): which rows a recipe's `compare` entries select, the default
 * comparisons (every row against the FP row it is paired with on the paired fidelity metrics), and their verdicts from
 * `@diffpress/eval`'s {@link compareRows}. Shared by validation (on the rows a recipe will produce) and the report
 * (on the rows it did produce), so a selector means the same at both times.
 */
import { Comparison, METRICS, ResultRow, compareRows } from '@diffpress/eval';
import type { RecipeComparison, RowSelector } from '../recipe/schema';
import { nearest } from '../registry/suggest';

/** What names a row of the report table: what its cells show, and the FP evaluation its paired metrics compare with. */
export interface RowIdentity {
  /** `floor` (held-out data), `fp` (the uncompressed model), `compressed`. */
  kind: 'floor' | 'fp' | 'compressed';
  /** What was evaluated: `FP`, the method chain, or the floor's description (the model column). */
  label: string;
  /** Pipeline position. */
  position: string;
  /** Axis values shown in the param columns (absent: not applicable to this row). */
  params: Record<string, unknown>;
  /** Sampler label. */
  sampler: string;
  /**
   * The FP evaluation the row's paired metrics (sample-MSE, PSNR, ε-MSE) compare with ({@link fpGroupId}): an FP
   * row's own id, a compressed row's baseline; absent for the floor.
   */
  reference?: string;
  /**
   * An FP row's own identity as an FP evaluation, when it differs from {@link RowIdentity.reference} (with
   * `eval.pairedSteps`, an FP row at other steps is paired with the FP row at the paired steps). Absent: the same.
   */
  evaluation?: string;
}

/**
 * What a comparison reads of a report table row (`ReportRow` is one): its identity, n and the result rows behind
 * each metric column. Declared here so that this module does not import the table module, which imports it.
 */
export interface ComparedRow extends RowIdentity {
  /** Samples per evaluation. */
  samples: number;
  /** The result rows behind each metric column, one per seed. */
  results: Record<string, ResultRow[]>;
}

/** A param value as a table cell. */
export function formatParam(v: unknown): string {
  if (v === undefined) return '—';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Params of an FP row: only the axes that change the FP model or its sampling (not those of the pipeline). */
export function fpRowParams(params: Record<string, unknown>, pipelineAxes: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => !pipelineAxes.has(k)));
}

/**
 * Identity of one FP evaluation of a run — the base model, the sampler, the sample count and the FP row's params —
 * under which evaluations that several cells share appear as one row.
 */
export function fpGroupId(model: string, sampler: string, samples: number, params: Record<string, unknown>): string {
  return `fp ${model} ${sampler} ${samples} ${JSON.stringify(params)}`;
}

/** Where a recipe's paired metrics take their FP reference from when `eval.pairedSteps` is set. */
export interface PairedReference {
  /** Label of the FP reference's sampler (the recipe's sampler at the paired steps). */
  sampler: string;
  /** Names of the axes on `sample.steps`: the reference is the same whatever their value. */
  stepsAxes: ReadonlySet<string>;
}

/** What {@link pairingIds} returns. */
export interface PairingIds {
  /** The FP evaluation the row's paired metrics compare with. */
  reference: string;
  /** The row's own identity as an FP evaluation (FP rows). */
  evaluation: string;
}

/**
 * The paired-metric identities of a row: `reference`, the FP evaluation its paired metrics compare with, and
 * `evaluation`, the row's own identity when it is an FP row. Without `paired` both are {@link fpGroupId} of the row's
 * sampler; with it the reference is the FP evaluation at the paired sampler, the same for every value of the
 * `sample.steps` axes.
 */
export function pairingIds(model: string, sampler: string, samples: number, fpParams: Record<string, unknown>, paired?: PairedReference): PairingIds {
  if (!paired) {
    const id = fpGroupId(model, sampler, samples, fpParams);
    return { reference: id, evaluation: id };
  }
  const params = Object.fromEntries(Object.entries(fpParams).filter(([k]) => !paired.stepsAxes.has(k)));
  return { reference: fpGroupId(model, paired.sampler, samples, params), evaluation: fpGroupId(model, sampler, samples, params) };
}

/** Column names a `name=value` term may use besides the axis names. */
const COLUMN_TERMS = ['model', 'sampler', 'position'] as const;

interface Term {
  /** Column name; absent for a bare value. */
  name?: string;
  /** The value the column must show. */
  value: string;
}

/** A selector as text: the string as written, or `name=value` pairs joined by `, `. */
export function selectorText(selector: RowSelector): string {
  return typeof selector === 'string' ? selector.trim() : Object.entries(selector).map(([k, v]) => `${k}=${String(v)}`).join(', ');
}

function columnNames(rows: readonly RowIdentity[]): Set<string> {
  return new Set<string>([...COLUMN_TERMS, ...rows.flatMap((r) => Object.keys(r.params))]);
}

function parseTerms(selector: RowSelector, names: ReadonlySet<string>): Term[] {
  if (typeof selector !== 'string') return Object.entries(selector).map(([name, v]) => ({ name, value: String(v) }));
  return selector
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .map((t) => {
      // `a=b` is a column term only when `a` is a column: labels may contain '=' themselves.
      const eq = t.indexOf('=');
      const name = eq > 0 ? t.slice(0, eq).trim() : '';
      return names.has(name) ? { name, value: t.slice(eq + 1).trim() } : { value: t };
    });
}

function termMatches(row: RowIdentity, term: Term): boolean {
  const { name, value } = term;
  if (name === 'model') return row.label === value;
  if (name === 'sampler') return row.sampler === value;
  if (name === 'position') return row.position === value;
  if (name !== undefined) return Object.hasOwn(row.params, name) && formatParam(row.params[name]) === value;
  return value === row.label || value === row.sampler || (value === 'floor' && row.kind === 'floor') || Object.values(row.params).some((p) => formatParam(p) === value);
}

/** Indices of the rows a selector selects (every term must match; see the recipe's `compare`). */
export function selectRows(rows: readonly RowIdentity[], selector: RowSelector): number[] {
  const terms = parseTerms(selector, columnNames(rows));
  if (terms.length === 0) return [];
  return rows.flatMap((r, i) => (terms.every((t) => termMatches(r, t)) ? [i] : []));
}

/**
 * The shortest selector that selects row `i` alone: `floor`, the model label, an axis label (`TFMQ W4A8`), the label
 * with the sampler (`FP, ddim-20`), the label with one axis (`FP, sample.steps=20`), or every column.
 */
export function rowName(rows: readonly RowIdentity[], i: number): string {
  const r = rows[i];
  if (r.kind === 'floor') return 'floor';
  const params = Object.entries(r.params).filter(([, v]) => v !== undefined);
  const named = params.map(([k, v]) => `${k}=${formatParam(v)}`);
  const candidates = [
    r.label,
    ...params.filter(([, v]) => typeof v === 'string').map(([, v]) => String(v)),
    `${r.label}, ${r.sampler}`,
    ...named.map((n) => `${r.label}, ${n}`),
    [r.label, ...named].join(', '),
    [`model=${r.label}`, `sampler=${r.sampler}`, ...named].join(', '),
  ];
  const full = [`model=${r.label}`, `sampler=${r.sampler}`, ...named, `position=${r.position}`].join(', ');
  for (const c of candidates) {
    const hit = selectRows(rows, c);
    if (hit.length === 1 && hit[0] === i) return c;
  }
  return full;
}

/** What {@link resolveSelector} found: the one row selected, or why there is not exactly one. */
export type SelectorResolution =
  | {
      /** Index of the selected row. */
      row: number;
    }
  | {
      /** Why the selector selects no row or several, with the rows to choose from. */
      problem: string;
    };

/**
 * The one row a selector selects, or why it selects none or several: the message lists the rows (by {@link rowName})
 * and suggests the nearest name.
 */
export function resolveSelector(rows: readonly RowIdentity[], selector: RowSelector): SelectorResolution {
  const hit = selectRows(rows, selector);
  if (hit.length === 1) return { row: hit[0] };
  const text = selectorText(selector);
  const names = rows.map((_, i) => rowName(rows, i));
  if (hit.length === 0) {
    const near = nearest(text, names);
    return { problem: `'${text}' selects no row of the report${near ? ` — did you mean '${near}'?` : ''} (rows: ${names.map((n) => `'${n}'`).join(', ')})` };
  }
  return { problem: `'${text}' selects ${hit.length} rows (${hit.map((i) => `'${names[i]}'`).join(', ')}); add a term to pick one` };
}

/** Whether a metric is a paired one (compares each row with its FP reference from the same x_T). */
function isPaired(metric: string): boolean {
  return METRICS[metric]?.input === 'paired';
}

/** The value the FP row has, by definition, on a paired metric: that of its own samples against themselves (0 MSE). */
function fpSelfValue(metric: string, perSample: number): number {
  const zeros = new Array<number>(Math.max(1, perSample)).fill(0);
  return METRICS[metric]?.aggregate?.(zeros) ?? 0;
}

/**
 * Why rows `a` and `b` cannot be compared on `metric` (whatever their values), or undefined: the same row twice; a
 * paired metric on the floor; a paired metric between rows paired with different FP evaluations (each row's value
 * is against its own FP samples, so the two are not on one scale); a paired metric whose FP value is not finite
 * (PSNR: FP against itself is ∞, so a − FP has no interval — compare on sample-mse, whose per-sample MSEs PSNR is
 * computed from).
 */
export function pairProblem(rows: readonly RowIdentity[], a: number, b: number, metric: string): string | undefined {
  if (a === b) return 'a and b select the same row';
  if (!isPaired(metric)) return undefined;
  const [ra, rb] = [rows[a], rows[b]];
  if (ra.kind === 'floor' || rb.kind === 'floor') return `${metric} compares a model with FP; the floor row has none`;
  if (ra.reference !== rb.reference) {
    return `${metric} compares each row with the FP samples of its own sampler and cell, and '${rowName(rows, a)}' and '${rowName(rows, b)}' are paired with different FP evaluations; compare rows that share one (e.g. a row and the FP row of its sampler)`;
  }
  const fp = [ra, rb].find((r) => r.kind === 'fp');
  if (fp && !Number.isFinite(fpSelfValue(metric, 1))) {
    return `the FP row's ${metric} against itself is ${fpSelfValue(metric, 1)}, so a − b has no interval; compare on sample-mse (the per-sample MSEs ${metric} is computed from)`;
  }
  return undefined;
}

/** The paired fidelity metrics the default comparisons use, in report order (sample-psnr: see {@link pairProblem}). */
export const DEFAULT_COMPARISON_METRICS: readonly string[] = ['sample-mse', 'eps-mse'];

/** One comparison of the report. */
export interface ReportComparison {
  /** Row a: the selector as the recipe wrote it, or (default comparisons) the row's {@link rowName}. */
  a: string;
  /** Row b, likewise. */
  b: string;
  /** Index of row a in the report table's rows (floor first); absent when the selector selects no row of this report. */
  rowA?: number;
  /** Index of row b, likewise. */
  rowB?: number;
  /** Metric as the recipe names it (`sample-mse`, `fd`). */
  metric: string;
  /** `recipe`: declared in the recipe's `compare`; `default`: a row against the FP row it is paired with. */
  source: 'recipe' | 'default';
  /** The margin as declared (`0.001`, `'2%'`); the absolute margin used is `result.margin`. */
  margin?: number | string;
  /**
   * The comparison: the two means, a − b with its 95 % interval (t over seeds, or a paired bootstrap over samples ×
   * seeds) and the verdict. Absent when it could not be made (`note` says why). In `results.json` an infinite
   * interval end is written as null.
   */
  result?: Comparison;
  /** Why there is no result, or what a reader must know about it (FP's paired value is 0 by definition, …). */
  note?: string;
}

/** The rows of one metric of a table row, one per seed (detail rows such as ε-MSE buckets are not in them). */
function metricRows(row: ComparedRow, metric: string): ResultRow[] | undefined {
  return Object.values(row.results).find((rs) => rs.length > 0 && rs[0].metricId === metric);
}

/** The FP row's rows of a paired metric, built from the other row's: its value against itself, per seed and sample. */
function fpSelfRows(like: readonly ResultRow[]): ResultRow[] {
  return like.map((r) => {
    const { stderr: _none, ...rest } = r;
    const n = r.perSample?.length ?? 1;
    return { ...rest, value: fpSelfValue(r.metricId, n), ...(r.perSample ? { perSample: new Array<number>(n).fill(0) } : {}) };
  });
}

function meanOf(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** The absolute margin of a declared one: a number as is, a percentage of b's mean (over its seeds). */
function absoluteMargin(margin: number | string, b: readonly ResultRow[]): { value?: number; note?: string } {
  if (typeof margin === 'number') return { value: margin };
  const pct = parseFloat(margin);
  const mean = meanOf(b.map((r) => r.value));
  const value = (Math.abs(mean) * pct) / 100;
  if (!(value > 0 && Number.isFinite(value))) return { note: `margin ${margin} of b's mean ${mean} is ${value}: no equivalence test` };
  return { value };
}

/** Compares two table rows on a metric; notes instead of a result when it cannot be done. */
function compareTableRows(rows: readonly ComparedRow[], a: number, b: number, metric: string, margin: number | string | undefined): Pick<ReportComparison, 'result' | 'note'> {
  const problem = pairProblem(rows, a, b, metric);
  if (problem) return { note: problem };
  const notes: string[] = [];
  let ra = metricRows(rows[a], metric);
  let rb = metricRows(rows[b], metric);
  // Paired metrics are left out of FP rows (0 by definition): FP is its own reference.
  if (isPaired(metric) && rows[a].kind === 'fp' && !ra && rb) {
    ra = fpSelfRows(rb);
    notes.push(`FP is its own reference: its ${metric} is ${ra[0].value} by definition`);
  }
  if (isPaired(metric) && rows[b].kind === 'fp' && !rb && ra) {
    rb = fpSelfRows(ra);
    notes.push(`FP is its own reference: its ${metric} is ${rb[0].value} by definition`);
  }
  if (!ra || !rb) return { note: `${!ra ? 'a' : 'b'} has no ${metric} values` };
  let marginValue: number | undefined;
  if (margin !== undefined) {
    const m = absoluteMargin(margin, rb);
    marginValue = m.value;
    if (m.note) notes.push(m.note);
  }
  try {
    const result = compareRows(ra, rb, { ...(marginValue !== undefined ? { margin: marginValue } : {}), seed: 0 });
    if (result.note) notes.push(result.note);
    return { result, ...(notes.length ? { note: notes.join('; ') } : {}) };
  } catch (err) {
    return { note: [...notes, (err as Error).message].join('; ') };
  }
}

/**
 * The comparisons of a report table: the recipe's `compare` entries, each resolved against the table's rows (a
 * selector that selects no row of this report — a failed unit, another shard — gets a note), followed by the
 * default ones: every compressed row against the FP row it is paired with (same base model, sampler and cell) on
 * each of {@link DEFAULT_COMPARISON_METRICS} the row carries, without a margin — except where the recipe already
 * compares the same two rows on the same metric (its entry, with its margin, stands for both). sample-psnr is not
 * among the defaults: FP's PSNR against itself is infinite (see {@link pairProblem}).
 */
export function tableComparisons(rows: readonly ComparedRow[], specs: readonly RecipeComparison[] | undefined): ReportComparison[] {
  const declared = (specs ?? []).map((s): ReportComparison => {
    const base: ReportComparison = { a: selectorText(s.a), b: selectorText(s.b), metric: s.metric, source: 'recipe', ...(s.margin !== undefined ? { margin: s.margin } : {}) };
    const a = resolveSelector(rows, s.a);
    const b = resolveSelector(rows, s.b);
    if (!('row' in a) || !('row' in b)) return { ...base, note: [a, b].flatMap((x, k) => ('problem' in x ? [`${k === 0 ? 'a' : 'b'}: ${x.problem}`] : [])).join('; ') };
    return { ...base, rowA: a.row, rowB: b.row, ...compareTableRows(rows, a.row, b.row, s.metric, s.margin) };
  });
  const covered = new Set(declared.filter((c) => c.rowA !== undefined).map((c) => `${c.rowA} ${c.rowB} ${c.metric}`));
  const defaults: ReportComparison[] = [];
  rows.forEach((r, a) => {
    if (r.kind !== 'compressed') return;
    const b = rows.findIndex((f) => f.kind === 'fp' && r.reference !== undefined && (f.evaluation ?? f.reference) === r.reference);
    if (b < 0) return;
    for (const metric of DEFAULT_COMPARISON_METRICS) {
      if (!metricRows(r, metric) || covered.has(`${a} ${b} ${metric}`)) continue;
      defaults.push({ a: rowName(rows, a), b: rowName(rows, b), rowA: a, rowB: b, metric, source: 'default', ...compareTableRows(rows, a, b, metric, undefined) });
    }
  });
  return [...declared, ...defaults];
}

/**
 * Whether a comparison's verdict belongs next to row a's number in the table: it has one, and b is the FP row row a
 * is paired with (the default comparisons, or a recipe's own comparison of the same rows).
 */
export function verdictInTable(rows: readonly RowIdentity[], c: ReportComparison): boolean {
  if (!c.result || c.rowA === undefined || c.rowB === undefined) return false;
  const [a, b] = [rows[c.rowA], rows[c.rowB]];
  return a.kind === 'compressed' && b.kind === 'fp' && a.reference !== undefined && a.reference === (b.evaluation ?? b.reference);
}
