import { RunSummary } from '../run/runner';
import { DiagnosticGroup, diagnosticsMarkdown } from './diagnostics';
import { csvField, headerCells, rowCells, spreadNote, tableNote } from './cells';
import { comparisonsMarkdown } from './comparison-section';
import { ReportTable } from './table';

// Also the HTML report's and the CLI's cells; re-exported here, where they were first defined.
export { headerCells, rowCells, spreadNote };

/**
 * The paper-style Markdown report: the table (floor and FP rows first, best per quality column in bold, verdicts
 * against FP next to the numbers), how each number was produced, skipped and failed cells, links to grids and plots,
 * the comparisons and the steps' diagnostics.
 */
export function markdownReport(summary: RunSummary, table: ReportTable, files: { grids: string[]; plots: string[] }, diagnostics: readonly DiagnosticGroup[] = []): string {
  const v = summary.recipe;
  const lines: string[] = [];
  lines.push(`# ${v.recipe.name}`, '');
  if (v.recipe.description) lines.push(v.recipe.description.trim(), '');
  lines.push(
    `Recipe \`${v.file}\` (hash \`${v.hash.slice(0, 16)}\`), ${summary.units} unit${summary.units === 1 ? '' : 's'}` +
      `${summary.shard ? ` (shard ${summary.shard.index}/${summary.shard.count})` : ''}; backend ${summary.backend}${summary.runtime ? `; runtime ${summary.runtime}` : ''}; ` +
      `${summary.computed} computed, ${summary.reused} reused from the store, ${summary.failed.length} failed; ${summary.seconds.toFixed(1)} s.`,
    '',
  );
  lines.push(`| ${headerCells(table).join(' | ')} |`);
  lines.push(`|${headerCells(table).map((_, i) => (i < 1 ? '---' : '---:')).join('|')}|`);
  table.rows.forEach((_, i) => lines.push(`| ${rowCells(table, i, (s) => `**${s}**`).join(' | ')} |`));
  lines.push('');
  lines.push(spreadNote(table), `Feature metrics use the network \`${v.recipe.eval.featureNet}\`. ${tableNote()}`, '');
  lines.push(...comparisonsMarkdown(table));
  const warnings = v.warnings.filter((w) => w.severity === 'warning');
  if (warnings.length) {
    lines.push('## Skipped cells and warnings', '');
    for (const w of warnings) lines.push(`- ${w.path ? `\`${w.path}\`: ` : ''}${w.message}`);
    lines.push('');
  }
  if (summary.pending?.length) {
    lines.push(`**Partial:** ${summary.pending.length} of ${summary.units} units are not computed yet (a \`--finished-only\` report of a run in progress):`, '');
    for (const u of summary.pending) lines.push(`- ${JSON.stringify(u.params)} seed ${u.seed}`);
    lines.push('');
  }
  if (summary.failed.length) {
    lines.push('## Failed units', '');
    for (const f of summary.failed) lines.push(`- ${JSON.stringify(f.params)} seed ${f.seed}: ${f.error}`);
    lines.push('');
  }
  if (files.grids.length) {
    lines.push('## Samples', '');
    for (const g of files.grids) lines.push(`![samples](${g})`, '');
  }
  if (files.plots.length) {
    lines.push('## Plots', '');
    for (const p of files.plots) lines.push(`![plot](${p})`, '');
  }
  lines.push(...diagnosticsMarkdown(diagnostics));
  return lines.join('\n');
}

/**
 * Long-format CSV: one line per metric value of every unit and position, with its costs (for pandas and R):
 * `s_per_sample` is the sampling time measured in isolation (empty when not measured), `draw_s_per_sample` the
 * wall-clock of drawing the evaluation samples under the run's load.
 */
export function resultsCsv(summary: RunSummary): string {
  const axes = summary.recipe.cells[0] ? Object.keys(summary.recipe.cells[0].params) : [];
  const header = [
    ...axes, 'seed', 'position', 'model', 'sampler', 'samples', 'metric', 'value', 'stderr', 'size_mib', 'ops_m', 'ms_per_call_per_sample', 's_per_sample', 'draw_s_per_sample', 'model_digest', 'feature_net', 'recipe_hash',
  ];
  const out = [header.join(',')];
  const line = (vals: unknown[]): void => {
    out.push(vals.map(csvField).join(','));
  };
  for (const f of summary.floor) {
    for (const r of f.rows) line([...axes.map(() => ''), f.seed, 'floor', r.subject, '', r.samples, r.metric, r.value, r.stderr, '', '', '', '', '', '', r.featureNet?.id, r.recipeHash]);
  }
  for (const u of summary.results) {
    for (const p of u.positions) {
      for (const r of p.rows) {
        line([
          ...axes.map((a) => u.params[a]), u.seed, p.position, p.label, p.sampler ?? u.sampler, u.samples, r.metric, r.value, r.stderr,
          p.efficiency.paper.sizeMiB, p.efficiency.paper.ops / 1e6, p.latency?.msPerCallPerSample, p.sampling?.secondsPerSample, p.secondsPerSample, r.modelDigest, r.featureNet?.id, r.recipeHash,
        ]);
      }
    }
  }
  return out.join('\n') + '\n';
}
