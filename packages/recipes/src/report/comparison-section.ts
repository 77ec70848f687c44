import { Interval } from '@diffpress/eval';
import { csvField, escapeHtml } from './cells';
import { DEFAULT_COMPARISON_METRICS, ReportComparison } from './comparisons';
import { formatDiagnostic } from './diagnostics';
import { ReportTable } from './table';

/** A number of a comparison: 4 significant digits, ∞ for unbounded interval ends, `n/a` for NaN. */
function num(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  return formatDiagnostic(x);
}

/** How an interval was computed: `t, 3 seeds` or `bootstrap, 256 samples × 3 seeds (2000 resamples)`. */
export function intervalMethod(d: Interval): string {
  const seeds = `${d.seeds} seed${d.seeds === 1 ? '' : 's'}`;
  if (d.method === 'bootstrap') return `bootstrap, ${d.samples ?? '?'} samples × ${seeds}${d.resamples ? ` (${d.resamples} resamples)` : ''}`;
  return `t, ${seeds}`;
}

/** Header of {@link comparisonCells}. */
export const COMPARISON_HEADER = ['a', 'b', 'metric', 'mean a', 'mean b', 'a − b [95 % CI]', 'method', 'margin', 'verdict', 'note'];

/** The display cells of one comparison, matching {@link COMPARISON_HEADER}. */
export function comparisonCells(c: ReportComparison): string[] {
  const r = c.result;
  const margin = c.margin === undefined ? '—' : typeof c.margin === 'string' ? `${c.margin}${r?.margin !== undefined ? ` (${num(r.margin)})` : ''}` : num(c.margin);
  if (!r) return [c.a, c.b, c.metric, '—', '—', '—', '—', margin, '—', c.note ?? ''];
  return [c.a, c.b, c.metric, num(r.a), num(r.b), `${num(r.diff.mean)} [${num(r.diff.lo)}, ${num(r.diff.hi)}]`, intervalMethod(r.diff), margin, r.verdict, c.note ?? ''];
}

/** What the section says before its table: the meaning of the four words, and where the comparisons came from. */
function introduction(table: ReportTable): string[] {
  const lines = [
    'Each comparison pairs rows a and b on one metric by seed — and, for the paired fidelity metrics, by sample (the same x_T) — and gives a − b with its 95 % interval: ' +
      'a t-interval over the per-seed differences (n − 1 degrees of freedom), or a paired bootstrap over samples within seeds, pooled over seeds (seeded). ' +
      '**better** / **worse**: the interval excludes 0 (a on the better / worse side of b in the metric’s direction); **equivalent**: the interval lies inside ±margin declared in the recipe; ' +
      'otherwise **inconclusive**.',
  ];
  const declared = table.comparisons.filter((c) => c.source === 'recipe').length;
  lines.push(
    (declared > 0
      ? `${declared === 1 ? 'The first comparison is the one' : `The first ${declared} comparisons are those`} the recipe declares (\`compare\`, with margins where declared); after them, by default, `
      : 'The recipe declares no comparisons (`compare`); by default ') +
      `every compressed row is compared with the FP row it is paired with (that of its sampler, or FP at eval.pairedSteps) on the paired fidelity metrics it evaluates (${DEFAULT_COMPARISON_METRICS.join(', ')}), without a margin (so never **equivalent**), unless the recipe already compares the two on that metric; ` +
      'the FP row is its own reference, so its value there is 0. sample-psnr is not compared with FP: FP’s PSNR against itself is infinite, so the difference has no interval (the sample-mse comparison tests the same per-sample MSEs). ' +
      'Wherever b is the FP row a is paired with, the verdict also stands next to a’s number in the table.',
  );
  return lines;
}

/** The Comparisons section of the Markdown report (always present: without comparisons it says why there are none). */
export function comparisonsMarkdown(table: ReportTable): string[] {
  const lines = ['## Comparisons', '', ...introduction(table).flatMap((l) => [l, ''])];
  if (table.comparisons.length === 0) {
    lines.push(`No comparisons: the recipe names none and evaluates none of the paired fidelity metrics of the default comparisons (${DEFAULT_COMPARISON_METRICS.join(', ')}).`, '');
    return lines;
  }
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  lines.push(`| ${COMPARISON_HEADER.join(' | ')} |`, `|${COMPARISON_HEADER.map((_, i) => (i < 3 || i > 7 ? '---' : '---:')).join('|')}|`);
  for (const c of table.comparisons) lines.push(`| ${comparisonCells(c).map(cell).join(' | ')} |`);
  lines.push('');
  return lines;
}

/** The Comparisons section of the HTML report. */
export function comparisonsHtml(table: ReportTable): string {
  // The introduction's Markdown: **word** and `code`.
  const html = (l: string): string => escapeHtml(l).replace(/\*\*([a-z]+)\*\*/g, '<b>$1</b>').replace(/`([^`]+)`/g, '<code>$1</code>');
  const parts = ['<h2>Comparisons</h2>', ...introduction(table).map((l) => `<p class="meta">${html(l)}</p>`)];
  if (table.comparisons.length === 0) {
    parts.push(`<p>No comparisons: the recipe names none and evaluates none of the paired fidelity metrics of the default comparisons (${DEFAULT_COMPARISON_METRICS.join(', ')}).</p>`);
    return parts.join('\n');
  }
  const head = COMPARISON_HEADER.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = table.comparisons.map((c) => `<tr>${comparisonCells(c).map((x) => `<td>${escapeHtml(x)}</td>`).join('')}</tr>`).join('\n');
  parts.push(`<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`);
  return parts.join('\n');
}

/**
 * `comparisons.csv`: one line per comparison with the rows, the metric, both means, a − b with its interval (the
 * ends as numbers: `Infinity` where a t-interval from one seed is unbounded), how it was computed, the margin and the
 * verdict.
 */
export function comparisonsCsv(table: ReportTable): string {
  const header = ['a', 'b', 'metric', 'source', 'mean_a', 'mean_b', 'diff', 'lo', 'hi', 'level', 'method', 'seeds', 'samples', 'resamples', 'margin_declared', 'margin', 'verdict', 'note'];
  const out = [header.join(',')];
  for (const c of table.comparisons) {
    const r = c.result;
    const d = r?.diff;
    out.push([c.a, c.b, c.metric, c.source, r?.a, r?.b, d?.mean, d?.lo, d?.hi, d?.level, d?.method, d?.seeds, d?.samples, d?.resamples, c.margin, r?.margin, r?.verdict, c.note].map(csvField).join(','));
  }
  return out.join('\n') + '\n';
}
