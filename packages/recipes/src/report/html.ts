import { RunSummary } from '../run/runner';
import { escapeHtml, headerCells, rowCells, spreadNote, tableNote } from './cells';
import { comparisonsHtml } from './comparison-section';
import { DiagnosticGroup, diagnosticsHtml } from './diagnostics';
import { GridImage } from './grids';
import { Plot } from './plots';
import { ReportTable } from './table';

export { escapeHtml };

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; }
.table-wrap { overflow-x: auto; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
tr.floor td { color: #666; font-style: italic; } tr.fp td { background: #f4f8ff; }
td.best { font-weight: bold; }
.meta { color: #555; } .warn { color: #8a5a00; } .fail { color: #a00; }
figure { margin: 0.6em 0; } figcaption { color: #555; font-size: 0.9em; }
img.strip { image-rendering: pixelated; height: 56px; }
h3 { font-size: 1em; margin-bottom: 0.2em; } summary { cursor: pointer; margin: 0.4em 0; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
`;

/**
 * The self-contained HTML report: the table, the comparisons, sample strips (embedded PNGs) and plots (inline SVG), with no external
 * resources and no script, so it opens anywhere (and renders in headless Chromium without console errors).
 */
export function htmlReport(summary: RunSummary, table: ReportTable, grids: GridImage[], plots: Plot[], diagnostics: readonly DiagnosticGroup[] = []): string {
  const v = summary.recipe;
  const head = headerCells(table).map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = table.rows
    .map((r, i) => {
      const cells = rowCells(table, i, (s) => `\u0000${s}`);
      return `<tr class="${r.kind}">${cells.map((c) => (c.startsWith('\u0000') ? `<td class="best">${escapeHtml(c.slice(1))}</td>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`;
    })
    .join('\n');
  const warnings = v.warnings.filter((w) => w.severity === 'warning');
  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(v.recipe.name)} — diffpress report</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(v.recipe.name)}</h1>`,
    v.recipe.description ? `<p>${escapeHtml(v.recipe.description.trim())}</p>` : '',
    `<p class="meta">Recipe <code>${escapeHtml(v.file)}</code> (hash <code>${v.hash.slice(0, 16)}</code>) · ${summary.units} units · backend ${escapeHtml(summary.backend)}${summary.runtime ? ` · runtime ${escapeHtml(summary.runtime)}` : ''} · ${summary.computed} computed, ${summary.reused} reused, ${summary.failed.length} failed · ${summary.seconds.toFixed(1)} s</p>`,
    `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`,
    `<p class="meta">${escapeHtml(`${spreadNote(table)} ${tableNote()}`)}</p>`,
    comparisonsHtml(table),
  ];
  if (warnings.length) parts.push('<h2>Skipped cells and warnings</h2><ul>', ...warnings.map((w) => `<li class="warn">${escapeHtml(`${w.path ? `${w.path}: ` : ''}${w.message}`)}</li>`), '</ul>');
  if (summary.pending?.length) {
    parts.push(`<h2>Pending units</h2><p>${summary.pending.length} of ${summary.units} units are not computed yet (a <code>--finished-only</code> report of a run in progress).</p><ul>`, ...summary.pending.map((u) => `<li>${escapeHtml(`${JSON.stringify(u.params)} seed ${u.seed}`)}</li>`), '</ul>');
  }
  if (summary.failed.length) parts.push('<h2>Failed units</h2><ul>', ...summary.failed.map((f) => `<li class="fail">${escapeHtml(`${JSON.stringify(f.params)} seed ${f.seed}: ${f.error}`)}</li>`), '</ul>');
  const strips = grids.filter((g) => g.file !== 'grid.png');
  if (strips.length) {
    parts.push('<h2>Samples</h2>');
    for (const g of strips) parts.push(`<figure><img class="strip" alt="${escapeHtml(g.caption)}" src="data:image/png;base64,${g.png.toString('base64')}"><figcaption>${escapeHtml(g.caption)}</figcaption></figure>`);
  }
  if (plots.length) {
    parts.push('<h2>Plots</h2><div class="plots">');
    for (const p of plots) parts.push(`<figure>${p.svg}<figcaption>${escapeHtml(p.title)}</figcaption></figure>`);
    parts.push('</div>');
  }
  parts.push(diagnosticsHtml(diagnostics));
  parts.push('</body></html>');
  return parts.filter(Boolean).join('\n') + '\n';
}
