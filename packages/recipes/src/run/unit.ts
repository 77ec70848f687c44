import * as fs from 'fs';
import * as path from 'path';
import { engineInfo } from '@diffpress/core';
import { ArrayDataset, samplerKey, unetLayerInventory } from '@diffpress/diffusion';
import {
  CostTotals, FeatureNetwork, LatencyReport, METRICS, ResultRow, SamplingModel, accountEfficiency, canonicalSampler, drawSamples, evaluate, libraryVersion, measureLatency, moduleDigest, samplerLabel,
} from '@diffpress/eval';
import { RunUnit } from '../ablation/expand';
import { samplerSettings } from '../recipe/schema';
import { ResolvedCell } from '../recipe/resolved';
import { ValidatedRecipe } from '../recipe/validate';
import { ArtifactStore } from '../store/store';
import { StageData, StageRecord, StagedModel, applyStep, positionSampler } from './apply-step';
import { baseModelKey, loadBaseModel } from './model-stages';
import { RunLog } from './progress';
import { RuntimeSettings, onRuntime, runtimeKey, runtimeSettings } from './runtime';

/** Version of this package (part of every unit key: a new runner recomputes). */
export function recipesVersion(): string {
  return (JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** Efficiency of a model in both accountings (eval package; the binarization spec §3). */
export interface PositionEfficiency {
  /** Paper-style totals. */
  paper: CostTotals;
  /** As-implemented totals. */
  asImplemented: CostTotals;
  /** Number of layers below 32 bits. */
  quantizedLayers: number;
}

/**
 * Sampling time of a model measured in isolation (evaluation spec §5): whole sampler runs of a small fixed batch
 * ({@link SAMPLING_TIME_BATCH} samples) through the model's hooks on the unit's runtime, after an untimed warm-up
 * run, timed {@link SAMPLING_TIME_REPEATS} times; the median per sample. Not the wall-clock of drawing the evaluation
 * set, which shares the machine with whatever else runs (other workers, metric computation, sample-cache IO).
 */
export interface SamplingTime {
  /** Sampler of the timed runs, e.g. `ddim-20`. */
  sampler: string;
  /** Runtime the runs were timed on, as `measureLatency` names it: tfjs's backend, or onnxruntime-node with its threads and export. */
  backend: string;
  /** Samples per timed run. */
  batch: number;
  /** Untimed warm-up runs before timing. */
  warmup: number;
  /** Median seconds per sample over the timed runs. */
  secondsPerSample: number;
  /** Seconds per sample of each timed run. */
  times: number[];
}

/** Samples per timed sampling run of {@link SamplingTime}: small, so timing adds little to a run (and fixed, so rows compare). */
export const SAMPLING_TIME_BATCH = 8;

/** Timed sampling runs of {@link SamplingTime} (the median of at least 5 is what the evaluation spec asks for). */
export const SAMPLING_TIME_REPEATS = 5;

/** The evaluation of one model at one pipeline position of one unit. */
export interface PositionResult {
  /** `baseline` (the FP model), `after:<i>` or `final`. */
  position: string;
  /** `FP`, or the applied method ids joined by ` → `. */
  label: string;
  /** Key of the evaluated model (file digest or artifact key). */
  modelKey: string;
  /** Sample-cache key of the hook chain, if steps contributed hooks (the field keeps its pre-hook name in stored results). */
  policyKey: string | null;
  /** Sampler label of this position when a step returned a student sampler (absent: the unit's sampler). */
  sampler?: string;
  /** Sampler steps of this position when a step returned a student sampler (absent: the unit's). */
  steps?: number;
  /** Key of the sample set (grids read it back). */
  sampleKey: string;
  /** Metric rows (evaluation spec §1). */
  rows: ResultRow[];
  /** Analytic efficiency. */
  efficiency: PositionEfficiency;
  /** Measured UNet call latency (null when the recipe turns it off). */
  latency: Pick<LatencyReport, 'backend' | 'threads' | 'batchSize' | 'msPerCall' | 'msPerCallPerSample' | 'peakBytes'> | null;
  /**
   * Wall-clock seconds per sample of drawing the evaluation set (summed over chunks, so independent of caching),
   * under whatever load the machine had: not a cost figure — {@link PositionResult.sampling} is.
   */
  secondsPerSample: number;
  /** Sampling time measured in isolation (absent when the recipe turns latency off, and in results stored before it existed). */
  sampling?: SamplingTime;
  /** The pipeline steps up to this position: their `apply` wall-clock and their report tables. */
  stages: StageRecord[];
}

/** Everything one (cell, seed) unit produced. */
export interface UnitResult {
  /** Unit order (the basis of sharding). */
  order: number;
  /** Ablation cell index. */
  cell: number;
  /** Axis values of the cell. */
  params: Record<string, unknown>;
  /** Seed. */
  seed: number;
  /** Sampler label. */
  sampler: string;
  /** Sampler steps (plots of quality against steps). */
  steps: number;
  /** Samples per evaluation. */
  samples: number;
  /** Key of the base model (a file digest, or the training stage's artifact key). */
  base: string;
  /** One entry per evaluated position, pipeline order. */
  positions: PositionResult[];
}

/** A unit's result and whether it came from the store. */
export interface UnitOutcome {
  /** The result. */
  result: UnitResult;
  /** True when a previous run (or another worker) had finished it. */
  reused: boolean;
}

/** Shared, loaded-once inputs of the units of a run. */
export interface UnitContext {
  /** The store. */
  store: ArtifactStore;
  /** Run log. */
  log: RunLog;
  /** Reference split of the feature metrics, loaded on first use (paired-only runs never load it). */
  reference: () => ArrayDataset;
  /** Shape of one sample of the data, as the models see it. */
  shape: readonly number[];
  /** Feature network (absent when no metric of the run needs one). */
  featureNet?: FeatureNetwork;
  /** The recipe's training data, for steps that read it. */
  data: StageData;
}

/** Format of a stored {@link UnitResult}; part of the unit key, so results of an older format are recomputed. */
export const UNIT_RESULT_FORMAT = 3;

/** The key of a unit's result: the cell's recipe, the seed, the base weights and every producing version. */
export function unitKey(v: ValidatedRecipe, unit: RunUnit<ResolvedCell>, store: ArtifactStore): string {
  const { cell } = unit;
  const recipe: Partial<typeof cell.recipe> = { ...cell.recipe };
  delete recipe.output;
  delete recipe.description;
  // Comparisons are computed by the report from the units' results; they change nothing a unit computes.
  delete recipe.compare;
  // The runtime as it will run here (onnx falls back to tfjs where onnxruntime is missing), without its threads.
  delete recipe.runtime;
  const runtime = runtimeKey(runtimeSettings(cell.recipe.runtime));
  return store.key('unit', {
    recipe,
    steps: cell.steps.map((s) => ({ id: s.method.id, version: s.method.version, config: s.config })),
    seed: unit.seed,
    ...(runtime ? { runtime } : {}),
    base: baseModelKey(cell.recipe, store, v.baseDir).key,
    versions: { recipes: recipesVersion(), eval: libraryVersion(), unitFormat: UNIT_RESULT_FORMAT },
  });
}

async function evaluatePosition(
  staged: StagedModel,
  base: StagedModel,
  position: string,
  label: string,
  unit: RunUnit<ResolvedCell>,
  v: ValidatedRecipe,
  ctx: UnitContext,
): Promise<PositionResult> {
  const { cell } = unit;
  const runtime = runtimeSettings(cell.recipe.runtime);
  const subject = onRuntime(staged.model, runtime);
  const reference = staged === base ? subject : onRuntime(base.model, runtime);
  try {
    return await evaluateOn(subject.model, reference.model, runtime, staged, base, position, label, unit, v, ctx);
  } finally {
    subject.release();
    if (reference !== subject) reference.release();
  }
}

/** {@link evaluatePosition} with the model and the FP reference on the unit's runtime. */
async function evaluateOn(
  model: SamplingModel,
  baseModel: SamplingModel,
  runtime: RuntimeSettings,
  staged: StagedModel,
  base: StagedModel,
  position: string,
  label: string,
  unit: RunUnit<ResolvedCell>,
  v: ValidatedRecipe,
  ctx: UnitContext,
): Promise<PositionResult> {
  const { cell } = unit;
  const { eval: ev } = cell.recipe;
  const sampler = positionSampler(staged, samplerSettings(cell.recipe.sample));
  const shape = [...ctx.shape];
  const task = `cell ${cell.index} seed ${unit.seed} ${label} ${samplerLabel(sampler)}${runtime.kind === 'onnx' ? ' (onnx)' : ''}`;
  // Start the clock of the progress line now, so its first update already has a rate (and an ETA).
  ctx.log.progress(task, 0, ev.samples, 'samples');
  const set = drawSamples({
    model, sampler, seed: unit.seed, count: ev.samples, shape, cacheDir: ctx.store.root, batchSize: cell.recipe.sample.batchSize,
    // Always shared: another process (a worker, a shard, a second user of the store) may draw the same chunks.
    hooks: staged.hooks, hooksKey: staged.hooksKey, share: true,
    onProgress: (done, total) => ctx.log.progress(task, done, total, 'samples'),
    onStepProgress: (done, total) => ctx.log.progress(task, done, total, 'samples'),
  });
  // The FP reference of the paired metrics: sampled at eval.pairedSteps when the recipe sets it; a student (own
  // sampler) against FP as the recipe samples it; else the row's own sampler.
  const recipeSampler = samplerSettings(cell.recipe.sample);
  const pairedSampler = ev.pairedSteps != null ? { ...recipeSampler, steps: ev.pairedSteps } : staged.sampler ? recipeSampler : undefined;
  // Paired metrics compare a model with the FP model; for the FP model against itself they are 0 by definition, so
  // they are left out of its row instead of spending two sampling passes on it.
  const selfReference = staged === base && samplerKey(pairedSampler ?? sampler) === samplerKey(sampler);
  const metrics = selfReference ? ev.metrics.filter((m) => METRICS[m]?.input !== 'paired') : ev.metrics;
  const paired = metrics.some((m) => METRICS[m]?.input === 'paired');
  const needsReference = metrics.some((m) => METRICS[m]?.input !== 'paired');
  const rows = metrics.length === 0 ? [] : await evaluate(model, {
    metrics, samples: ev.samples, seed: unit.seed, sampler, shape, reference: needsReference ? ctx.reference() : undefined, featureNet: ctx.featureNet,
    cacheDir: ctx.store.root, hooks: staged.hooks, hooksKey: staged.hooksKey, batchSize: cell.recipe.sample.batchSize, shareSamples: true,
    pairedReference: paired ? baseModel : undefined, pairedSampler: paired ? pairedSampler : undefined, epsMseSamples: ev.epsMseTrajectories,
    recipeHash: v.hash, cell: { ...cell.params, position },
  });
  const layers = unetLayerInventory(staged.model.unet.plan);
  const bits = new Map(Object.entries(staged.bitWidths));
  const efficiency: PositionEfficiency = {
    paper: accountEfficiency(layers, { bits, style: 'paper' }),
    asImplemented: accountEfficiency(layers, { bits, style: 'as-implemented' }),
    quantizedLayers: Object.values(staged.bitWidths).filter((b) => b.weightBits < 32 || b.activationBits < 32).length,
  };
  // Strip the per-layer lists: the unit result keeps totals only.
  for (const e of [efficiency.paper, efficiency.asImplemented] as Array<CostTotals & { layers?: unknown; byPart?: unknown }>) {
    delete e.layers;
  }
  let latency: PositionResult['latency'] = null;
  let sampling: SamplingTime | undefined;
  if (ev.latency) {
    // The runtime (and its threads) that the latency is measured on.
    const backend = runtime.kind === 'onnx' ? `onnx/${runtime.threads}/${runtime.quantization}` : (engineInfo()?.backend ?? 'unknown');
    // With hooks the timed call is the sampler's first step (per-step methods only run at their steps).
    const hooked = staged.hooks.length > 0;
    const inputs = { model: staged.key, policy: staged.hooksKey ?? null, backend, batchSize: 16, ...(hooked || staged.sampler ? { step: canonicalSampler(sampler) } : {}) };
    latency = (
      await ctx.store.produceJson('latency', ctx.store.key('latency', inputs), async () => {
        const r = await measureLatency(model, { shape, batchSize: 16, hooks: staged.hooks, stepSampler: sampler });
        return { backend: r.backend, threads: r.threads, batchSize: r.batchSize, msPerCall: r.msPerCall, msPerCallPerSample: r.msPerCallPerSample, peakBytes: r.peakBytes };
      }, inputs)
    ).value;
    const timing = { model: staged.key, policy: staged.hooksKey ?? null, backend, sampler: canonicalSampler(sampler), batch: SAMPLING_TIME_BATCH, repeats: SAMPLING_TIME_REPEATS, warmup: 1 };
    sampling = (
      await ctx.store.produceJson('sampling-time', ctx.store.key('sampling-time', timing), async () => {
        ctx.log.line(`${task}: timing ${SAMPLING_TIME_REPEATS} sampling runs of ${SAMPLING_TIME_BATCH} samples`);
        const r = await measureLatency(model, {
          shape, batchSize: SAMPLING_TIME_BATCH, repeats: SAMPLING_TIME_REPEATS, warmup: timing.warmup, sampler, sampleBatch: SAMPLING_TIME_BATCH, hooks: staged.hooks, stepSampler: sampler,
        });
        const times = (r.sampleTimes ?? []).map((ms) => ms / 1000);
        return { sampler: samplerLabel(sampler), backend: r.backend, batch: SAMPLING_TIME_BATCH, warmup: timing.warmup, secondsPerSample: (r.msPerSample ?? NaN) / 1000, times };
      }, timing)
    ).value;
  }
  return {
    position, label, modelKey: staged.key, policyKey: staged.hooksKey ?? null, ...(staged.sampler ? { sampler: samplerLabel(sampler), steps: sampler.steps } : {}), sampleKey: set.key, rows, efficiency, latency,
    secondsPerSample: set.seconds / set.count,
    ...(sampling ? { sampling } : {}),
    stages: staged.stages,
  };
}

/**
 * Runs one (cell, seed) unit: the base model, the pipeline steps (each an artifact), and the evaluation at the
 * recipe's positions — or reads its result from the store when a previous run (or another worker) finished it.
 */
export async function runUnit(v: ValidatedRecipe, unit: RunUnit<ResolvedCell>, ctx: UnitContext): Promise<UnitOutcome> {
  const key = unitKey(v, unit, ctx.store);
  if (ctx.store.has('unit', key)) return { result: ctx.store.readJson<UnitResult>('unit', key, 'value.json'), reused: true };
  const { cell } = unit;
  const positions = new Set(cell.recipe.eval.positions);
  const base = await loadBaseModel(cell.recipe, ctx.store, v.baseDir, ctx.log);
  const staged: StagedModel[] = [base];
  const results: PositionResult[] = [];
  try {
    // Without steps the base model is also the final one: evaluated once, as the baseline.
    if (positions.has('baseline') || (cell.steps.length === 0 && positions.has('final'))) {
      results.push(await evaluatePosition(base, base, 'baseline', 'FP', unit, v, ctx));
    }
    // The base model is every step's frozen teacher and the paired metrics' reference: no step may change it.
    const baseDigest = cell.steps.length > 0 ? moduleDigest(base.model.unet) : '';
    for (let i = 0; i < cell.steps.length; i++) {
      const next = await applyStep(staged[staged.length - 1], cell.steps[i], i, {
        seed: unit.seed, sampler: samplerSettings(cell.recipe.sample), teacher: base.model, data: ctx.data, store: ctx.store, log: ctx.log,
      });
      staged.push(next);
      if (moduleDigest(base.model.unet) !== baseDigest) {
        throw new Error(`pipeline[${i}] ${cell.steps[i].method.id} changed the FP base model (every step's teacher and the baseline); a step must train or change a copy`);
      }
      const last = i === cell.steps.length - 1;
      const label = cell.steps.slice(0, i + 1).map((s) => s.method.id).join(' → ');
      if (positions.has(`after:${i}`) || (last && positions.has('final'))) {
        results.push(await evaluatePosition(next, base, last && positions.has('final') ? 'final' : `after:${i}`, label, unit, v, ctx));
      }
    }
  } finally {
    const unets = new Set(staged.map((s) => s.model.unet));
    for (const u of unets) u.dispose();
  }
  const sampler = samplerSettings(cell.recipe.sample);
  const result: UnitResult = {
    order: unit.order, cell: cell.index, params: cell.params, seed: unit.seed, sampler: samplerLabel(sampler), steps: sampler.steps,
    samples: cell.recipe.eval.samples, base: base.key, positions: results,
  };
  const stored = await ctx.store.produceJson('unit', key, async () => result, { order: unit.order, params: cell.params, seed: unit.seed });
  return { result: stored.value, reused: false };
}
