import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { writeFileAtomic, writeJsonAtomic } from '@diffpress/core';
import { recipeDataShape } from '../recipe/data';
import { RunSummary } from '../run/runner';
import { gridPath, sampleGrids } from './grids';
import { htmlReport } from './html';
import { markdownReport, resultsCsv } from './markdown';
import { comparisonsCsv } from './comparison-section';
import { TrainingCurve, reportPlots, trainingPlot } from './plots';
import { TRAIN_LOG } from '../run/model-stages';
import { ReportTable, buildTable } from './table';
import { diagnosticGroups } from './diagnostics';

/** The training logs of the trained base models of a run (their artifacts keep `train-log.jsonl`). */
export function trainingCurves(summary: RunSummary, storeRoot: string): TrainingCurve[] {
  const keys = new Set(summary.results.map((u) => u.base));
  const curves: TrainingCurve[] = [];
  for (const key of keys) {
    const file = path.join(storeRoot, 'model', key, TRAIN_LOG);
    if (!fs.existsSync(file)) continue;
    const points = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { step: number; loss: number })
      .map((e) => ({ step: e.step, loss: e.loss }));
    curves.push({ label: `trained ${key.slice(0, 8)}`, points });
  }
  return curves;
}

/** Format version of `results.json`. */
export const RESULTS_FORMAT = 1;

/** Paths of the files {@link writeReport} wrote. */
export interface ReportFiles {
  /** The run folder. */
  dir: string;
  /** `report.md`. */
  markdown: string;
  /** `report.html`. */
  html: string;
  /** `results.json`. */
  json: string;
  /** `results.csv`. */
  csv: string;
  /** `comparisons.csv`. */
  comparisonsCsv: string;
  /** The table that was rendered. */
  table: ReportTable;
  /** Rows (as captioned in the grids) whose samples were not in the store, so the report has no strip for them. */
  missingSamples: string[];
}

/**
 * Writes a run folder (architecture guide §10): `results.json` (every unit's rows, costs and latency, the floor, the
 * failures, the comparisons), `results.csv` (long format), `comparisons.csv`, `report.md` (paper-style table and
 * comparisons), `report.html` (self-contained), `samples/*.png` (same x_T across rows), `plots/*.svg` and
 * `recipe.resolved.yaml`.
 *
 * @param storeRoot - Where the sample sets are (the store the run used).
 */
export async function writeReport(summary: RunSummary, dir: string, storeRoot: string): Promise<ReportFiles> {
  fs.mkdirSync(dir, { recursive: true });
  const table = buildTable(summary);
  const ev = summary.recipe.recipe.eval;
  const missingSamples: string[] = [];
  const grids = sampleGrids(table, storeRoot, ev.grid, recipeDataShape(summary.recipe.recipe.data, summary.recipe.baseDir), missingSamples);
  for (const g of grids) writeFileAtomic(path.join(dir, 'samples', g.file), g.png);
  const plots = await reportPlots(table);
  const training = await trainingPlot(trainingCurves(summary, storeRoot));
  if (training) plots.push(training);
  for (const p of plots) writeFileAtomic(path.join(dir, 'plots', p.file), p.svg);
  const files: ReportFiles = {
    dir,
    markdown: path.join(dir, 'report.md'),
    html: path.join(dir, 'report.html'),
    json: path.join(dir, 'results.json'),
    csv: path.join(dir, 'results.csv'),
    comparisonsCsv: path.join(dir, 'comparisons.csv'),
    table,
    missingSamples,
  };
  writeJsonAtomic(files.json, {
    format: RESULTS_FORMAT,
    recipe: { name: summary.recipe.recipe.name, file: summary.recipe.file, hash: summary.recipe.hash },
    shard: summary.shard ?? null,
    backend: summary.backend,
    ...(summary.runtime ? { runtime: summary.runtime } : {}),
    units: summary.units,
    computed: summary.computed,
    reused: summary.reused,
    seconds: summary.seconds,
    floor: summary.floor,
    results: summary.results,
    failed: summary.failed,
    ...(summary.pending ? { pending: summary.pending } : {}),
    warnings: summary.recipe.warnings,
    comparisons: table.comparisons,
  });
  writeFileAtomic(files.csv, resultsCsv(summary));
  writeFileAtomic(files.comparisonsCsv, comparisonsCsv(table));
  const diagnostics = diagnosticGroups(summary);
  writeFileAtomic(files.markdown, markdownReport(summary, table, { grids: grids.filter((g) => g.file === 'grid.png').map(gridPath), plots: plots.map((p) => path.posix.join('plots', p.file)) }, diagnostics));
  writeFileAtomic(files.html, htmlReport(summary, table, grids, plots, diagnostics));
  const resolved = { ...summary.recipe.recipe, ...(summary.recipe.raw.ablation ? { ablation: summary.recipe.raw.ablation } : {}) };
  writeFileAtomic(path.join(dir, 'recipe.resolved.yaml'), `# ${summary.recipe.file}, with every default filled in (hash ${summary.recipe.hash})\n${stringify(resolved)}`);
  return files;
}
