import { PathSegment, parsePath, setPath } from './paths';

/** One ablation axis as written in a recipe. */
export interface AxisSpec {
  /** Dotted recipe path. */
  path: string;
  /** Values of the axis. */
  values: unknown[];
  /** Column name (default: the path). */
  name?: string;
  /** Display names of the values (one per value); the cell's params show these instead of the values. */
  labels?: string[];
}

/** One cell of an ablation: the recipe with one value per axis set. */
export interface AblationCell {
  /** Position in the expansion (grid: the first axis varies slowest). */
  index: number;
  /** Axis values by axis name, in axis order (an axis's label instead of its value when it has labels). */
  params: Record<string, unknown>;
  /** The recipe of this cell as plain data: the axis values set and the `ablation` section removed. */
  raw: Record<string, unknown>;
}

/** Why an ablation could not be expanded: the axis (index into `axes`) and the message. */
export interface ExpansionProblem {
  /** Axis index, or -1 for the section as a whole. */
  axis: number;
  /** Value index within the axis, when one value is at fault. */
  value?: number;
  /** What is wrong. */
  message: string;
}

/** The cells of an ablation and the problems that kept some from being built. */
export interface AblationExpansion {
  /** The cells that could be built. */
  cells: AblationCell[];
  /** Problems with axes or values. */
  problems: ExpansionProblem[];
}

/**
 * Expands a recipe's ablation into cells. `grid` takes the cartesian product (first axis slowest, like nested loops
 * in axis order); `zip` takes the i-th value of every axis together and needs equal lengths. Without axes there is
 * one cell with no parameters.
 *
 * @example
 * ```ts
 * expandAblation(raw, 'zip', [{ path: 'sample.kind', values: ['ddim', 'ddpm'] }, { path: 'sample.steps', values: [50, 1000] }]);
 * // → two cells: {sample.kind: 'ddim', sample.steps: 50} and {sample.kind: 'ddpm', sample.steps: 1000}
 * ```
 */
export function expandAblation(
  raw: Record<string, unknown>,
  mode: 'grid' | 'zip',
  axes: readonly AxisSpec[],
): AblationExpansion {
  const problems: ExpansionProblem[] = [];
  const base = { ...raw };
  delete base.ablation;
  const parsed: PathSegment[][] = [];
  axes.forEach((a, i) => {
    try {
      parsed.push(parsePath(a.path));
    } catch (err) {
      problems.push({ axis: i, message: (err as Error).message });
    }
    if (a.path.split(/[.[]/)[0] === 'ablation') problems.push({ axis: i, message: 'an axis cannot vary the ablation section itself' });
  });
  const names = axes.map((a) => a.name ?? a.path);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) problems.push({ axis: -1, message: `two axes are named '${dup}'; give them distinct names` });
  axes.forEach((a, i) => {
    if (a.labels && a.labels.length !== a.values.length) problems.push({ axis: i, message: `${a.labels.length} labels for ${a.values.length} values` });
  });
  if (mode === 'zip' && axes.some((a) => a.values.length !== axes[0].values.length)) {
    problems.push({ axis: -1, message: `zip needs axes of equal length, got ${axes.map((a) => a.values.length).join(', ')} values` });
  }
  if (problems.length > 0) return { cells: [], problems };
  if (axes.length === 0) return { cells: [{ index: 0, params: {}, raw: base }], problems };

  const combos: number[][] = [];
  if (mode === 'zip') {
    for (let j = 0; j < axes[0].values.length; j++) combos.push(axes.map(() => j));
  } else {
    const walk = (prefix: number[]): void => {
      if (prefix.length === axes.length) {
        combos.push(prefix);
        return;
      }
      for (let j = 0; j < axes[prefix.length].values.length; j++) walk([...prefix, j]);
    };
    walk([]);
  }
  const cells: AblationCell[] = [];
  for (const combo of combos) {
    let cellRaw: Record<string, unknown> = base;
    const params: Record<string, unknown> = {};
    let failed = false;
    combo.forEach((j, i) => {
      if (failed) return;
      try {
        cellRaw = setPath(cellRaw, parsed[i], axes[i].values[j]);
        params[names[i]] = axes[i].labels ? axes[i].labels[j] : axes[i].values[j];
      } catch (err) {
        problems.push({ axis: i, value: j, message: (err as Error).message });
        failed = true;
      }
    });
    if (!failed) cells.push({ index: cells.length, params, raw: cellRaw });
  }
  return { cells, problems };
}

/** A unit of work: one ablation cell at one seed. */
export interface RunUnit<C extends AblationCell = AblationCell> {
  /** The cell. */
  cell: C;
  /** The seed. */
  seed: number;
  /** Position in the run's unit order (cells outer, seeds inner): the basis of sharding. */
  order: number;
}

/** All (cell, seed) units in a fixed order: cells in expansion order, seeds inner. */
export function runUnits<C extends AblationCell>(cells: readonly C[], seeds: readonly number[]): RunUnit<C>[] {
  const units: RunUnit<C>[] = [];
  for (const cell of cells) for (const seed of seeds) units.push({ cell, seed, order: units.length });
  return units;
}

/** A shard of a run: number `index` (1-based) of `count`. */
export interface Shard {
  /** 1 … count. */
  index: number;
  /** Number of shards. */
  count: number;
}

/** The units of one shard: every `count`-th unit starting at `index − 1`, so shards are disjoint and cover all units. */
export function shardUnits<C extends AblationCell>(units: readonly RunUnit<C>[], shard: Shard | undefined): RunUnit<C>[] {
  if (!shard) return [...units];
  return units.filter((u) => u.order % shard.count === shard.index - 1);
}

/**
 * Parses `i/n` (1 ≤ i ≤ n).
 *
 * @throws Error with the expected form.
 */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new Error(`--shard '${text}': expected i/n with 1 ≤ i ≤ n, e.g. 2/4`);
  return { index, count };
}

/**
 * The shard from the environment of a cluster array job, if any.
 *
 * - Slurm with `DIFFPRESS_SHARDS=n` (the form the cluster guide uses): array index `SLURM_ARRAY_TASK_ID` (0 … n − 1)
 *   is shard index + 1 of n, whatever else the array holds — so a task resubmitted alone (`sbatch --array=2`) still
 *   runs shard 3/n, not the whole run.
 * - Slurm without it: `SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT` (right only
 *   for the array as first submitted).
 * - A Kubernetes indexed Job: `JOB_COMPLETION_INDEX`, of `DIFFPRESS_SHARDS`, which the Job must set to its
 *   completions count.
 *
 * @throws Error when a Kubernetes index is set without `DIFFPRESS_SHARDS`, or an index is outside `DIFFPRESS_SHARDS`.
 */
export function shardFromEnv(env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  const pinned = env.DIFFPRESS_SHARDS;
  const of = (index: number, source: string): Shard => {
    if (!(Number.isInteger(index) && index >= 0 && index < Number(pinned))) {
      throw new Error(`${source}=${index} is not a shard index of DIFFPRESS_SHARDS=${pinned} (0 … ${Number(pinned) - 1})`);
    }
    return parseShard(`${index + 1}/${Number(pinned)}`);
  };
  if (env.SLURM_ARRAY_TASK_ID !== undefined && pinned !== undefined) return of(Number(env.SLURM_ARRAY_TASK_ID), 'SLURM_ARRAY_TASK_ID');
  if (env.SLURM_ARRAY_TASK_ID !== undefined && env.SLURM_ARRAY_TASK_COUNT !== undefined) {
    const index = Number(env.SLURM_ARRAY_TASK_ID) - Number(env.SLURM_ARRAY_TASK_MIN ?? 0) + 1;
    return parseShard(`${index}/${Number(env.SLURM_ARRAY_TASK_COUNT)}`);
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    if (pinned === undefined) throw new Error('JOB_COMPLETION_INDEX is set but DIFFPRESS_SHARDS (the Job’s completions count) is not');
    return of(Number(env.JOB_COMPLETION_INDEX), 'JOB_COMPLETION_INDEX');
  }
  return undefined;
}

/** The report column label of a cell's parameter values, e.g. `sample.kind=ddim, sample.steps=50`. */
export function cellLabel(params: Record<string, unknown>): string {
  const parts = Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return parts.length ? parts.join(', ') : 'base';
}
