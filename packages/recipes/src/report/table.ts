import { METRICS, ResultRow } from '@diffpress/eval';
import { FloorResult, RunSummary } from '../run/runner';
import { PositionResult, UnitResult } from '../run/unit';

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
  /** Which direction is better (metrics, and cost columns where smaller is better). */
  better?: 'lower' | 'higher';
  /** Decimals to print. */
  digits: number;
}

/** A row of the report table: one evaluated model and sampler, aggregated over seeds. */
export interface ReportRow {
  /** `floor` (held-out data), `fp` (the uncompressed model), `compressed`. */
  kind: 'floor' | 'fp' | 'compressed';
  /** What was evaluated: `FP`, the method chain, or the floor's description. */
  label: string;
  /** Pipeline position. */
  position: string;
  /** Axis values shown in the param columns (absent: not applicable to this row). */
  params: Record<string, unknown>;
  /** Sampler label. */
  sampler: string;
  /** Samples per evaluation. */
  samples: number;
  /** Values by column id. */
  values: Record<string, Aggregate>;
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
  /** Column id → index of the best non-floor row, for the columns that have a direction. */
  best: Record<string, number>;
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

/** Metric value columns of rows (detail rows such as ε-MSE buckets are folded into their metric's mean). */
function metricValues(rows: readonly ResultRow[]): Map<string, { value: number; stderr?: number }> {
  const out = new Map<string, { value: number; stderr?: number }>();
  for (const r of rows) if (!r.detail || !('fromStep' in r.detail)) out.set(r.metric, { value: r.value, stderr: r.stderr });
  return out;
}

const COST_COLUMNS: ReportColumn[] = [
  { id: 'sizeMiB', title: 'size (MiB)', kind: 'cost', better: 'lower', digits: 3 },
  { id: 'opsM', title: 'OPs (M)', kind: 'cost', better: 'lower', digits: 1 },
  { id: 'msPerCall', title: 'ms / call / sample', kind: 'cost', better: 'lower', digits: 2 },
  { id: 'secondsPerSample', title: 's / sample', kind: 'cost', better: 'lower', digits: 2 },
  { id: 'compressSeconds', title: 'compress s', kind: 'cost', better: 'lower', digits: 0 },
];

function positionValues(p: PositionResult): Record<string, number> {
  const v: Record<string, number> = { sizeMiB: p.efficiency.paper.sizeMiB, opsM: p.efficiency.paper.ops / 1e6, secondsPerSample: p.secondsPerSample };
  if (p.latency) v.msPerCall = p.latency.msPerCallPerSample;
  // Wall-clock of the pipeline steps that produced the model (calibration, training); NaN when not recorded.
  const stages = p.stages ?? [];
  if (stages.length > 0 && stages.every((st) => Number.isFinite(st.seconds))) v.compressSeconds = stages.reduce((a, st) => a + st.seconds, 0);
  return v;
}

/** The latency column's title names the runtime it was measured on when that is onnxruntime for every position. */
function latencyTitle(summary: Pick<RunSummary, 'results'>): string {
  const backends = summary.results.flatMap((u) => u.positions.map((p) => p.latency?.backend)).filter((b): b is string => b !== undefined);
  return backends.length > 0 && backends.every((b) => b.startsWith('onnxruntime')) ? 'ms / call / sample, ORT' : 'ms / call / sample';
}

/** Params of an FP row: only the axes that change the FP model or its sampling (not those of the pipeline). */
function fpParams(params: Record<string, unknown>, pipelineAxes: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => !pipelineAxes.has(k)));
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

/**
 * Builds the report table of a run: per (cell, position) the metric values and costs aggregated over seeds; FP
 * evaluations that several cells share (same model, sampler and samples) appear once.
 */
export function buildTable(summary: Pick<RunSummary, 'results' | 'floor' | 'recipe'>): ReportTable {
  const axisNames = summary.recipe.cells[0] ? Object.keys(summary.recipe.cells[0].params) : [];
  const pipelineAxes = pipelineAxisNames(summary);
  const groups = new Map<string, { unit: UnitResult; positions: PositionResult[]; seeds: Set<number> }>();
  for (const unit of summary.results) {
    for (const p of unit.positions) {
      const params = p.position === 'baseline' ? fpParams(unit.params, pipelineAxes) : unit.params;
      const id = p.position === 'baseline' ? `fp ${p.modelKey} ${unit.sampler} ${unit.samples} ${JSON.stringify(params)}` : `${unit.cell} ${p.position}`;
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
    const perSeed = positions.map((p) => metricValues(p.rows));
    for (const m of perSeed[0].keys()) {
      metricIds.add(m);
      const xs = perSeed.map((s) => s.get(m)?.value).filter((x): x is number => x !== undefined);
      values[m] = aggregate(xs, perSeed[0].get(m)?.stderr);
    }
    for (const c of COST_COLUMNS) {
      const xs = positions.map((p) => positionValues(p)[c.id]).filter((x): x is number => x !== undefined);
      if (xs.length) values[c.id] = aggregate(xs);
    }
    const first = positions[0];
    const fp = first.position === 'baseline';
    rows.push({
      kind: fp ? 'fp' : 'compressed', label: first.label, position: first.position, params: fp ? fpParams(unit.params, pipelineAxes) : unit.params,
      // A student position is sampled with the student's own sampler, not the unit's.
      sampler: first.sampler ?? unit.sampler, samples: unit.samples, values, sampleKey: first.sampleKey, steps: first.steps ?? unit.steps,
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
    if (!c.better) continue;
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
  return { columns, rows, best };
}

function floorRow(floor: readonly FloorResult[]): ReportRow | undefined {
  if (floor.length === 0 || floor[0].rows.length === 0) return undefined;
  const values: Record<string, Aggregate> = {};
  for (const m of metricValues(floor[0].rows).keys()) {
    const xs = floor.map((f) => metricValues(f.rows).get(m)?.value).filter((x): x is number => x !== undefined);
    values[m] = aggregate(xs, metricValues(floor[0].rows).get(m)?.stderr);
  }
  const n = floor[0].rows[0].samples;
  return { kind: 'floor', label: `floor: MNIST test split (seeded ${n})`, position: '—', params: {}, sampler: '—', samples: n, values };
}

/** `12.345 ± 0.678` (or the mean alone), with the column's decimals. */
export function formatAggregate(a: Aggregate | undefined, digits: number): string {
  if (!a) return '—';
  // Small values (ε-MSE is ~1e-3) keep three significant digits instead of rounding to 0.000.
  const f = (x: number): string => (Math.abs(x) >= 1e5 ? x.toExponential(2) : x !== 0 && Math.abs(x) < 10 ** -(digits - 1) ? x.toPrecision(3) : x.toFixed(digits));
  return a.spread !== undefined ? `${f(a.mean)} ± ${f(a.spread)}` : f(a.mean);
}

/** A param value as a table cell. */
export function formatParam(v: unknown): string {
  if (v === undefined) return '—';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
