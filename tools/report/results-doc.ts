/**
 * What the method families' results documents (docs/results/<family>.md, written by tools:ptq-results and
 * tools:ep-results) share: loading committed run results (whole or per shard) against their recipes, each
 * ordering's verdict from the comparison its recipe declares, a run's report section, and collecting run folders
 * into docs/results/<family>/. Every figure is read from the committed results.json files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Verdict } from '@diffpress/eval';
import { ReportComparison, ReportTable, RunSummary, buildTable, builtinRegistry, diagnosticGroups, loadRecipe, markdownReport, mergeResults, planUnits, readResults } from '@diffpress/recipes';

/** A run of a results document: the recipe name (its run folder name) and its file. */
export interface RunSpec {
  /** Recipe name. */
  name: string;
  /** Recipe file, relative to the document's recipe folder. */
  recipe: string;
}

/** One ordering a method spec asks for, and the comparison (declared in the run's recipe) it rests on. */
export interface Claim {
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

/** The same ordering checked on several metrics: one claim per metric. */
export function claimsOn(metrics: readonly string[], c: Omit<Claim, 'metric'>): Claim[] {
  return metrics.map((metric) => ({ ...c, metric }));
}

/** An ordering that claims a is better than b. */
export const BETTER: readonly Verdict[] = ['better'];
/** An ordering that claims a is worse than b. */
export const WORSE: readonly Verdict[] = ['worse'];
/** An ordering that claims a and b are equivalent within the recipe's margin. */
export const EQUIVALENT: readonly Verdict[] = ['equivalent'];

/** Every verdict but worse: an ordering that claims "not worse". */
export const NOT_WORSE: readonly Verdict[] = ['better', 'equivalent', 'inconclusive'];
/** Any verdict: a comparison shown without an ordering claimed. */
export const ANY_VERDICT: readonly Verdict[] = ['better', 'worse', 'equivalent', 'inconclusive'];

/** A run as a document reads it: its recipe, the merged summary and the table its report computes. */
export interface Run {
  /** Recipe name. */
  name: string;
  /** Folder of its committed results. */
  file: string;
  /** The merged results. */
  summary: RunSummary;
  /** The report table (with comparisons). */
  table: ReportTable;
  /** The recipe file changed since the run (its hash differs): say so. */
  stale: boolean;
  /** Units the recipe plans. */
  planned: number;
  /** The result files merged. */
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

/** Loads the committed results of `name` (whole or per shard) against its recipe; `null` when there are none. */
export function loadRun(resultsDir: string, recipeDir: string, name: string, recipeFile: string): Run | null {
  const parts = resultFiles(path.join(resultsDir, name));
  if (parts.length === 0) return null;
  const v = loadRecipe(path.join(recipeDir, recipeFile), { registry: builtinRegistry() });
  const stale = parts.some((f) => readResults(f).recipe.hash !== v.hash);
  // mergeResults refuses files of another recipe hash; a stale run is shown as recorded, under its own hash.
  const summary = mergeResults(parts, stale ? { ...v, hash: readResults(parts[0]).recipe.hash } : v);
  return { name, file: path.join(resultsDir, name), summary, table: buildTable(summary), stale, planned: planUnits(v).length, parts };
}

/** The comparison a claim rests on, as the run's report computed it. */
function comparisonOf(run: Run, c: Claim, recipeDir: string): ReportComparison {
  const hit = run.table.comparisons.find((x) => x.source === 'recipe' && x.a === c.a && x.b === c.b && x.metric === c.metric);
  if (!hit) throw new Error(`${run.name}: the recipe declares no comparison { a: ${c.a}, b: ${c.b}, metric: ${c.metric} } (ordering '${c.ordering}'); add it to ${recipeDir}`);
  return hit;
}

/** A figure as the documents print it. */
export function fmt(x: number): string {
  return x !== 0 && Math.abs(x) < 0.01 ? x.toPrecision(3) : x.toFixed(3);
}

/** The summary table: each ordering, its comparison and whether it comes out (`spec`: the heading's source). */
export function claimTable(runs: Map<string, Run>, claims: readonly Claim[], spec: string, recipeDir: string): string[] {
  const lines = [`| ordering (${spec}) | run | metric | a − b [95 % interval] | method | margin | verdict of a vs b | comes out |`, '|---|---|---|---|---|---|---|---|'];
  for (const c of claims) {
    const run = runs.get(c.run);
    if (!run) {
      lines.push(`| ${c.ordering} | ${c.run} | ${c.metric} | — | — | — | not run | — |`);
      continue;
    }
    const cmp = comparisonOf(run, c, recipeDir);
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

/** The run's table, comparisons and diagnostics, cut from the markdown its report writes. */
export function runSection(run: Run): string[] {
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
export function collect(runs: readonly RunSpec[], runsDir: string, resultsDir: string): void {
  for (const { name } of runs) {
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

/** Loads every run of a document that has committed results. */
export function loadRuns(runs: readonly RunSpec[], resultsDir: string, recipeDir: string): Map<string, Run> {
  const out = new Map<string, Run>();
  for (const r of runs) {
    const run = loadRun(resultsDir, recipeDir, r.name, r.recipe);
    if (run) out.set(r.name, run);
  }
  return out;
}

/** The sections of every run, in document order (a run without results says so). */
export function runSections(runs: readonly RunSpec[], loaded: Map<string, Run>, resultsDir: string): string[] {
  const lines: string[] = [];
  for (const r of runs) {
    const run = loaded.get(r.name);
    lines.push(...(run ? runSection(run) : [`## ${r.name}`, '', `Not run yet (no ${path.join(resultsDir, r.name, 'results.json')}).`]), '');
  }
  return lines;
}
