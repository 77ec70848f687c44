/**
 * Writes docs/results/encoder-propagation.md from the committed results of the encoder-propagation recipes
 * (`docs/results/encoder-propagation/<run>/results.json`, or one per shard folder): each run's table, comparisons and
 * diagnostics as its report computes them, every ordering of encoder-propagation spec §3 with the verdict of the
 * comparison it rests on (evaluation spec §5), and the measured wall-clock saving of each caching row next to the
 * predicted one (from the timing run). No number is typed in: every figure is read from those files.
 *
 *   npx nx run experiments:ablation --recipe=apps/experiments/recipes/encoder-propagation/faster-diffusion.yaml --out=runs/ep-faster-diffusion
 *   …  deepcache.yaml, composition.yaml, and timing.yaml (on an idle machine: it times sampling)
 *   npx nx run tools:ep-results --args="--collect=runs"   # copy runs/<name>/results.json into docs/results/encoder-propagation/
 *   npx nx run tools:ep-results                           # write docs/results/encoder-propagation.md
 *
 * Options: `--results=dir` (default docs/results/encoder-propagation), `--out=file` (default
 * docs/results/encoder-propagation.md), `--collect=runs-dir` (also `<name>-shard-<k>-of-<n>` folders).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DiagnosticTable } from '@diffpress/core';
import { UnitResult } from '@diffpress/recipes';
import { arg, argOr } from '../cli-args';
import { ANY_VERDICT, BETTER, Claim, EQUIVALENT, Run, RunSpec, WORSE, claimTable, claimsOn, collect, fmt, loadRuns, runSections } from '../report/results-doc';

const RUNS: readonly RunSpec[] = [
  { name: 'ep-faster-diffusion', recipe: 'faster-diffusion.yaml' },
  { name: 'ep-deepcache', recipe: 'deepcache.yaml' },
  { name: 'ep-composition', recipe: 'composition.yaml' },
  { name: 'ep-timing', recipe: 'timing.yaml' },
];
const RECIPE_DIR = path.join('apps', 'experiments', 'recipes', 'encoder-propagation');
const FD = 'ep-faster-diffusion';
const DC = 'ep-deepcache';
const FP50 = 'FP, ddim-50';


/** The orderings of encoder-propagation spec §3, each on the comparison its recipe declares. */
const CLAIMS: Claim[] = [
  ...claimsOn(['kid', 'class-entropy'], { ordering: 'Faster Diffusion (DDIM-50 key set) equivalent to DDIM-50', run: FD, a: 'FD', b: FP50, expect: EQUIVALENT }),
  ...claimsOn(['sample-mse', 'kid'], { ordering: 'Faster Diffusion better than DDIM with as many full UNet calls (DDIM-9)', run: FD, a: 'FD', b: 'FP, ddim-9', expect: BETTER }),
  ...claimsOn(['sample-mse', 'kid'], { ordering: 'early-dense key set better than late-dense', run: FD, a: 'FD', b: 'FD late-dense', expect: BETTER }),
  ...claimsOn(['sample-mse', 'kid'], { ordering: 'decoder propagation worse than encoder propagation', run: FD, a: 'FD decoder-propagation', b: 'FD', expect: WORSE }),
  ...claimsOn(['sample-mse'], { ordering: 'parallel decoding equivalent to sequential (margin 1e-6)', run: FD, a: 'FD', b: 'FD sequential', expect: EQUIVALENT }),
  ...claimsOn(['sample-mse', 'kid'], { ordering: 'prior noise injection on vs off (shown, no ordering claimed)', run: FD, a: 'FD', b: 'FD no prior noise', expect: ANY_VERDICT }),
  ...claimsOn(['sample-mse'], { ordering: 'DeepCache N = 3 worse than N = 2', run: DC, a: 'DeepCache N=3', b: 'DeepCache N=2', expect: WORSE }),
  ...claimsOn(['sample-mse'], { ordering: 'DeepCache N = 5 worse than N = 3', run: DC, a: 'DeepCache N=5', b: 'DeepCache N=3', expect: WORSE }),
  ...claimsOn(['sample-mse'], { ordering: 'DeepCache N = 10 worse than N = 5', run: DC, a: 'DeepCache N=10', b: 'DeepCache N=5', expect: WORSE }),
  ...claimsOn(['kid'], { ordering: 'DeepCache N = 10 worse than N = 2', run: DC, a: 'DeepCache N=10', b: 'DeepCache N=2', expect: WORSE }),
  ...claimsOn(['kid', 'class-entropy'], { ordering: 'DeepCache N = 2 equivalent to DDIM-50', run: DC, a: 'DeepCache N=2', b: FP50, expect: EQUIVALENT }),
  ...claimsOn(['kid', 'sample-mse'], { ordering: 'zeroed cache collapses (worse than the cache)', run: DC, a: 'DeepCache N=5 zeroed cache', b: 'DeepCache N=5', expect: WORSE }),
  ...claimsOn(['sample-mse', 'kid'], { ordering: 'DeepCache N = 2 better than DDIM with as many full calls (DDIM-25)', run: DC, a: 'DeepCache N=2', b: 'FP, ddim-25', expect: BETTER }),
  ...claimsOn(['sample-mse'], { ordering: 'DeepCache N = 5 better than DDIM with as many full calls (DDIM-10)', run: DC, a: 'DeepCache N=5', b: 'FP, ddim-10', expect: BETTER }),
  ...claimsOn(['sample-mse'], { ordering: 'DeepCache non-uniform vs uniform at N = 5 (shown, no ordering claimed)', run: DC, a: 'DeepCache N=5 non-uniform', b: 'DeepCache N=5', expect: ANY_VERDICT }),
];

/** The `<method>.cost` table of a unit's final position (the caching step's analytic cost). */
function costOf(u: UnitResult): DiagnosticTable | undefined {
  const final = u.positions.find((p) => p.position === 'final');
  return final?.stages.flatMap((s) => s.diagnostics).find((t) => t.id.endsWith('.cost'));
}

/**
 * Measured against predicted saving (timing run): each caching row's s / sample (one warm-up, median of 5 passes of
 * 8 samples, in isolation) against FP's, next to the saving its cost table predicts from MACs.
 */
function savingTable(run: Run): string[] {
  const lines = [
    '| row | full / partial calls | predicted MAC saving | s / sample | FP s / sample | measured saving |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const u of run.summary.results) {
    const fp = u.positions.find((p) => p.position === 'baseline')?.sampling;
    const final = u.positions.find((p) => p.position === 'final');
    const cost = costOf(u);
    if (!fp || !final?.sampling || !cost) continue;
    const [, full, partial, , , , , predicted] = cost.rows[0] as number[];
    const measured = 1 - final.sampling.secondsPerSample / fp.secondsPerSample;
    lines.push(`| ${Object.values(u.params).map(String).join(' / ')} | ${full} / ${partial} | ${fmt(predicted)} | ${fmt(final.sampling.secondsPerSample)} | ${fmt(fp.secondsPerSample)} | ${fmt(measured)} |`);
  }
  if (lines.length === 2) return ['No timed rows in the timing run.'];
  const first = run.summary.results[0]?.positions.find((p) => p.position === 'final')?.sampling;
  return [
    `Runtime ${run.summary.runtime}; each s / sample is the median of ${first?.times.length ?? '?'} timed sampling passes of ${first?.batch ?? '?'} samples after ${first?.warmup ?? '?'} warm-up, ${first?.sampler ?? ''}.`,
    'The predicted saving counts MACs only (conv, linear, attention products); what a network call costs besides them — the',
    'runtime call, norms, activations, copies — is not in it.',
    '',
    ...lines,
  ];
}

function main(): void {
  const resultsDir = argOr('results', path.join('docs', 'results', 'encoder-propagation'));
  const out = argOr('out', path.join('docs', 'results', 'encoder-propagation.md'));
  const runsDir = arg('collect');
  if (runsDir) collect(RUNS, runsDir, resultsDir);
  const runs = loadRuns(RUNS, resultsDir, RECIPE_DIR);
  const timing = runs.get('ep-timing');
  const lines: string[] = [
    '# Encoder propagation on MNIST: Faster Diffusion and DeepCache',
    '',
    'Generated by `npx nx run tools:ep-results` from `docs/results/encoder-propagation/<run>/results.json`, the results',
    'of the recipes in `apps/experiments/recipes/encoder-propagation/` (each run with',
    '`npx nx run experiments:ablation --recipe=<file>`). Every figure below is read from those files. Rows share each',
    "seed's initial noise. In ep-faster-diffusion and ep-deepcache every row's sample-MSE is measured against FP DDIM-50",
    'from the same x_T (`eval.pairedSteps`), so rows of different step counts are compared on one reference;',
    'ep-composition pairs each row with FP at its own sampler (DDIM-20). Intervals: a paired bootstrap over samples',
    'within seeds for sample-MSE and ε-MSE, a t-interval over the per-seed differences for KID and class entropy.',
    'Verdicts as the evaluation spec §5 defines them: **better** / **worse** when the 95 % interval excludes 0,',
    '**equivalent** when it lies inside the margin the recipe declares (checked first), else **inconclusive**. The',
    'premise check (feature change per block between adjacent steps) and the analytic cost are in the diagnostics of',
    'the ep-faster-diffusion and ep-deepcache sections.',
    '',
    '## Summary',
    '',
    ...claimTable(runs, CLAIMS, 'encoder-propagation spec §3', RECIPE_DIR),
    '',
    '## Measured and predicted saving',
    '',
    ...(timing ? savingTable(timing) : ['Not run yet (no ep-timing results).']),
    '',
    ...runSections(RUNS, runs, resultsDir),
  ];
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join('\n'));
  console.log(`wrote ${out}`);
}

main();
