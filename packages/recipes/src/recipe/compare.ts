import { samplerLabel } from '@diffpress/eval';
import { RowIdentity, fpRowParams, pairProblem, pairingIds, resolveSelector } from '../report/comparisons';
import { needsFeatureNet } from './inputs';
import { RecipeComparison, samplerSettings } from './schema';
import type { ResolvedCell } from './resolved';

/**
 * The rows the report table of a recipe will have, as far as comparisons name them: the floor (when the recipe asks
 * for it and has feature metrics), one FP row per distinct FP evaluation (cells that share the model, sampler,
 * samples and non-pipeline axis values share it) and one row per (cell, evaluated position after a step) — built
 * from the cells alone, before anything runs, the way the report groups its results.
 *
 * @param pipelineAxes - Names of the axes whose path is in `pipeline` (FP rows do not show them).
 * @param floor - Whether the run adds the floor row.
 * @param stepsAxes - Names of the axes on `sample.steps` (with `eval.pairedSteps` every value shares one FP reference).
 */
export function expectedRows(cells: readonly ResolvedCell[], pipelineAxes: ReadonlySet<string>, floor: boolean, stepsAxes: ReadonlySet<string> = new Set()): RowIdentity[] {
  const rows: RowIdentity[] = floor ? [{ kind: 'floor', label: 'floor', position: '—', params: {}, sampler: '—' }] : [];
  const fps = new Set<string>();
  for (const cell of cells) {
    const { recipe, steps } = cell;
    const settings = samplerSettings(recipe.sample);
    const sampler = samplerLabel(settings);
    const params = fpRowParams(cell.params, pipelineAxes);
    const { pairedSteps } = recipe.eval;
    const paired = pairedSteps != null ? { sampler: samplerLabel({ ...settings, steps: pairedSteps }), stepsAxes } : undefined;
    const { reference, evaluation } = pairingIds(JSON.stringify(recipe.model), sampler, recipe.eval.samples, params, paired);
    const positions = new Set(recipe.eval.positions);
    if ((positions.has('baseline') || (steps.length === 0 && positions.has('final'))) && !fps.has(evaluation)) {
      fps.add(evaluation);
      rows.push({ kind: 'fp', label: 'FP', position: 'baseline', params, sampler, reference, ...(evaluation !== reference ? { evaluation } : {}) });
    }
    let student: string | undefined;
    steps.forEach((step, i) => {
      const own = step.method.studentSampler?.(step.config);
      if (own) student = samplerLabel(own);
      const last = i === steps.length - 1;
      const position = last && positions.has('final') ? 'final' : positions.has(`after:${i}`) ? `after:${i}` : undefined;
      if (!position) return;
      const label = steps.slice(0, i + 1).map((s) => s.method.id).join(' → ');
      rows.push({ kind: 'compressed', label, position, params: cell.params, sampler: student ?? sampler, reference });
    });
  }
  return rows;
}

/** A problem with one `compare` entry: the field at fault and the message. */
export interface ComparisonFinding {
  /** Index into `compare`. */
  index: number;
  /** The field at fault (absent: the entry as a whole). */
  field?: 'a' | 'b' | 'metric';
  /** What is wrong, with the rows or metrics to choose from. */
  message: string;
}

/**
 * Checks a recipe's `compare` entries against the rows and metrics it will produce: each selector selects exactly
 * one row (else the rows are listed by a name that selects each), the metric is evaluated, and the two rows can be
 * compared on it (not the same row; paired metrics only between rows paired with the same FP samples, not on the
 * floor, and not PSNR against FP, which is infinite — see `pairProblem`).
 *
 * @param cells - The valid cells of the recipe.
 * @param pipelineAxes - Names of the axes whose path is in `pipeline`.
 * @param floor - Whether the run adds the floor row (the recipe asks for it and some cell has a feature metric).
 * @param stepsAxes - Names of the axes on `sample.steps`.
 */
export function checkComparisons(compare: readonly RecipeComparison[], cells: readonly ResolvedCell[], pipelineAxes: ReadonlySet<string>, floor: boolean, stepsAxes: ReadonlySet<string> = new Set()): ComparisonFinding[] {
  const rows = expectedRows(cells, pipelineAxes, floor && cells.some((c) => needsFeatureNet(c.recipe.eval.metrics)), stepsAxes);
  const metrics = [...new Set(cells.flatMap((c) => c.recipe.eval.metrics))];
  const out: ComparisonFinding[] = [];
  compare.forEach((c, index) => {
    const a = resolveSelector(rows, c.a);
    const b = resolveSelector(rows, c.b);
    if ('problem' in a) out.push({ index, field: 'a', message: a.problem });
    if ('problem' in b) out.push({ index, field: 'b', message: b.problem });
    if (!metrics.includes(c.metric)) {
      out.push({ index, field: 'metric', message: `'${c.metric}' is not among the metrics this recipe evaluates (${metrics.join(', ')})` });
      return;
    }
    if (!('row' in a) || !('row' in b)) return;
    const problem = pairProblem(rows, a.row, b.row, c.metric);
    if (problem) out.push({ index, message: problem });
  });
  return out;
}
