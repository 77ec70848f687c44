import { DiagnosticTable } from '@diffpress/core';
import { RunSummary } from '../run/runner';
import { escapeHtml } from './cells';

/** A method's report table merged over the seeds of one cell: numbers as mean (± std over seeds). */
export interface MergedDiagnostic {
  /** Table id (`<method>.<name>`, prefixed by the step index when a pipeline has several steps). */
  id: string;
  /** Heading. */
  title: string;
  /** What was measured. */
  description?: string;
  /** Column names. */
  columns: string[];
  /** Display cells. */
  rows: string[][];
  /** Seeds merged. */
  seeds: number;
}

/** The diagnostics of one evaluated (cell, position). */
export interface DiagnosticGroup {
  /** The method chain (`q-diffusion`, `tfmq → …`). */
  label: string;
  /** The cell's axis values. */
  params: Record<string, unknown>;
  /** Pipeline position. */
  position: string;
  /** Its tables. */
  tables: MergedDiagnostic[];
}

/** A diagnostic number: 4 significant digits, exponent notation for very large or small magnitudes. */
export function formatDiagnostic(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? x.toExponential(2) : Number.isInteger(x) ? String(x) : x.toPrecision(4);
}

function mergeCell(values: Array<string | number | null>): string {
  const nums = values.filter((v): v is number => typeof v === 'number');
  if (nums.length === 0 || nums.length !== values.length) return values[0] === null || values[0] === undefined ? '—' : String(values[0]);
  const mean = nums.reduce((a, b) => a + b, 0) / nums.length;
  if (nums.length === 1 || nums.every((n) => n === nums[0])) return formatDiagnostic(mean);
  const std = Math.sqrt(nums.reduce((a, b) => a + (b - mean) ** 2, 0) / (nums.length - 1));
  return `${formatDiagnostic(mean)} ± ${formatDiagnostic(std)}`;
}

/** Merges the same table from several seeds row by row (rows and columns must line up; the first seed's layout wins). */
export function mergeDiagnostic(id: string, tables: readonly DiagnosticTable[]): MergedDiagnostic {
  const first = tables[0];
  const rows = first.rows.map((row, r) => row.map((_, c) => mergeCell(tables.map((t) => t.rows[r]?.[c] ?? null))));
  return { id, title: first.title, description: first.description, columns: first.columns, rows, seeds: tables.length };
}

/**
 * The diagnostics of a run, one group per evaluated (cell, position) whose pipeline steps reported tables, each table
 * merged over the seeds.
 */
export function diagnosticGroups(summary: Pick<RunSummary, 'results'>): DiagnosticGroup[] {
  const groups = new Map<string, { label: string; params: Record<string, unknown>; position: string; byId: Map<string, DiagnosticTable[]> }>();
  for (const unit of summary.results) {
    for (const p of unit.positions) {
      const stages = p.stages ?? [];
      if (!stages.some((s) => s.diagnostics.length > 0)) continue;
      const key = `${unit.cell} ${p.position}`;
      const g = groups.get(key) ?? { label: p.label, params: unit.params, position: p.position, byId: new Map<string, DiagnosticTable[]>() };
      stages.forEach((s, i) => {
        for (const t of s.diagnostics) {
          const id = stages.length > 1 ? `${i}:${t.id}` : t.id;
          g.byId.set(id, [...(g.byId.get(id) ?? []), t]);
        }
      });
      groups.set(key, g);
    }
  }
  return [...groups.values()].map((g) => ({ label: g.label, params: g.params, position: g.position, tables: [...g.byId].map(([id, ts]) => mergeDiagnostic(id, ts)) }));
}

function groupHeading(g: DiagnosticGroup): string {
  const params = Object.entries(g.params).map(([k, v]) => `${k} = ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return `${g.label}${params.length ? ` (${params.join(', ')})` : ''}${g.position === 'final' ? '' : ` @ ${g.position}`}`;
}

/** The diagnostics as Markdown sections (empty when no step reported any). */
export function diagnosticsMarkdown(groups: readonly DiagnosticGroup[]): string[] {
  if (groups.length === 0) return [];
  const lines = ['## Diagnostics', '', 'Tables reported by the pipeline steps; numbers are mean ± std over the seeds (row by row).', ''];
  for (const g of groups) {
    lines.push(`### ${groupHeading(g)}`, '');
    for (const t of g.tables) {
      lines.push(`**${t.title}** (\`${t.id}\`, ${t.seeds} seed${t.seeds === 1 ? '' : 's'})${t.description ? ` — ${t.description}` : ''}`, '');
      lines.push(`| ${t.columns.join(' | ')} |`, `|${t.columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
      for (const r of t.rows) lines.push(`| ${r.join(' | ')} |`);
      lines.push('');
    }
  }
  return lines;
}

/** The diagnostics as HTML (one collapsible section per cell), or an empty string. */
export function diagnosticsHtml(groups: readonly DiagnosticGroup[]): string {
  if (groups.length === 0) return '';
  const parts = ['<h2>Diagnostics</h2>', '<p class="meta">Tables reported by the pipeline steps; numbers are mean ± std over the seeds (row by row).</p>'];
  for (const g of groups) {
    parts.push(`<details><summary>${escapeHtml(groupHeading(g))}</summary>`);
    for (const t of g.tables) {
      parts.push(`<h3>${escapeHtml(t.title)}</h3>`);
      if (t.description) parts.push(`<p class="meta">${escapeHtml(t.description)}</p>`);
      const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
      const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
      parts.push(`<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`);
    }
    parts.push('</details>');
  }
  return parts.join('\n');
}
