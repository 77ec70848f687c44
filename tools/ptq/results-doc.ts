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
import { stageCost } from '@diffpress/recipes';
import { arg, argOr } from '../cli-args';
import { ANY_VERDICT, Claim, NOT_WORSE, Run, RunSpec, claimTable, collect, loadRuns, runSections } from '../report/results-doc';

/** The four runs, by recipe name, with their recipe files. */
const RUNS: readonly RunSpec[] = [
  { name: 'ptq-methods-bits', recipe: 'methods-bits.yaml' },
  { name: 'ptq-split', recipe: 'split.yaml' },
  { name: 'ptq-calibration', recipe: 'calibration.yaml' },
  { name: 'ptq-tfmq-components', recipe: 'tfmq-components.yaml' },
];
const RECIPE_DIR = path.join('apps', 'experiments', 'recipes', 'ptq');

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
    ordering: 'TFMQ W4A8 FSC scope temporal vs all (shown, no ordering claimed)', run: 'ptq-tfmq-components', a: TFMQ_CELLS['TIAR + FSC, temporal scope'], b: TFMQ_CELLS['+TIAR +FSC'], metric, expect: ANY_VERDICT,
  })),
];

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

function main(): void {
  const resultsDir = argOr('results', path.join('docs', 'results', 'ptq'));
  const out = argOr('out', path.join('docs', 'results', 'ptq.md'));
  const runsDir = arg('collect');
  if (runsDir) collect(RUNS, runsDir, resultsDir);
  const runs = loadRuns(RUNS, resultsDir, RECIPE_DIR);
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
    ...claimTable(runs, CLAIMS, 'ptq spec §6', RECIPE_DIR),
    '',
  ];
  const bits = runs.get('ptq-methods-bits');
  if (bits) lines.push('Calibration cost (ptq spec §6: TFMQ should be faster):', '', ...costTable(bits), '');
  lines.push(...runSections(RUNS, runs, resultsDir));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join('\n'));
  console.log(`wrote ${out}`);
}

main();
