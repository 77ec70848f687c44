import * as vega from 'vega';
import { TopLevelSpec, compile } from 'vega-lite';
import { ReportColumn, ReportTable } from './table';

/** A rendered plot. */
export interface Plot {
  /** File name under `plots/`. */
  file: string;
  /** Title. */
  title: string;
  /** The SVG. */
  svg: string;
}

/** Renders a Vega-Lite spec to SVG, headless (no canvas: text is measured by estimate). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

interface Point {
  x: number;
  y: number;
  lo: number;
  hi: number;
  series: string;
}

function qualitySpec(title: string, xTitle: string, yTitle: string, points: Point[], floor: number | undefined, logX: boolean): TopLevelSpec {
  const x = { field: 'x', type: 'quantitative' as const, title: xTitle, scale: logX ? { type: 'log' as const } : { zero: false } };
  const y = { field: 'y', type: 'quantitative' as const, title: yTitle, scale: { zero: false } };
  const color = { field: 'series', type: 'nominal' as const, title: null };
  const layer = [
    { mark: { type: 'line' as const, point: true }, encoding: { x, y, color } },
    { mark: { type: 'errorbar' as const }, encoding: { x, y: { field: 'lo', type: 'quantitative' as const, title: yTitle }, y2: { field: 'hi' }, color } },
  ];
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 420,
    height: 260,
    data: { values: points },
    layer: floor === undefined ? layer : [...layer, { data: { values: [{ floor }] }, mark: { type: 'rule' as const, strokeDash: [4, 4], color: 'gray' }, encoding: { y: { field: 'floor', type: 'quantitative' as const } } }],
  };
  return spec as unknown as TopLevelSpec;
}

function pointsFor(table: ReportTable, metric: ReportColumn, xOf: (i: number) => number | undefined, seriesOf: (i: number) => string): Point[] {
  const out: Point[] = [];
  table.rows.forEach((r, i) => {
    const v = r.values[metric.id];
    const x = xOf(i);
    if (r.kind === 'floor' || !v || x === undefined) return;
    out.push({ x, y: v.mean, lo: v.mean - (v.spread ?? 0), hi: v.mean + (v.spread ?? 0), series: seriesOf(i) });
  });
  return out;
}

function slug(s: string): string {
  return s.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
}

/**
 * The plots a table supports: quality against sampling steps when steps vary, and quality against OPs and against
 * size when those vary — one SVG per quality metric, with the floor as a dashed line.
 */
export async function reportPlots(table: ReportTable): Promise<Plot[]> {
  const metrics = table.columns.filter((c) => c.kind === 'metric');
  const floor = table.rows.find((r) => r.kind === 'floor');
  const distinct = (f: (i: number) => number | undefined): number => new Set(table.rows.map((_, i) => f(i)).filter((x) => x !== undefined)).size;
  const steps = (i: number): number | undefined => table.rows[i].steps;
  const ops = (i: number): number | undefined => table.rows[i].values.opsM?.mean;
  const size = (i: number): number | undefined => table.rows[i].values.sizeMiB?.mean;
  const kind = (i: number): string => `${table.rows[i].label} · ${table.rows[i].sampler.replace(/-\d+.*$/, '')}`;
  const plots: Plot[] = [];
  for (const m of metrics) {
    const f = floor?.values[m.id]?.mean;
    const yTitle = `${m.title}${m.better ? ` (${m.better} is better)` : ''}`;
    if (distinct(steps) > 1) {
      const title = `${m.title} against sampling steps`;
      plots.push({ file: `${slug(m.id)}-vs-steps.svg`, title, svg: await renderSvg(qualitySpec(title, 'model calls per sample', yTitle, pointsFor(table, m, steps, kind), f, true)) });
    }
    const byLabel = (i: number): string => `${table.rows[i].sampler}`;
    if (distinct(ops) > 1) {
      const title = `${m.title} against OPs`;
      plots.push({ file: `${slug(m.id)}-vs-ops.svg`, title, svg: await renderSvg(qualitySpec(title, 'OPs per UNet call (M)', yTitle, pointsFor(table, m, ops, byLabel), f, false)) });
    }
    if (distinct(size) > 1) {
      const title = `${m.title} against model size`;
      plots.push({ file: `${slug(m.id)}-vs-size.svg`, title, svg: await renderSvg(qualitySpec(title, 'size (MiB)', yTitle, pointsFor(table, m, size, byLabel), f, false)) });
    }
  }
  return plots;
}

/** One logged update of a training run. */
export interface TrainingPoint {
  /** Update number. */
  step: number;
  /** Training loss at that update. */
  loss: number;
}

/** One training run's log, as read from a trained base-model artifact. */
export interface TrainingCurve {
  /** Label (the artifact key's first characters). */
  label: string;
  /** Logged updates. */
  points: TrainingPoint[];
}

/** Training loss against update for the runs' training stages (one SVG, one line per trained base model). */
export async function trainingPlot(curves: readonly TrainingCurve[]): Promise<Plot | undefined> {
  const values = curves.flatMap((c) => c.points.map((p) => ({ ...p, run: c.label })));
  if (values.length === 0) return undefined;
  const title = 'training loss of the base model';
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 420,
    height: 260,
    data: { values },
    mark: { type: 'line', point: values.length < 60 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'update' },
      y: { field: 'loss', type: 'quantitative', title: 'training loss', scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: null },
    },
  };
  return { file: 'training-loss.svg', title, svg: await renderSvg(spec as unknown as TopLevelSpec) };
}
