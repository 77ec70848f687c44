import * as fs from 'fs';
import * as path from 'path';
import { ValidatedRecipe } from '../recipe/validate';
import { RunSummary, planUnits } from '../run/runner';
import { unitKey } from '../run/unit';
import { ArtifactStore } from '../store/store';
import { ReportComparison } from './comparisons';
import { RESULTS_FORMAT } from './write';

/** The recipe a `results.json` came from. */
export interface ResultsRecipe {
  /** Recipe name. */
  name: string;
  /** Recipe file. */
  file: string;
  /** Recipe hash. */
  hash: string;
}

/** The parts of a run folder's `results.json` that merging reads (written by `writeReport`). */
export interface ResultsFile {
  /** `RESULTS_FORMAT` at writing time. */
  format: number;
  /** The recipe. */
  recipe: ResultsRecipe;
  /** Backend of the run. */
  backend: string;
  /** Runtime of the run's sampling and evaluation (absent in results written before runtimes existed). */
  runtime?: string;
  /** Units of the run (its shard). */
  units: number;
  /** Units it computed. */
  computed: number;
  /** Units it found finished. */
  reused: number;
  /** Its wall-clock seconds. */
  seconds: number;
  /** Floor rows. */
  floor: RunSummary['floor'];
  /** Unit results. */
  results: RunSummary['results'];
  /** Failed units. */
  failed: RunSummary['failed'];
  /** Units a `--finished-only` run left pending (absent otherwise). */
  pending?: RunSummary['pending'];
  /**
   * The comparisons of the run's table (absent in results written before comparisons existed). Merging does not read
   * them: the merged table computes its own from the merged results.
   */
  comparisons?: ReportComparison[];
}

/** Reads a run folder's `results.json`. */
export function readResults(dir: string): ResultsFile {
  const file = fs.statSync(dir).isDirectory() ? path.join(dir, 'results.json') : dir;
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist (is ${dir} a run folder?)`);
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as ResultsFile;
  if (r.format > RESULTS_FORMAT) throw new Error(`${file}: results format ${r.format} is newer than this diffpress understands (${RESULTS_FORMAT})`);
  return r;
}

/**
 * Puts the unit results of earlier run folders of this recipe into a store, under the keys the units have there, so
 * that a run on another machine (a new session, another cluster) does not compute them again — `ablation
 * --resume-from`. Only results of the same recipe hash are taken (anything else is refused), each matched to its
 * planned unit by order, cell parameters and seed; a unit the store already holds is left as it is. Returns the
 * number of units stored.
 *
 * @throws Error when a folder holds results of another recipe, or a result matches no planned unit.
 */
export async function importResults(dirs: readonly string[], recipe: ValidatedRecipe, store: ArtifactStore): Promise<number> {
  const planned = new Map(planUnits(recipe).map((u) => [u.order, u]));
  let stored = 0;
  for (const dir of dirs) {
    const r = readResults(dir);
    if (r.recipe.hash !== recipe.hash) throw new Error(`${dir} holds results of recipe hash ${r.recipe.hash.slice(0, 12)}, not ${recipe.hash.slice(0, 12)} (${recipe.file}): only the same recipe's results can be resumed from`);
    for (const result of r.results) {
      const unit = planned.get(result.order);
      if (!unit || unit.seed !== result.seed || JSON.stringify(unit.cell.params) !== JSON.stringify(result.params)) {
        throw new Error(`${dir}: unit ${result.order} (${JSON.stringify(result.params)}, seed ${result.seed}) is not a unit of ${recipe.file}`);
      }
      const key = unitKey(recipe, unit, store);
      if (store.has('unit', key)) continue;
      await store.produceJson('unit', key, async () => result, { order: unit.order, params: unit.cell.params, seed: unit.seed, resumedFrom: path.resolve(dir) });
      stored++;
    }
  }
  return stored;
}

/**
 * Merges the run folders of the shards of one recipe (`report --merge`) into one summary: every unit once, in unit
 * order, so the merged table equals the one a single process would have written.
 *
 * @throws Error when the folders come from different recipes (hash mismatch).
 */
export function mergeResults(dirs: readonly string[], recipe: ValidatedRecipe): RunSummary {
  if (dirs.length === 0) throw new Error('report --merge needs at least one run folder');
  const parts = dirs.map((d) => ({ dir: d, r: readResults(d) }));
  const wrong = parts.find((p) => p.r.recipe.hash !== recipe.hash);
  if (wrong) throw new Error(`${wrong.dir} holds results of recipe hash ${wrong.r.recipe.hash.slice(0, 12)}, not ${recipe.hash.slice(0, 12)} (${recipe.file}); merge shards of one recipe`);
  const byOrder = new Map<number, RunSummary['results'][number]>();
  for (const p of parts) for (const u of p.r.results) byOrder.set(u.order, u);
  const results = [...byOrder.values()].sort((a, b) => a.order - b.order);
  const done = new Set(results.map((u) => u.order));
  const failed = parts.flatMap((p) => p.r.failed).filter((f) => !done.has(f.order));
  const pendingParts = parts.filter((p) => p.r.pending);
  const pending = [...new Map(pendingParts.flatMap((p) => p.r.pending ?? []).filter((u) => !done.has(u.order)).map((u) => [u.order, u])).values()].sort((a, b) => a.order - b.order);
  return {
    recipe,
    units: parts.reduce((a, p) => a + p.r.units, 0),
    computed: parts.reduce((a, p) => a + p.r.computed, 0),
    reused: parts.reduce((a, p) => a + p.r.reused, 0),
    results,
    failed,
    ...(pendingParts.length ? { pending } : {}),
    floor: parts[0].r.floor,
    seconds: Math.max(...parts.map((p) => p.r.seconds)),
    backend: [...new Set(parts.map((p) => p.r.backend))].join(' / '),
    runtime: [...new Set(parts.map((p) => p.r.runtime ?? 'tfjs'))].join(' / '),
  };
}
