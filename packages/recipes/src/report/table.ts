import { METRICS, ResultRow, samplerLabel } from '@diffpress/eval';
import { samplerSettings } from '../recipe/schema';
import { StageRecord } from '../run/apply-step';
import { FloorResult, RunSummary } from '../run/runner';
import { PositionResult, UnitResult } from '../run/unit';
import { PairedReference, ReportComparison, RowIdentity, formatParam, fpGroupId, fpRowParams, pairingIds, tableComparisons, verdictInTable } from './comparisons';

// Where the cells were first defined; the row selectors read them too.
export { formatParam };

/** A number aggregated over seeds. */
export interface Aggregate {
  /** Mean over seeds. */
  mean: number;
  /** Sample standard deviation over seeds (n > 1), else the metric's own standard error if it has one. */
  spread?: number;
  /** What `spread` is. */
  spreadKind?: 'std' | 'stderr';
  /** Number of seeds. */
  n: number;
}

/** A column of the report table. */
export interface ReportColumn {
  /** Key into {@link ReportRow.values} or {@link ReportRow.params}. */
  id: string;
  /** Header text. */
  title: string;
  /** `param`: an ablation axis; `metric`: quality; `cost`: size, OPs, time. */
  kind: 'param' | 'metric' | 'cost';
  /** Which direction is better (quality metrics only: cost columns have none). */
  better?: 'lower' | 'higher';
  /** Decimals to print. */
  digits: number;
}

/** A row of the report table: one evaluated model and sampler, aggregated over seeds. */
export interface ReportRow extends RowIdentity {
  /** Samples per evaluation. */
  samples: number;
  /** Values by column id. */
  values: Record<string, Aggregate>;
  /** The result rows behind each metric column, one per seed (what comparisons pair). */
  results: Record<string, ResultRow[]>;
  /**
   * Suffixes of cells by column id, shown in parentheses after the number: the verdict against the FP row the row is
   * paired with (`0.0021 (worse)`), or `stored` on a cost recorded when a reused artifact was computed.
   */
  marks: Record<string, string>;
  /** The sample-set key of the first seed (for the grids). */
  sampleKey?: string;
  /** Sampler steps. */
  steps?: number;
}

/** The table of a run, in display order: floor, FP rows, then compressed rows in cell order. */
export interface ReportTable {
  /** Columns, params first. */
  columns: ReportColumn[];
  /** Rows. */
  rows: ReportRow[];
  /** Column id → index of the best non-floor row, for the quality columns that have a direction (never a cost column). */
  best: Record<string, number>;
  /** The comparisons: the recipe's `compare`, then the default ones (see {@link tableComparisons}). */
  comparisons: ReportComparison[];
}

function aggregate(values: number[], stderr?: number): Aggregate {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n > 1) {
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    return { mean, spread: std, spreadKind: 'std', n };
  }
  return stderr !== undefined ? { mean, spread: stderr, spreadKind: 'stderr', n } : { mean, n };
}

/** Metric rows of a position by reported name (detail rows such as ε-MSE buckets are folded into their metric's mean). */
function metricRowsOf(rows: readonly ResultRow[]): Map<string, ResultRow> {
  const out = new Map<string, ResultRow>();
  for (const r of rows) if (!r.detail || !('fromStep' in r.detail)) out.set(r.metric, r);
  return out;
}

// Cost columns have no `better`: a cost is never marked best, as if it were a quality (evaluation spec §5).
const COST_COLUMNS: ReportColumn[] = [
  { id: 'sizeMiB', title: 'size (MiB)', kind: 'cost', digits: 3 },
  { id: 'opsM', title: 'OPs (M)', kind: 'cost', digits: 1 },
  { id: 'msPerCall', title: 'ms / call / sample', kind: 'cost', digits: 2 },
  { id: 'secondsPerSample', title: 's / sample', kind: 'cost', digits: 2 },
  { id: 'compressSeconds', title: 'compress s', kind: 'cost', digits: 0 },
];

/** What computing a pipeline step cost ({@link stageCost}). */
export interface StageCost {
  /** Seconds of computing the step (recorded when it was computed, for reused steps and phases). */
  seconds: number;
  /** True when the figure was (partly) read from the store: the step's artifact or one of its phases was reused. */
  stored: boolean;
}

/**
 * What computing a pipeline step cost, in seconds, and whether the figure was read from the store rather than timed
 * in this run (never the time of reusing it):
 * - A step that reports its cost itself does so in a diagnostic table with a `cost s` column (the wall-clock of
 *   computing each phase; for a phase reused from the store, that of the run that computed it), one row per phase
 *   and a last row `total`, and optionally a `reused` column (1 for a reused phase, 0 for a computed one; on the
 *   total row, their count). Its cost is the total's `cost s` — the PTQ methods' calibration table, which leaves out the time of
 *   their diagnostics. Without a `reused` column a phase whose cost differs from its wall-clock (`this run s` or
 *   `seconds`) counts as reused.
 * - Otherwise its cost is the wall-clock of its `apply` ({@link StageRecord.seconds}), recorded with its artifact.
 *
 * The figure is marked stored when the step's artifact was reused from the store ({@link StageRecord.reused}) or
 * some of its phases were.
 */
export function stageCost(stage: StageRecord): StageCost {
  const stepReused = stage.reused === true;
  for (const t of stage.diagnostics) {
    const cost = t.columns.indexOf('cost s');
    const total = t.rows.find((r) => r[0] === 'total');
    if (cost < 0 || !total || typeof total[cost] !== 'number') continue;
    const reused = t.columns.indexOf('reused');
    const wall = Math.max(t.columns.indexOf('this run s'), t.columns.indexOf('seconds'));
    const phases = t.rows.filter((r) => r !== total);
    const phaseReused = reused >= 0
      ? phases.some((r) => typeof r[reused] === 'number' && (r[reused] as number) > 0)
      : wall >= 0 && phases.some((r) => r[cost] !== r[wall]);
    return { seconds: total[cost] as number, stored: stepReused || phaseReused };
  }
  return { seconds: stage.seconds, stored: stepReused };
}

/** A position's cost figures by column id, and the columns whose figure was (partly) read from the store. */
function positionValues(p: PositionResult): { values: Record<string, number>; stored: Set<string> } {
  const v: Record<string, number> = { sizeMiB: p.efficiency.paper.sizeMiB, opsM: p.efficiency.paper.ops / 1e6 };
  const stored = new Set<string>();
  if (p.latency) v.msPerCall = p.latency.msPerCallPerSample;
  // Sampling time measured in isolation; absent when latency is off and in results stored before it was measured.
  if (p.sampling) v.secondsPerSample = p.sampling.secondsPerSample;
  const stages = (p.stages ?? []).map(stageCost);
  if (stages.length > 0 && stages.every((st) => Number.isFinite(st.seconds))) {
    v.compressSeconds = stages.reduce((a, st) => a + st.seconds, 0);
    if (stages.some((st) => st.stored)) stored.add('compressSeconds');
  }
  return { values: v, stored };
}

/** The latency column's title names the runtime it was measured on when that is onnxruntime for every position. */
function latencyTitle(summary: Pick<RunSummary, 'results'>): string {
  const backends = summary.results.flatMap((u) => u.positions.map((p) => p.latency?.backend)).filter((b): b is string => b !== undefined);
  return backends.length > 0 && backends.every((b) => b.startsWith('onnxruntime')) ? 'ms / call / sample, ORT' : 'ms / call / sample';
}

/** Names of the axes that vary the pipeline (by their path, whatever they are called). */
function pipelineAxisNames(summary: Pick<RunSummary, 'recipe'>): Set<string> {
  // The parsed recipe drops the ablation section (cells carry it out); the raw recipe keeps it.
  const raw = summary.recipe.raw?.ablation as { axes?: Array<{ path: string; name?: string }> } | undefined;
  const axes = raw?.axes ?? summary.recipe.recipe?.ablation?.axes ?? [];
  const names = axes.filter((a) => a.path.startsWith('pipeline')).map((a) => a.name ?? a.path);
  // Without the recipe's axes (hand-built summaries), fall back to the default names, which are the paths.
  const first = summary.recipe.cells[0]?.params ?? {};
  for (const k of Object.keys(first)) if (k.startsWith('pipeline')) names.push(k);
  return new Set(names);
}

/** The paired reference of a cell's rows when its recipe sets `eval.pairedSteps` (see {@link pairingIds}). */
function pairedReference(summary: Pick<RunSummary, 'recipe'>, cellIndex: number): PairedReference | undefined {
  const cell = summary.recipe.cells.find((c) => c.index === cellIndex);
  const recipe = cell?.recipe ?? summary.recipe.recipe;
  const steps = recipe?.eval.pairedSteps;
  if (steps == null || !recipe) return undefined;
  const raw = summary.recipe.raw?.ablation as { axes?: Array<{ path: string; name?: string }> } | undefined;
  const axes = raw?.axes ?? summary.recipe.recipe?.ablation?.axes ?? [];
  return { sampler: samplerLabel({ ...samplerSettings(recipe.sample), steps }), stepsAxes: new Set(axes.filter((a) => a.path === 'sample.steps').map((a) => a.name ?? a.path)) };
}

/**
 * Builds the report table of a run: per (cell, position) the metric values and costs aggregated over seeds; FP
 * evaluations that several cells share (same model, sampler and samples) appear once. Then its comparisons (the
 * recipe's `compare`, else every row against its FP row on the paired fidelity metrics), whose verdicts against the
 * FP row are marked next to the numbers.
 */
export function buildTable(summary: Pick<RunSummary, 'results' | 'floor' | 'recipe'>): ReportTable {
  const axisNames = summary.recipe.cells[0] ? Object.keys(summary.recipe.cells[0].params) : [];
  const pipelineAxes = pipelineAxisNames(summary);
  const groups = new Map<string, { unit: UnitResult; positions: PositionResult[]; seeds: Set<number> }>();
  for (const unit of summary.results) {
    for (const p of unit.positions) {
      const id = p.position === 'baseline' ? fpGroupId(p.modelKey, unit.sampler, unit.samples, fpRowParams(unit.params, pipelineAxes)) : `${unit.cell} ${p.position}`;
      const g = groups.get(id) ?? { unit, positions: [], seeds: new Set<number>() };
      // A shared FP evaluation appears in every cell's unit; each seed counts once.
      if (g.seeds.has(unit.seed)) continue;
      g.seeds.add(unit.seed);
      g.positions.push(p);
      groups.set(id, g);
    }
  }
  const metricIds = new Set<string>();
  const rows: ReportRow[] = [];
  for (const { unit, positions } of groups.values()) {
    const values: Record<string, Aggregate> = {};
    const results: Record<string, ResultRow[]> = {};
    const perSeed = positions.map((p) => metricRowsOf(p.rows));
    for (const m of perSeed[0].keys()) {
      metricIds.add(m);
      results[m] = perSeed.map((s) => s.get(m)).filter((r): r is ResultRow => r !== undefined);
      values[m] = aggregate(results[m].map((r) => r.value), perSeed[0].get(m)?.stderr);
    }
    const costs = positions.map(positionValues);
    const marks: Record<string, string> = {};
    for (const c of COST_COLUMNS) {
      const xs = costs.map((p) => p.values[c.id]).filter((x): x is number => x !== undefined);
      if (xs.length) values[c.id] = aggregate(xs);
      if (costs.some((p) => p.stored.has(c.id))) marks[c.id] = 'stored';
    }
    const first = positions[0];
    const fp = first.position === 'baseline';
    const fpParams = fpRowParams(unit.params, pipelineAxes);
    const { reference, evaluation } = pairingIds(unit.base, unit.sampler, unit.samples, fpParams, pairedReference(summary, unit.cell));
    rows.push({
      kind: fp ? 'fp' : 'compressed', label: first.label, position: first.position, params: fp ? fpParams : unit.params,
      // A student position is sampled with the student's own sampler, not the unit's.
      sampler: first.sampler ?? unit.sampler, samples: unit.samples, values, results, marks, sampleKey: first.sampleKey, steps: first.steps ?? unit.steps,
      // Paired metrics compare with the FP model sampled as the recipe samples it (the unit's sampler, also for
      // students), or at eval.pairedSteps.
      reference,
      ...(fp && evaluation !== reference ? { evaluation } : {}),
    });
  }
  rows.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'fp' ? -1 : 1));
  const floor = floorRow(summary.floor);
  if (floor) {
    for (const m of Object.keys(floor.values)) metricIds.add(m);
    rows.unshift(floor);
  }
  // Titles drop the feature-network suffix (`fd-mnist-classifier-v1` → `fd`); the caption names the network.
  const metricColumns: ReportColumn[] = [...metricIds].map((id) => {
    const info = Object.values(METRICS)
      .filter((m) => id === m.name || id.startsWith(`${m.name}-`) || id.startsWith(`${m.name}[`))
      .sort((a, b) => b.name.length - a.name.length)[0];
    return { id, title: info && !id.startsWith(`${info.name}[`) ? info.name : id, kind: 'metric', better: info?.better, digits: 3 };
  });
  const columns: ReportColumn[] = [
    ...axisNames.map((a): ReportColumn => ({ id: a, title: a, kind: 'param', digits: 0 })),
    ...metricColumns,
    ...COST_COLUMNS.filter((c) => rows.some((r) => r.values[c.id])).map((c) => (c.id === 'msPerCall' ? { ...c, title: latencyTitle(summary) } : c)),
  ];
  const best: Record<string, number> = {};
  for (const c of columns) {
    if (!c.better || c.kind !== 'metric') continue;
    let bestIndex = -1;
    rows.forEach((r, i) => {
      const v = r.values[c.id];
      if (r.kind === 'floor' || !v) return;
      const cur = bestIndex >= 0 ? rows[bestIndex].values[c.id].mean : undefined;
      if (cur === undefined || (c.better === 'lower' ? v.mean < cur : v.mean > cur)) bestIndex = i;
    });
    // A column where every row ties (e.g. size in a sampler ablation) has no best.
    if (bestIndex >= 0 && rows.some((r, i) => i !== bestIndex && r.kind !== 'floor' && r.values[c.id] && r.values[c.id].mean !== rows[bestIndex].values[c.id].mean)) best[c.id] = bestIndex;
  }
  const comparisons = tableComparisons(rows, summary.recipe.recipe?.compare);
  for (const c of comparisons) {
    if (!verdictInTable(rows, c) || !c.result) continue;
    const a = rows[c.rowA as number];
    const column = Object.keys(a.results).find((id) => a.results[id][0]?.metricId === c.metric);
    // The first comparison of a cell wins (a recipe may compare the same rows under two margins).
    if (column && a.marks[column] === undefined) a.marks[column] = c.result.verdict;
  }
  return { columns, rows, best, comparisons };
}

function floorRow(floor: readonly FloorResult[]): ReportRow | undefined {
  if (floor.length === 0 || floor[0].rows.length === 0) return undefined;
  const values: Record<string, Aggregate> = {};
  const results: Record<string, ResultRow[]> = {};
  const perSeed = floor.map((f) => metricRowsOf(f.rows));
  for (const m of perSeed[0].keys()) {
    results[m] = perSeed.map((s) => s.get(m)).filter((r): r is ResultRow => r !== undefined);
    values[m] = aggregate(results[m].map((r) => r.value), perSeed[0].get(m)?.stderr);
  }
  const n = floor[0].rows[0].samples;
  return { kind: 'floor', label: `floor: MNIST test split (seeded ${n})`, position: '—', params: {}, sampler: '—', samples: n, values, results, marks: {} };
}

/** `12.345 ± 0.678` (or the mean alone), with the column's decimals. */
export function formatAggregate(a: Aggregate | undefined, digits: number): string {
  if (!a) return '—';
  // Small values (ε-MSE is ~1e-3) keep three significant digits instead of rounding to 0.000.
  const f = (x: number): string => (Math.abs(x) >= 1e5 ? x.toExponential(2) : x !== 0 && Math.abs(x) < 10 ** -(digits - 1) ? x.toPrecision(3) : x.toFixed(digits));
  return a.spread !== undefined ? `${f(a.mean)} ± ${f(a.spread)}` : f(a.mean);
}
