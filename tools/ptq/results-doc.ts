/**
 * Writes docs/results/ptq.md from the run folders of the four PTQ paper-ablation recipes: each report's table, and
 * the orderings of ptq spec §6 checked on the numbers (mean ± std over seeds; "within noise" and "clearly" are
 * defined on the two-sigma band of the difference). Nothing is tuned here: the text states what the numbers show.
 *
 *   npx nx run experiments:ablation --recipe=apps/experiments/recipes/ptq/methods-bits.yaml   # and split, calibration,
 *   npx nx run tools:ptq-results                                                            # tfmq-components
 *
 * Options: `--runs=dir` (default `runs`, the folders `ptq-methods-bits`, `ptq-split`, `ptq-calibration`,
 * `ptq-tfmq-components`), `--out=file` (default docs/results/ptq.md).
 */
import * as fs from 'fs';
import * as path from 'path';
import { argOr } from '../cli-args';

interface Row {
  metric: string;
  value: number;
}
interface Position {
  position: string;
  label: string;
  rows: Row[];
  stages?: Array<{ method: string; seconds: number; diagnostics: Array<{ id: string; columns: string[]; rows: Array<Array<string | number | null>> }> }>;
}
interface Unit {
  params: Record<string, unknown>;
  seed: number;
  positions: Position[];
}
interface Results {
  recipe: { name: string; file: string; hash: string };
  backend: string;
  results: Unit[];
}

/** Mean and sample std over seeds. */
interface Stat {
  mean: number;
  std: number;
  n: number;
}

function stat(xs: number[]): Stat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

function fmt(s: Stat | undefined, digits = 3): string {
  if (!s) return '—';
  const f = (x: number): string => (x !== 0 && Math.abs(x) < 1 ? x.toPrecision(3) : x.toFixed(digits));
  return `${f(s.mean)} ± ${f(s.std)}`;
}

/** The two-sigma band of a difference of two means measured with these seed spreads. */
function band(a: Stat, b: Stat): number {
  return 2 * Math.sqrt(a.std ** 2 + b.std ** 2);
}

/** `a` vs `b` where lower is better: 'better', 'worse' (beyond the band) or 'within noise'. */
function compare(a: Stat, b: Stat): 'better' | 'worse' | 'within noise' {
  const d = a.mean - b.mean;
  if (Math.abs(d) <= band(a, b)) return 'within noise';
  return d < 0 ? 'better' : 'worse';
}

function load(dir: string): Results | null {
  const file = path.join(dir, 'results.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Results) : null;
}

/**
 * What the calibration costs when every phase is computed: the `cost s` total of the method's timing table (a phase
 * reused from the cache counts with the time of the run that computed it), else the step's wall-clock.
 */
function calibrationCost(p: Position): number {
  let total = 0;
  for (const st of p.stages ?? []) {
    const timing = st.diagnostics.find((d) => d.id.endsWith('.calibration-time'));
    const row = timing?.rows.find((r) => r[0] === 'total');
    total += typeof row?.[2] === 'number' ? row[2] : st.seconds;
  }
  return total;
}

/** Per cell label (the first param's value), per metric: the stat over seeds at position `final` (or baseline for FP). */
function cellStats(r: Results, position: 'final' | 'baseline'): Map<string, Map<string, Stat>> {
  const byCell = new Map<string, Map<string, number[]>>();
  for (const u of r.results) {
    const p = u.positions.find((x) => x.position === position);
    if (!p) continue;
    const label = position === 'baseline' ? 'FP' : Object.values(u.params).map(String).join(' / ');
    const m = byCell.get(label) ?? new Map<string, number[]>();
    for (const row of p.rows) {
      if (row.metric.includes('[')) continue;
      m.set(row.metric, [...(m.get(row.metric) ?? []), row.value]);
    }
    if (position === 'final') m.set('calibration-cost-s', [...(m.get('calibration-cost-s') ?? []), calibrationCost(p)]);
    byCell.set(label, m);
  }
  const out = new Map<string, Map<string, Stat>>();
  for (const [label, m] of byCell) out.set(label, new Map([...m].map(([k, xs]) => [k, stat(xs)])));
  return out;
}

function metricKey(stats: Map<string, Stat>, prefix: string): string | undefined {
  return [...stats.keys()].find((k) => k === prefix || k.startsWith(`${prefix}-`));
}

function reportTable(dir: string): string[] {
  const md = fs.readFileSync(path.join(dir, 'report.md'), 'utf8').split('\n');
  const start = md.findIndex((l) => l.startsWith('| model'));
  const end = md.findIndex((l, i) => i > start && !l.startsWith('|'));
  return start < 0 ? ['(no table)'] : [...md.slice(start, end), '', md[end + 1] ?? ''];
}

/** A line stating how `a` compares with `b` on a lower-is-better metric. */
function verdict(name: string, a: string, b: string, cells: Map<string, Map<string, Stat>>, metric: string): string {
  const sa = cells.get(a);
  const sb = cells.get(b);
  const k = sa && metricKey(sa, metric);
  if (!sa || !sb || !k || !sb.get(k) || !sa.get(k)) return `- ${name}: not measured (missing ${a} or ${b}).`;
  const x = sa.get(k) as Stat;
  const y = sb.get(k) as Stat;
  if (x.n < 2 || y.n < 2) return `- ${name}: ${a} ${fmt(x)} vs ${b} ${fmt(y)} (${metric}) — one seed, no noise estimate yet.`;
  return `- ${name}: ${a} ${fmt(x)} vs ${b} ${fmt(y)} (${metric}) — ${a} is **${compare(x, y)}** (difference ${(x.mean - y.mean).toPrecision(3)}, two-sigma band ${band(x, y).toPrecision(3)}).`;
}

function main(): void {
  const runs = argOr('runs', 'runs');
  const out = argOr('out', path.join('docs', 'results', 'ptq.md'));
  const names = ['ptq-methods-bits', 'ptq-split', 'ptq-calibration', 'ptq-tfmq-components'];
  const lines: string[] = [
    '# PTQ reproduction on MNIST',
    '',
    'Generated by `npx nx run tools:ptq-results` from the run folders of the four recipes in',
    '`apps/experiments/recipes/ptq/` (run each with `npx nx run experiments:ablation --recipe=<file>`). Numbers are',
    'mean ± std over the seeds. A comparison is **within noise** when the difference of the means is inside the',
    'two-sigma band `2·√(std_a² + std_b²)`, and **better** / **worse** beyond it. FD is the Fréchet distance under',
    'the shipped MNIST classifier (lower is better); ε-MSE is the teacher-forced ε error against the FP model (64',
    'trajectories); the calibration cost is the sum of its phases\' wall-clock on this 2-core machine (shared with other',
    'jobs), counting a phase reused from the cache with the time of the run that computed it.',
    '',
  ];
  for (const name of names) {
    const dir = path.join(runs, name);
    const r = load(dir);
    lines.push(`## ${name}`, '');
    if (!r) {
      lines.push(`Not run yet (no ${path.join(dir, 'results.json')}).`, '');
      continue;
    }
    lines.push(`Recipe \`${r.recipe.file.replace(`${process.cwd()}/`, '')}\` (hash \`${r.recipe.hash.slice(0, 16)}\`), backend ${r.backend}.`, '');
    lines.push(...reportTable(dir), '');
    const cells = new Map([...cellStats(r, 'final'), ...cellStats(r, 'baseline')]);
    lines.push('Orderings (ptq spec §6):', '');
    if (name === 'ptq-methods-bits') {
      for (const m of ['naive', 'Q-Diffusion', 'TFMQ']) lines.push(verdict(`W8A8 vs FP (${m})`, `${m} W8A8`, 'FP', cells, 'fd'));
      lines.push(verdict('W4A32: naive vs FP', 'naive W4A32', 'FP', cells, 'fd'));
      lines.push(verdict('W4A32: Q-Diffusion vs FP', 'Q-Diffusion W4A32', 'FP', cells, 'fd'));
      lines.push(verdict('W4A32: TFMQ vs Q-Diffusion', 'TFMQ W4A32', 'Q-Diffusion W4A32', cells, 'fd'));
      for (const metric of ['fd', 'eps-mse']) {
        lines.push(verdict(`W4A8: naive vs Q-Diffusion`, 'naive W4A8', 'Q-Diffusion W4A8', cells, metric));
        lines.push(verdict(`W4A8: TFMQ vs Q-Diffusion`, 'TFMQ W4A8', 'Q-Diffusion W4A8', cells, metric));
      }
      for (const b of ['W8A8', 'W4A32', 'W4A8']) lines.push(verdict(`calibration wall-clock ${b}: TFMQ vs Q-Diffusion`, `TFMQ ${b}`, `Q-Diffusion ${b}`, cells, 'calibration-cost-s'));
    } else if (name === 'ptq-split') {
      for (const metric of ['fd', 'eps-mse']) lines.push(verdict('split off vs on', 'false', 'true', cells, metric));
      const ratios = r.results.flatMap((u) => u.positions.flatMap((p) => (p.stages ?? []).flatMap((s) => s.diagnostics.filter((d) => d.id.endsWith('shortcut-range-ratio')))));
      const all = ratios.flatMap((t) => t.rows.map((row) => row[3] as number));
      if (all.length) lines.push(`- measured range ratio deep/skip half of the decoder shortcut inputs: ${Math.min(...all).toFixed(2)} … ${Math.max(...all).toFixed(2)} over ${ratios[0].rows.length} shortcuts and ${ratios.length} runs (per-layer values in the report's diagnostics).`);
    } else if (name === 'ptq-calibration') {
      for (const s of ['first', 'last', 'single']) for (const metric of ['fd', 'eps-mse']) lines.push(verdict(`${s} vs uniform`, s, 'uniform', cells, metric));
    } else {
      const base = 'false / false / all';
      for (const [what, cell] of [['+TIAR', 'true / false / all'], ['+FSC', 'false / true / all'], ['TIAR + FSC', 'true / true / all'], ['TIAR + FSC (temporal scope)', 'true / true / temporal']]) {
        for (const metric of ['fd', 'eps-mse']) lines.push(verdict(`${what} vs BRECQ baseline`, cell, base, cells, metric));
      }
      lines.push(verdict('FSC scope temporal vs all', 'true / true / temporal', 'true / true / all', cells, 'eps-mse'));
    }
    lines.push('');
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join('\n'));
  console.log(`wrote ${out}`);
}

main();
