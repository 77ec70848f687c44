import { ChildProcess, fork } from 'child_process';
import * as path from 'path';
import { FileLock, acquireLock, engineInfo, tryLock } from '@diffpress/core';
import { ArrayDataset } from '@diffpress/diffusion';
import { FeatureNetwork, ResultRow, evaluate, libraryVersion, loadFeatureNetwork } from '@diffpress/eval';
import { RunUnit, Shard, runUnits, shardUnits } from '../ablation/expand';
import { RecipeDataError, floorSplit, isShippedData, loadRecipeData, recipeDataKey, recipeDataShape, trainingSplit } from '../recipe/data';
import { featureMetrics, needsFeatureNet, recipeFeatureNet } from '../recipe/inputs';
import { ResolvedCell } from '../recipe/resolved';
import { ValidatedRecipe } from '../recipe/validate';
import { ArtifactStore } from '../store/store';
import { RunLog, consoleLog } from './progress';
import { UnitContext, UnitResult, runUnit, unitKey } from './unit';
import { runtimeSettings, runtimeSummary } from './runtime';

/** Options of {@link runRecipe}. */
export interface RunOptions {
  /** The artifact store. */
  store: ArtifactStore;
  /** Only this shard of the units. */
  shard?: Shard;
  /**
   * Worker processes (default 1: run in this process). With k > 1, k workers run the units in the same order and
   * share the work through the store (a sample chunk or artifact being produced by one is waited for, not redone);
   * this process then collects the results.
   */
  jobs?: number;
  /** Script the workers run (see `runWorker`); required when `jobs` > 1. */
  workerEntry?: string;
  /** Arguments the worker script needs to rebuild the run (recipe file, store, shard). */
  workerArgs?: string[];
  /** Run log (default: the console). */
  log?: RunLog;
  /**
   * Compute no unit: report the units the store already holds and list the others as pending — a look at a long run
   * in progress, or its finished part to keep before the machine goes (default false).
   */
  finishedOnly?: boolean;
}

/** The floor: real held-out data evaluated like a model (the best any model can score at this n). */
export interface FloorResult {
  /** Seed of the subset. */
  seed: number;
  /** Rows of `evaluate({ dataset })`. */
  rows: ResultRow[];
}

/** A unit that threw. */
export interface FailedUnit {
  /** Unit order. */
  order: number;
  /** Its cell's axis values. */
  params: Record<string, unknown>;
  /** Its seed. */
  seed: number;
  /** The error message. */
  error: string;
}

/** A unit a `finishedOnly` run found not finished: a {@link FailedUnit} without an error. */
export type PendingUnit = Omit<FailedUnit, 'error'>;

/** What a run produced. */
export interface RunSummary {
  /** The recipe. */
  recipe: ValidatedRecipe;
  /** Units of this shard. */
  units: number;
  /** Units computed by this run (here or in its workers). */
  computed: number;
  /**
   * Units read from the store: finished before the run started, or by another process (another shard, another
   * array job on the same store) while it ran.
   */
  reused: number;
  /** Unit results, in unit order. */
  results: UnitResult[];
  /** Units that failed, with the error. */
  failed: FailedUnit[];
  /** Units not computed because the run was `finishedOnly` (absent otherwise). */
  pending?: PendingUnit[];
  /** Floor rows per seed (when the recipe asks for them). */
  floor: FloorResult[];
  /** Wall-clock seconds of the run. */
  seconds: number;
  /** Backend and threads of this process. */
  backend: string;
  /** Where samples were drawn and evaluated: `tfjs`, or the onnxruntime version, threads and quantization export. */
  runtime?: string;
  /** The shard, if any. */
  shard?: Shard;
}

/** The units of a recipe (all cells × seeds, then the shard's subset). */
export function planUnits(v: ValidatedRecipe, shard?: Shard): RunUnit<ResolvedCell>[] {
  return shardUnits(runUnits(v.cells, v.recipe.seeds), shard);
}

/** Which units are already finished in the store (for `--dry-run` and the resume count). */
export function finishedUnits(v: ValidatedRecipe, units: readonly RunUnit<ResolvedCell>[], store: ArtifactStore): boolean[] {
  return units.map((u) => store.has('unit', unitKey(v, u, store)));
}

/**
 * What the units of a run share: the reference split (loaded on first use: a run of paired metrics only never
 * reads a large training split), the sample shape, the feature network (only when some cell asks for a metric that
 * needs one, and checked against the data's shape), and the training data a step may read.
 */
async function unitContext(v: ValidatedRecipe, store: ArtifactStore, log: RunLog): Promise<UnitContext> {
  const { data } = v.recipe;
  // Loaded once per run and kept: every step that reads the data, in every unit, gets the same split.
  let reference: ArrayDataset | undefined;
  let train: ArrayDataset | undefined;
  const shape = recipeDataShape(data, v.baseDir);
  const featureNet = v.cells.some((c) => needsFeatureNet(c.recipe.eval.metrics))
    ? await loadFeatureNetwork(recipeFeatureNet(v.recipe.eval.featureNet, v.baseDir), shape)
    : undefined;
  const split = trainingSplit(data);
  return {
    store, log, shape, featureNet,
    reference: () => (reference ??= loadRecipeData(data, data.reference, v.baseDir)),
    data: { key: recipeDataKey(data, split, v.baseDir), load: () => (train ??= loadRecipeData(data, split, v.baseDir)) },
  };
}

/** The floor row of one seed: the held-out split against the reference split, under the feature metrics. */
async function floorRows(v: ValidatedRecipe, ctx: UnitContext, featureNet: FeatureNetwork, seed: number): Promise<FloorResult> {
  const { data } = v.recipe;
  const metrics = featureMetrics(v.recipe.eval.metrics);
  const n = v.recipe.eval.samples;
  const split = floorSplit(data);
  // MNIST as shipped is named by its split alone; other data by the identity of both splits' images.
  const identity = isShippedData(data) ? {} : { data: recipeDataKey(data, split, v.baseDir), referenceData: recipeDataKey(data, data.reference, v.baseDir) };
  const inputs = { split, reference: data.reference, n, seed, metrics, featureNet: featureNet.digest, eval: libraryVersion(), ...identity };
  const { value } = await ctx.store.produceJson(
    'floor',
    ctx.store.key('floor', inputs),
    async () => {
      const heldOut = loadRecipeData(data, split, v.baseDir);
      if (n > heldOut.size) return [];
      return evaluate({ dataset: heldOut }, { metrics, samples: n, seed, reference: ctx.reference(), featureNet, cacheDir: ctx.store.root, recipeHash: v.hash });
    },
    inputs,
  );
  return { seed, rows: value };
}

/** The message a worker sends its parent for each unit it computed (not read back from the store). */
interface ComputedMessage {
  computed: number;
}

/** Runs the worker processes; resolves with the orders of the units they computed. */
function runWorkers(options: RunOptions, log: RunLog): Promise<Set<number>> {
  const jobs = options.jobs ?? 1;
  if (!options.workerEntry) throw new Error('runRecipe: jobs > 1 needs a workerEntry script');
  const children: ChildProcess[] = [];
  const waits: Promise<void>[] = [];
  const computed = new Set<number>();
  for (let w = 1; w <= jobs; w++) {
    const child = fork(options.workerEntry, [...(options.workerArgs ?? []), `--worker=${w}`], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // 'close', not 'exit': it comes after the IPC channel is drained, so no unit's message is missed.
    child.on('message', (m: Partial<ComputedMessage>) => {
      if (typeof m?.computed === 'number') computed.add(m.computed);
    });
    children.push(child);
    waits.push(
      new Promise((resolve) => {
        child.on('close', (code) => {
          if (code !== 0) log.line(`worker ${w} exited with code ${code}; its unfinished units are run here`);
          resolve();
        });
      }),
    );
  }
  // Ctrl-C or a job scheduler's SIGTERM stops the workers and the run (what they finished stays in the store).
  const stop = (signal: NodeJS.Signals): void => {
    children.forEach((c) => c.kill('SIGTERM'));
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return Promise.all(waits).then(() => {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    return computed;
  });
}

/** A run log that keeps the claim of the unit being computed alive; see {@link claimKeeper}. */
interface ClaimKeeper {
  /** The log to give the unit: its progress callback refreshes the claim held. */
  log: RunLog;
  /** The claim of the unit now computed (null between units). */
  hold(claim: FileLock | null): void;
}

/**
 * Wraps a run log so that the claim of the unit being computed is refreshed at least every minute: a claim of another
 * host counts as abandoned after 30 minutes without a refresh, and a unit can take longer. The work is synchronous
 * compute chained by promises, so timers do not fire during it; the sampler's and the methods' progress callbacks
 * are where the refresh happens. `beforeProgress` runs first (a worker checks there that its parent still exists).
 */
function claimKeeper(log: RunLog, beforeProgress: () => void = () => undefined): ClaimKeeper {
  let held: FileLock | null = null;
  let refreshedAt = Date.now();
  return {
    log: {
      line: (text) => log.line(text),
      progress: (label, done, total, unit) => {
        beforeProgress();
        if (held && Date.now() - refreshedAt > 60_000) {
          held.refresh();
          refreshedAt = Date.now();
        }
        log.progress(label, done, total, unit);
      },
    },
    hold: (claim) => {
      held = claim;
      refreshedAt = Date.now();
    },
  };
}

/**
 * Runs a validated recipe: every (cell, seed) unit of the shard — base model, pipeline steps, evaluation at the
 * recipe's positions — reusing whatever the store already holds, so a killed run resumes where it stopped and a
 * repeated run only collects. A unit that throws is recorded as failed and the others go on.
 *
 * @example
 * ```ts
 * const v = loadRecipe('apps/experiments/recipes/default.yaml', { registry: builtinRegistry() });
 * const summary = await runRecipe(v, { store: new ArtifactStore(defaultStoreDir()) });
 * writeReport(summary, 'runs/default');
 * ```
 */
export async function runRecipe(v: ValidatedRecipe, options: RunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const log = options.log ?? consoleLog();
  const { store } = options;
  const units = planUnits(v, options.shard);
  const runtime = runtimeSettings(v.recipe.runtime);
  if (runtime.fallback) log.line(`runtime: onnx asked for, but ${runtime.fallback}; sampling and evaluating on tfjs`);
  const before = finishedUnits(v, units, store);
  const reusedBefore = before.filter(Boolean).length;
  log.line(`${v.recipe.name}: ${units.length} unit${units.length === 1 ? '' : 's'}${options.shard ? ` (shard ${options.shard.index}/${options.shard.count})` : ''}, ${reusedBefore} already finished in ${store.root}`);
  // Units computed by this run: by its workers (they say which), or here. Everything else is read from the store.
  let computedBy = new Set<number>();
  const finishedOnly = options.finishedOnly === true;
  if (finishedOnly) log.line(`finished only: ${units.length - reusedBefore} unit${units.length - reusedBefore === 1 ? '' : 's'} not in the store stay pending`);
  if (!finishedOnly && (options.jobs ?? 1) > 1 && reusedBefore < units.length) {
    log.line(`starting ${options.jobs} worker processes`);
    computedBy = await runWorkers(options, log);
  }
  const keeper = claimKeeper(log);
  const ctx = await unitContext(v, store, keeper.log);
  const outcomes = new Map<number, { result: UnitResult } | { error: string }>();
  const what = (i: number): string => {
    const unit = units[i];
    return `unit ${i + 1}/${units.length} (cell ${unit.cell.index}${Object.keys(unit.cell.params).length ? `: ${JSON.stringify(unit.cell.params)}` : ''}, seed ${unit.seed})`;
  };
  const index = new Map(units.map((u, i) => [u.order, i]));
  // Under claims, like the workers: processes sharing the store (other shards, other array jobs) compute different
  // units side by side, and a unit another process is computing is waited for and read back, not computed twice.
  await runClaimed(store, finishedOnly ? units.filter((_, i) => before[i]) : units, unitKey.bind(null, v), async (unit, claim) => {
    const i = index.get(unit.order) as number;
    keeper.hold(claim);
    try {
      const { result, reused } = await runUnit(v, unit, ctx);
      outcomes.set(unit.order, { result });
      if (!reused) computedBy.add(unit.order);
      const how = before[i] ? 'reused from the store' : !reused ? 'done' : computedBy.has(unit.order) ? 'finished by a worker' : 'reused from the store (finished by another process)';
      log.line(`${what(i)}: ${how}`);
    } catch (err) {
      // Unreadable data fails every unit alike: stop the run with it rather than fail each unit in turn.
      if (err instanceof RecipeDataError) throw err;
      outcomes.set(unit.order, { error: (err as Error).message });
      log.line(`${what(i)}: FAILED — ${(err as Error).message}`);
    } finally {
      keeper.hold(null);
    }
  });
  const results: UnitResult[] = [];
  const failed: RunSummary['failed'] = [];
  const pending: PendingUnit[] = [];
  for (const unit of units) {
    const o = outcomes.get(unit.order);
    if (o && 'result' in o) results.push(o.result);
    else if (!o && finishedOnly) pending.push({ order: unit.order, params: unit.cell.params, seed: unit.seed });
    else failed.push({ order: unit.order, params: unit.cell.params, seed: unit.seed, error: o?.error ?? 'not run' });
  }
  const computed = results.filter((r) => computedBy.has(r.order)).length;
  // Without a feature network (paired metrics only) there is nothing to compare real images in.
  const { featureNet } = ctx;
  const floor = v.recipe.eval.floor && featureNet ? await Promise.all(v.recipe.seeds.map((s) => floorRows(v, ctx, featureNet, s))) : [];
  ctx.featureNet?.dispose();
  const info = engineInfo();
  const reused = results.length - computed;
  log.line(`${computed} unit${computed === 1 ? '' : 's'} computed, ${reused} reused, ${failed.length} failed`);
  return {
    recipe: v, units: units.length, computed, reused, results, failed, ...(finishedOnly ? { pending } : {}), floor, seconds: (performance.now() - t0) / 1000,
    backend: info ? `${info.backend}${info.simd ? ' (SIMD)' : ''}, ${info.threads} thread${info.threads === 1 ? '' : 's'}` : 'unknown', shard: options.shard,
    runtime: runtimeSummary(runtime),
  };
}

/**
 * The body of a `--jobs` worker process: runs all units of the shard in order with work sharing, logging with a
 * `[w<k>]` prefix; the parent collects the results afterwards. The worker exits when its parent disappears.
 */
export async function runWorker(v: ValidatedRecipe, store: ArtifactStore, worker: number, shard?: Shard): Promise<void> {
  const printer = consoleLog({ prefix: `[w${worker}] ` });
  // A worker whose parent was killed must not run on as an orphan. IPC 'disconnect' events are not delivered during
  // the synchronous work, so the worker checks at each progress callback (its parent pid changes when it is
  // re-parented).
  const parent = process.ppid;
  const keeper = claimKeeper(printer, () => {
    if (process.ppid !== parent) {
      printer.line('the parent process is gone; stopping');
      process.exit(1);
    }
  });
  const log = keeper.log;
  const ctx = await unitContext(v, store, log);
  await runClaimed(store, planUnits(v, shard), unitKey.bind(null, v), async (unit, lock) => {
    keeper.hold(lock);
    try {
      const { reused } = await runUnit(v, unit, ctx);
      if (!reused) process.send?.({ computed: unit.order } satisfies ComputedMessage);
      log.line(`cell ${unit.cell.index} seed ${unit.seed}: ${reused ? 'already finished' : 'done'}`);
    } catch (err) {
      if (err instanceof RecipeDataError) throw err;
      log.line(`cell ${unit.cell.index} seed ${unit.seed}: FAILED — ${(err as Error).message}`);
    } finally {
      keeper.hold(null);
    }
  });
  ctx.featureNet?.dispose();
}

/**
 * Runs `units` in order, each under its claim `<store>/claims/<key>.lock`, so that processes sharing a store compute
 * different units side by side instead of one waiting for the other's compression step: a unit another process has
 * claimed is passed over, and taken up at the end once that process lets go — usually finished by then (`run` then
 * only reads it back), otherwise (it failed or died) computed here.
 */
export async function runClaimed<U>(store: ArtifactStore, units: readonly U[], key: (unit: U, store: ArtifactStore) => string, run: (unit: U, claim: FileLock) => Promise<void>): Promise<void> {
  const claimed = async (unit: U, lock: FileLock): Promise<void> => {
    try {
      await run(unit, lock);
    } finally {
      lock.release();
    }
  };
  const passed: Array<{ unit: U; claim: string }> = [];
  for (const unit of units) {
    const claim = path.join(store.root, 'claims', `${key(unit, store)}.lock`);
    const lock = tryLock(claim);
    if (lock) await claimed(unit, lock);
    else passed.push({ unit, claim });
  }
  for (const { unit, claim } of passed) await claimed(unit, await acquireLock(claim));
}

/** The default run folder of a recipe: its `output.dir`, else `runs/<name>` in the working folder. */
export function defaultOutDir(v: ValidatedRecipe, cwd: string = process.cwd()): string {
  return path.resolve(cwd, v.recipe.output?.dir ?? path.join('runs', v.recipe.name));
}
