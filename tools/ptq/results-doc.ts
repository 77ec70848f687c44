/**
 * Writes docs/results/ptq.md from the committed results of the four PTQ paper-ablation recipes
 * (`docs/results/ptq/<run>/results.json`, or one `results.json` per shard in `docs/results/ptq/<run>/<shard>/`, merged
 * as `report --merge` merges them): each run's table and comparisons as its report computes them, and every
 * ordering of ptq spec §6 with the verdict of the comparison it rests on (evaluation spec §5: better / worse /
 * equivalent / inconclusive). Nothing is tuned here and no number is typed in: every figure is read from those files.
 *
 *   npx nx run experiments:ablation --recipe=apps/experiments/recipes/ptq/methods-bits.yaml   # … and split,
 *                                                                                             # calibration, tfmq-components
 *   npx nx run tools:ptq-results --args="--collect=runs"   # copy runs/<name>/results.json to docs/results/ptq/<name>/
 *   npx nx run tools:ptq-results                           # write docs/results/ptq.md from the committed files
 *
 * A run too long for one sitting runs in shards (`--shard=1/3` … `3/3`: with 3 seeds, shard k is seed k − 1 of every
 * cell) into run folders named `<name>-shard-<k>-of-<n>`; `--collect` copies each to `docs/results/ptq/<name>/shard-<k>-of-<n>/`.
 * Until every shard is in, the run's section says which units are missing and its comparisons rest on the seeds
 * present.
 *
 * The orderings' comparisons (with their margins) are declared in the recipes' `compare` lists, before running; a
 * claim whose comparison the recipe does not declare is an error. Options: `--results=dir` (default
 * docs/results/ptq), `--out=file` (default docs/results/ptq.md), `--collect=runs-dir`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Verdict, tInterval, verdict } from '@diffpress/eval';
import {
  ReportComparison, ReportTable, RunSummary, buildTable, builtinRegistry, diagnosticGroups, loadRecipe, markdownReport, mergeResults,
  planUnits, readResults, stageCost,
} from '@diffpress/recipes';
import { arg, argOr } from '../cli-args';

/** The four runs, by recipe name, with their recipe files. */
const RUNS: ReadonlyArray<{ name: string; recipe: string }> = [
  { name: 'ptq-methods-bits', recipe: 'methods-bits.yaml' },
  { name: 'ptq-split', recipe: 'split.yaml' },
  { name: 'ptq-calibration', recipe: 'calibration.yaml' },
  { name: 'ptq-tfmq-components', recipe: 'tfmq-components.yaml' },
];
const RECIPE_DIR = path.join('apps', 'experiments', 'recipes', 'ptq');

/** One ordering of ptq spec §6 and the comparison (declared in the run's recipe) it rests on. */
interface Claim {
  /** The ordering as the spec states it. */
  ordering: string;
  /** Run (recipe name). */
  run: string;
  /** Row selectors and metric, exactly as in the recipe's `compare` entry. */
  a: string;
  b: string;
  metric: string;
  /** The verdicts of a against b under which the ordering comes out. */
  expect: readonly Verdict[];
}

const NOT_WORSE: readonly Verdict[] = ['better', 'equivalent', 'inconclusive'];
const BITS = ['W8A8', 'W4A32', 'W4A8'] as const;
const PRESETS = ['none', 'tfmq'] as const;
/** A method's row label in ptq-methods-bits: naive has no FP-layer preset, the two methods run with each. */
const cell = (method: 'naive' | 'Q-Diffusion' | 'TFMQ', bits: string, preset?: string): string => (preset ? `${method} ${bits} · keepFp ${preset}` : `${method} ${bits}`);

/** The cells of ptq-tfmq-components, by the selectors its recipe's `compare` uses. */
const TFMQ_CELLS = {
  'BRECQ baseline': 'TIAR=false, FSC=false',
  '+TIAR': 'TIAR=true, FSC=false',
  '+FSC': 'TIAR=false, FSC=true',
  '+TIAR +FSC': 'TIAR=true, FSC=true, FSC scope=all',
  'TIAR + FSC, temporal scope': 'FSC scope=temporal',
} as const;

/** The orderings of ptq spec §6, each on the comparison it rests on. */
const CLAIMS: Claim[] = [
  ...(['sample-mse', 'eps-mse'] as const).flatMap((metric) => [
    { ordering: 'W8A8 naive equivalent to FP (sanity)', run: 'ptq-methods-bits', a: cell('naive', 'W8A8'), b: 'FP', metric, expect: ['equivalent'] as Verdict[] },
    ...PRESETS.flatMap((p) => (['Q-Diffusion', 'TFMQ'] as const).map((m) => ({ ordering: `W8A8 ${m} (keepFp ${p}) equivalent to FP (sanity)`, run: 'ptq-methods-bits', a: cell(m, 'W8A8', p), b: 'FP', metric, expect: ['equivalent'] as Verdict[] }))),
  ]),
  { ordering: 'W4A32 naive worse than FP', run: 'ptq-methods-bits', a: cell('naive', 'W4A32'), b: 'FP', metric: 'fd', expect: ['worse'] },
  ...PRESETS.map((p) => ({ ordering: `W4A32 Q-Diffusion (keepFp ${p}) equivalent to FP`, run: 'ptq-methods-bits', a: cell('Q-Diffusion', 'W4A32', p), b: 'FP', metric: 'fd', expect: ['equivalent'] as Verdict[] })),
  ...PRESETS.flatMap((p) =>
    (['fd', 'eps-mse', 'sample-mse'] as const).map((metric) => ({ ordering: `W4A32 TFMQ not worse than Q-Diffusion (both keepFp ${p})`, run: 'ptq-methods-bits', a: cell('TFMQ', 'W4A32', p), b: cell('Q-Diffusion', 'W4A32', p), metric, expect: NOT_WORSE })),
  ),
  ...PRESETS.flatMap((p) =>
    (['fd', 'eps-mse'] as const).flatMap((metric) => [
      { ordering: `W4A8 naive worse than Q-Diffusion (keepFp ${p})`, run: 'ptq-methods-bits', a: cell('naive', 'W4A8'), b: cell('Q-Diffusion', 'W4A8', p), metric, expect: ['worse'] as Verdict[] },
      { ordering: `W4A8 TFMQ not worse than Q-Diffusion (both keepFp ${p})`, run: 'ptq-methods-bits', a: cell('TFMQ', 'W4A8', p), b: cell('Q-Diffusion', 'W4A8', p), metric, expect: NOT_WORSE },
    ]),
  ),
  ...(['fd', 'eps-mse', 'sample-mse'] as const).map((metric) => ({ ordering: 'Q-Diffusion W4A8: split off worse than on', run: 'ptq-split', a: 'split=false', b: 'split=true', metric, expect: ['worse'] as Verdict[] })),
  ...(['first', 'last', 'single'] as const).flatMap((s) =>
    (['fd', 'eps-mse', 'sample-mse'] as const).map((metric) => ({ ordering: `calibration: uniform better than ${s}`, run: 'ptq-calibration', a: s, b: 'uniform', metric, expect: ['worse'] as Verdict[] })),
  ),
  ...Object.entries(TFMQ_CELLS)
    .filter(([k]) => k !== 'BRECQ baseline' && k !== 'TIAR + FSC, temporal scope')
    .flatMap(([k, sel]) =>
      (['eps-mse', 'sample-mse'] as const).map((metric) => ({ ordering: `TFMQ W4A8 ${k} better than the BRECQ baseline`, run: 'ptq-tfmq-components', a: sel, b: TFMQ_CELLS['BRECQ baseline'], metric, expect: ['better'] as Verdict[] })),
    ),
  ...(['eps-mse', 'sample-mse'] as const).map((metric) => ({
    ordering: 'TFMQ W4A8 FSC scope temporal vs all (shown, no ordering claimed)', run: 'ptq-tfmq-components', a: TFMQ_CELLS['TIAR + FSC, temporal scope'], b: TFMQ_CELLS['+TIAR +FSC'], metric, expect: ['better', 'worse', 'equivalent', 'inconclusive'] as Verdict[],
  })),
];

/** A run as the doc reads it: its recipe, the merged summary and the table its report computes. */
interface Run {
  name: string;
  file: string;
  summary: RunSummary;
  table: ReportTable;
  /** The recipe file changed since the run (its hash differs): say so. */
  stale: boolean;
  /** Units the recipe plans, and the result files merged. */
  planned: number;
  parts: string[];
}

/** The result files of a run: its own `results.json`, or one per shard folder. */
function resultFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const own = path.join(dir, 'results.json');
  if (fs.existsSync(own)) return [own];
  return fs
    .readdirSync(dir)
    .sort()
    .map((d) => path.join(dir, d, 'results.json'))
    .filter((f) => fs.existsSync(f));
}

function loadRun(resultsDir: string, name: string, recipeFile: string): Run | null {
  const parts = resultFiles(path.join(resultsDir, name));
  if (parts.length === 0) return null;
  const v = loadRecipe(path.join(RECIPE_DIR, recipeFile), { registry: builtinRegistry() });
  const stale = parts.some((f) => readResults(f).recipe.hash !== v.hash);
  // mergeResults refuses files of another recipe hash; a stale run is shown as recorded, under its own hash.
  const summary = mergeResults(parts, stale ? { ...v, hash: readResults(parts[0]).recipe.hash } : v);
  return { name, file: path.join(resultsDir, name), summary, table: buildTable(summary), stale, planned: planUnits(v).length, parts };
}

/** The comparison a claim rests on, as the run's report computed it. */
function comparisonOf(run: Run, c: Claim): ReportComparison {
  const hit = run.table.comparisons.find((x) => x.source === 'recipe' && x.a === c.a && x.b === c.b && x.metric === c.metric);
  if (!hit) throw new Error(`${run.name}: the recipe declares no comparison { a: ${c.a}, b: ${c.b}, metric: ${c.metric} } (ordering '${c.ordering}'); add it to ${RECIPE_DIR}`);
  return hit;
}

function fmt(x: number): string {
  return x !== 0 && Math.abs(x) < 0.01 ? x.toPrecision(3) : x.toFixed(3);
}

/** The summary table: each ordering, its comparison and whether it comes out. */
function claimTable(runs: Map<string, Run>): string[] {
  const lines = ['| ordering (ptq spec §6) | run | metric | a − b [95 % interval] | method | margin | verdict of a vs b | comes out |', '|---|---|---|---|---|---|---|---|'];
  for (const c of CLAIMS) {
    const run = runs.get(c.run);
    if (!run) {
      lines.push(`| ${c.ordering} | ${c.run} | ${c.metric} | — | — | — | not run | — |`);
      continue;
    }
    const cmp = comparisonOf(run, c);
    const r = cmp.result;
    const partial = run.summary.results.length < run.planned;
    if (partial && (cmp.rowA === undefined || cmp.rowB === undefined)) {
      lines.push(`| ${c.ordering} | ${c.run} | ${c.metric} | — | — | — | pending (a row is not computed yet) | — |`);
      continue;
    }
    if (!r) {
      lines.push(`| ${c.ordering} | ${c.run} | ${c.metric} | — | — | — | no result: ${cmp.note ?? ''} | — |`);
      continue;
    }
    const d = r.diff;
    const method = d.method === 't' ? `t, ${d.seeds} seeds` : `bootstrap, ${d.samples} samples × ${d.seeds} seeds`;
    lines.push(`| ${c.ordering} | ${c.run} | ${c.metric} | ${fmt(d.mean)} [${fmt(d.lo)}, ${fmt(d.hi)}] | ${method} | ${r.margin == null ? '—' : fmt(r.margin)} | ${r.verdict} | ${partial ? '— (partial run)' : c.expect.includes(r.verdict) ? 'yes' : '**no**'} |`);
  }
  return lines;
}

/**
 * Calibration wall-clock, TFMQ against Q-Diffusion at each bit-width and preset: the per-seed cost of computing each
 * phase once (a phase reused from the cache counts at its stored cost), paired by seed, t-interval.
 */
function costTable(run: Run): string[] {
  const costs = new Map<string, Map<number, number>>();
  for (const u of run.summary.results) {
    const final = u.positions.find((p) => p.position === 'final');
    if (!final) continue;
    const label = Object.values(u.params).map(String).join(' / ');
    const total = final.stages.reduce((s, st) => s + stageCost(st).seconds, 0);
    costs.set(label, (costs.get(label) ?? new Map<number, number>()).set(u.seed, total));
  }
  const lines = ['| pair | TFMQ s (mean) | Q-Diffusion s (mean) | a − b [95 % interval], t over seeds | verdict of TFMQ vs Q-Diffusion |', '|---|---:|---:|---|---|'];
  for (const p of PRESETS) {
    for (const bits of BITS) {
      const a = costs.get(cell('TFMQ', bits, p));
      const b = costs.get(cell('Q-Diffusion', bits, p));
      if (!a || !b) continue;
      const seeds = [...a.keys()].filter((s) => b.has(s));
      const diffs = seeds.map((s) => (a.get(s) as number) - (b.get(s) as number));
      const mean = (m: Map<number, number>): number => seeds.reduce((s, k) => s + (m.get(k) as number), 0) / seeds.length;
      const d = tInterval(diffs);
      lines.push(`| ${bits}, keepFp ${p} | ${mean(a).toFixed(0)} | ${mean(b).toFixed(0)} | ${d.mean.toFixed(0)} [${d.lo.toFixed(0)}, ${d.hi.toFixed(0)}] | ${verdict(d, 'lower')} |`);
    }
  }
  return lines;
}

/** The run's table and comparisons, cut from the markdown its report writes. */
function runSection(run: Run): string[] {
  const md = markdownReport(run.summary, run.table, { grids: [], plots: [] }, diagnosticGroups(run.summary)).split('\n');
  const body = md.slice(md.findIndex((l) => l.startsWith('Recipe ')));
  const lines = [`## ${run.name}`, ''];
  if (run.stale) lines.push(`The recipe changed after this run (its hash differs from the results in \`${path.relative(process.cwd(), run.file)}\`): rerun it.`, '');
  const done = run.summary.results.length;
  if (done < run.planned) {
    const seeds = [...new Set(run.summary.results.map((u) => u.seed))].sort((a, b) => a - b);
    lines.push(`**Partial:** ${done} of ${run.planned} units (seeds ${seeds.join(', ')}) from ${run.parts.length} result file${run.parts.length === 1 ? '' : 's'}; the other shards are still to run, and every comparison here rests on the seeds present.`, '');
  }
  lines.push(...body.map((l) => (l.startsWith('#') ? `#${l}` : l)));
  return lines;
}

/** Copies `<runs>/<name>/results.json` and `<runs>/<name>-shard-<k>-of-<n>/results.json` into the results folder. */
function collect(runsDir: string, resultsDir: string): void {
  for (const { name } of RUNS) {
    const whole = path.join(runsDir, name, 'results.json');
    const shards = fs.existsSync(runsDir) ? fs.readdirSync(runsDir).filter((d) => d.startsWith(`${name}-shard-`) && fs.existsSync(path.join(runsDir, d, 'results.json'))) : [];
    if (fs.existsSync(whole)) {
      fs.rmSync(path.join(resultsDir, name), { recursive: true, force: true });
      fs.mkdirSync(path.join(resultsDir, name), { recursive: true });
      fs.copyFileSync(whole, path.join(resultsDir, name, 'results.json'));
      console.log(`copied ${whole}`);
    } else if (shards.length > 0) {
      for (const d of shards) {
        const to = path.join(resultsDir, name, d.slice(name.length + 1));
        fs.mkdirSync(to, { recursive: true });
        fs.copyFileSync(path.join(runsDir, d, 'results.json'), path.join(to, 'results.json'));
        console.log(`copied ${path.join(runsDir, d, 'results.json')} → ${to}`);
      }
    } else {
      console.log(`skipped ${name}: neither ${whole} nor ${name}-shard-* run folders in ${runsDir}`);
    }
  }
}

function main(): void {
  const resultsDir = argOr('results', path.join('docs', 'results', 'ptq'));
  const out = argOr('out', path.join('docs', 'results', 'ptq.md'));
  const runsDir = arg('collect');
  if (runsDir) collect(runsDir, resultsDir);
  const runs = new Map<string, Run>();
  for (const r of RUNS) {
    const run = loadRun(resultsDir, r.name, r.recipe);
    if (run) runs.set(r.name, run);
  }
  const lines: string[] = [
    '# PTQ reproduction on MNIST',
    '',
    'Generated by `npx nx run tools:ptq-results` from `docs/results/ptq/<run>/results.json`, the results of the four',
    'recipes in `apps/experiments/recipes/ptq/` (each run with `npx nx run experiments:ablation --recipe=<file>`).',
    'Every figure below is read from those files. Rows share each seed\'s initial noise (evaluation spec §1), so',
    'comparisons are paired: a t-interval over the per-seed differences, or for the per-sample metrics (sample-MSE,',
    'ε-MSE) a paired bootstrap over samples within seeds. Verdicts as the evaluation spec §5 defines them: **better** /',
    '**worse** when the 95 % interval excludes 0, **equivalent** when it lies inside the margin the recipe declares',
    '(checked first), else **inconclusive**. FD is compared only at equal n, with FD∞ beside it in the tables.',
    '',
    '## Summary',
    '',
    ...claimTable(runs),
    '',
  ];
  const bits = runs.get('ptq-methods-bits');
  if (bits) lines.push('Calibration cost (ptq spec §6: TFMQ should be faster):', '', ...costTable(bits), '');
  for (const r of RUNS) {
    const run = runs.get(r.name);
    lines.push(...(run ? runSection(run) : [`## ${r.name}`, '', `Not run yet (no ${path.join(resultsDir, r.name, 'results.json')}).`]), '');
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join('\n'));
  console.log(`wrote ${out}`);
}

main();
