import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { AnyModule, Dropout, RawTensor, Rng, rawFromFloat32, readCheckpoint, stateToRaw, writeJsonAtomic, writeSafetensorsFile } from '@diffpress/core';
import { Ema } from './ema';
import { LrScheduleConfig, learningRate } from './lr-schedule';
import { AdamOptions, AdamW } from './optimizer';

/** What a loss function gets besides the model and the batch. */
export interface TrainContext {
  /** 0-based index of the update being computed. */
  step: number;
  /** The run's seed. */
  seed: number;
  /** A generator private to this step: `Rng(seed, 'train/step-<step>')`, the same on every resume. */
  rng: Rng;
}

/**
 * The pluggable objective: a scalar loss for `batch` at `step`. Diffusion training, QAT and distillation differ only
 * here. Randomness must come from `ctx` (or be keyed by `ctx.step`) for resumes to be exact.
 */
export type LossFn<M, B> = (model: M, batch: B, ctx: TrainContext) => tf.Scalar;

/** One line of the JSONL training log. */
export interface TrainLogEntry {
  /** 1-based count of updates done (the entry describes update `step − 1`). */
  step: number;
  /** Loss of the update. */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Seconds the update took. */
  seconds: number;
  /** Validation figures, on steps where validation ran. */
  validation?: Record<string, number>;
}

/** Periodic validation of a {@link Trainer} run. */
export interface ValidationOptions<M> {
  /** Validate after every this many updates. */
  every: number;
  /** Computes named figures (e.g. held-out loss) for the model after `step` updates. */
  run: (model: M, step: number) => Record<string, number>;
}

/** Options of {@link Trainer}. */
export interface TrainerOptions<M extends AnyModule, B> {
  /** The model; its trainable parameters are optimised. */
  model: M;
  /** Objective (see {@link LossFn}). */
  loss: LossFn<M, B>;
  /** Batch for update `step`: must be a pure function of `step` for exact resumes (see `datasetBatches`). */
  batches: (step: number) => B;
  /** Frees a batch after its update (default: disposes every tensor found in it). */
  disposeBatch?: (batch: B) => void;
  /** Total number of updates. */
  steps: number;
  /** Seed of all training randomness. */
  seed: number;
  /** Learning-rate schedule. */
  lr: LrScheduleConfig;
  /** Adam/AdamW settings (default Adam without decay). */
  optimizer?: AdamOptions;
  /** EMA decay, or `null` for none (default 0.999). */
  emaDecay?: number | null;
  /** Clip the global gradient norm to this value (default: no clipping). */
  clipGradNorm?: number | null;
  /** Run folder: `latest.json`, `checkpoints/step-XXXXXXX/`, `log.jsonl`. */
  dir: string;
  /** Write a checkpoint every this many updates (default 500) and at the end. */
  checkpointEvery?: number;
  /** Checkpoints kept on disk, newest first (default 2). */
  keepCheckpoints?: number;
  /** Print a progress line every this many updates (default 50). */
  logEvery?: number;
  /** Where progress lines go (default `console.log`). */
  log?: (line: string) => void;
  /** Called after every update with the updates done and the total (a run's progress bar). */
  onProgress?: (done: number, total: number) => void;
  /** Periodic validation, in eval mode; its figures go into the log and the progress line. */
  validate?: ValidationOptions<M>;
  /** Extra entries saved in every checkpoint's `state.json` (e.g. model config); must match on resume. */
  runConfig?: Record<string, unknown>;
  /** Stop after this many updates in this call (checkpointing first), leaving the run resumable. */
  stopAfter?: number;
  /** Resume from `dir/latest.json` when present (default true). */
  resume?: boolean;
}

/** Result of {@link Trainer.run}. */
export interface TrainResult {
  /** Updates done in total (including earlier, resumed runs). */
  step: number;
  /** Whether all `steps` are done. */
  finished: boolean;
  /** Step the run resumed from (0 for a fresh run). */
  resumedFrom: number;
  /** Mean loss over the last logging window. */
  lastLoss: number;
  /** Wall-clock seconds of this call. */
  seconds: number;
  /** Path of the last checkpoint written. */
  checkpoint: string;
}

/** Contents of `state.json` in each checkpoint. */
interface CheckpointState {
  format: 1;
  step: number;
  seed: number;
  /** Randomness is keyed by (seed, step), so this is the whole generator state. */
  rng: { seed: number; stream: string; step: number };
  optimizerStep: number;
  trainedSeconds: number;
  runConfig: Record<string, unknown>;
}

/** Thrown when the loss or gradient becomes NaN/Inf; the last good checkpoint is left untouched. */
export class TrainingDivergedError extends Error {
  /**
   * @param step - The 0-based update at which it happened.
   * @param lastGood - Path of the last good checkpoint, or `null` if none was written.
   */
  constructor(
    readonly step: number,
    readonly lastGood: string | null,
    what: string,
  ) {
    super(
      `training diverged at update ${step}: ${what}. Nothing was applied from that update; ` +
        (lastGood ? `the last good checkpoint is ${lastGood}. Lower the learning rate or enable gradient clipping, then resume.` : 'no checkpoint had been written yet.'),
    );
    this.name = 'TrainingDivergedError';
  }
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

function disposeDeep(value: unknown): void {
  if (value instanceof tf.Tensor) value.dispose();
  else if (Array.isArray(value)) value.forEach(disposeDeep);
  else if (value && typeof value === 'object') Object.values(value).forEach(disposeDeep);
}

function tensorsToRaw(tensors: ReadonlyMap<string, tf.Tensor>): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [k, t] of tensors) out.set(k, rawFromFloat32(t.dataSync() as Float32Array, t.shape));
  return out;
}

/**
 * A resumable training loop shared by FP training, QAT and distillation: Adam/AdamW, learning-rate schedule, EMA,
 * global-norm gradient clipping, periodic checkpoints (weights + EMA + optimizer moments + step + RNG state as
 * safetensors/JSON), exact resume, a NaN/Inf guard, progress lines with ETA and a JSONL log.
 *
 * Exactness: every random draw of update k is keyed by (seed, k) — the batch (see `datasetBatches`), the loss's
 * noise (via {@link TrainContext}) and dropout masks (reseeded per step and layer path) — so a run killed after
 * checkpoint k and resumed computes bit-identical updates k, k+1, … to an uninterrupted run.
 *
 * @example
 * ```ts
 * const trainer = new Trainer({
 *   model: unet, loss: diffusionLoss({ schedule, prediction: 'eps' }),
 *   batches: datasetBatches(loadMnist(), 32, 0), steps: 20000, seed: 0,
 *   lr: { lr: 5e-4, warmupSteps: 500, decay: 'cosine', totalSteps: 20000 }, dir: 'runs/unet-mnist-s-eps',
 * });
 * await trainer.run(); // resumes automatically if runs/unet-mnist-s-eps/latest.json exists
 * ```
 */
export class Trainer<M extends AnyModule, B> {
  /** The optimizer (its moments are checkpointed). */
  readonly optimizer: AdamW;
  /** The EMA of the parameters, or `null`. */
  readonly ema: Ema | null;
  private readonly params: Map<string, tf.Variable>;
  private readonly log: (line: string) => void;
  private stepDone = 0;
  private trainedSeconds = 0;
  private lastCheckpoint: string | null = null;

  /** @param options - See {@link TrainerOptions}. */
  constructor(readonly options: TrainerOptions<M, B>) {
    if (!Number.isInteger(options.steps) || options.steps < 1) throw new RangeError(`Trainer: steps must be a positive integer, got ${options.steps}`);
    this.params = new Map(options.model.namedParameters().filter(([, v]) => v.trainable));
    if (this.params.size === 0) throw new Error('Trainer: the model has no trainable parameters');
    this.optimizer = new AdamW({ decoupled: true, ...options.optimizer });
    const decay = options.emaDecay === undefined ? 0.999 : options.emaDecay;
    this.ema = decay == null ? null : new Ema(this.params, decay);
    this.log = options.log ?? ((line) => console.log(line));
  }

  /** Updates done so far. */
  get step(): number {
    return this.stepDone;
  }

  /** Path of `latest.json` in the run folder. */
  get latestFile(): string {
    return path.join(this.options.dir, 'latest.json');
  }

  /** Path of the JSONL log. */
  get logFile(): string {
    return path.join(this.options.dir, 'log.jsonl');
  }

  /**
   * Trains until `steps` updates are done (or `stopAfter` in this call), resuming from the run folder's latest
   * checkpoint when there is one.
   *
   * @throws TrainingDivergedError on a NaN/Inf loss or gradient.
   */
  async run(): Promise<TrainResult> {
    const o = this.options;
    fs.mkdirSync(o.dir, { recursive: true });
    const resumedFrom = o.resume === false ? 0 : this.tryResume();
    if (resumedFrom > 0) this.log(`[train] resumed from ${this.lastCheckpoint} at update ${resumedFrom}/${o.steps}`);
    this.truncateLog(resumedFrom);
    const logEvery = o.logEvery ?? 50;
    const checkpointEvery = o.checkpointEvery ?? 500;
    const stopAt = Math.min(o.steps, o.stopAfter != null ? resumedFrom + o.stopAfter : o.steps);
    const started = Date.now();
    let windowLoss = 0;
    let windowCount = 0;
    let lastLoss = NaN;
    let windowStart = Date.now();
    o.model.train();
    while (this.stepDone < stopAt) {
      const step = this.stepDone;
      const t0 = Date.now();
      const entry = this.update(step);
      entry.seconds = (Date.now() - t0) / 1000;
      this.stepDone += 1;
      this.trainedSeconds += entry.seconds;
      windowLoss += entry.loss;
      windowCount += 1;
      if (o.validate && this.stepDone % o.validate.every === 0) entry.validation = this.runValidation();
      fs.appendFileSync(this.logFile, JSON.stringify(entry) + '\n');
      o.onProgress?.(this.stepDone, o.steps);
      const atEnd = this.stepDone === stopAt;
      if (this.stepDone % checkpointEvery === 0 || atEnd) this.saveCheckpoint();
      if (this.stepDone % logEvery === 0 || atEnd) {
        lastLoss = windowLoss / windowCount;
        const perStep = (Date.now() - windowStart) / 1000 / windowCount;
        const val = entry.validation ? ' ' + Object.entries(entry.validation).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(' ') : '';
        this.log(
          `[train] step ${this.stepDone}/${o.steps} loss ${lastLoss.toPrecision(4)} lr ${entry.lr.toExponential(2)} |g| ${entry.gradNorm.toPrecision(3)} ` +
            `${perStep.toFixed(2)} s/step ETA ${formatDuration(perStep * (o.steps - this.stepDone))}${val}`,
        );
        windowLoss = 0;
        windowCount = 0;
        windowStart = Date.now();
      }
      // Yield to the event loop so signals and timers are serviced during long runs.
      if (this.stepDone % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    return {
      step: this.stepDone,
      finished: this.stepDone >= o.steps,
      resumedFrom,
      lastLoss,
      seconds: (Date.now() - started) / 1000,
      checkpoint: this.lastCheckpoint ?? '',
    };
  }

  private update(step: number): TrainLogEntry {
    const o = this.options;
    const ctx: TrainContext = { step, seed: o.seed, rng: new Rng(o.seed, `train/step-${step}`) };
    for (const [p, m] of o.model.namedModules()) if (m instanceof Dropout) m.reseed(ctx.rng.fork(`dropout/${p}`));
    const batch = o.batches(step);
    const varList = [...this.params.values()];
    const byVarName = new Map([...this.params].map(([k, v]) => [v.name, k]));
    let value: tf.Scalar | undefined;
    let grads: tf.NamedTensorMap | undefined;
    try {
      ({ value, grads } = tf.variableGrads(() => o.loss(o.model, batch, ctx), varList));
      const loss = value.dataSync()[0];
      const norm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads as tf.NamedTensorMap).map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
      if (!Number.isFinite(loss)) throw new TrainingDivergedError(step, this.lastCheckpoint, `the loss is ${loss}`);
      if (!Number.isFinite(norm)) throw new TrainingDivergedError(step, this.lastCheckpoint, `the gradient norm is ${norm} (loss ${loss})`);
      const clip = o.clipGradNorm;
      const scale = clip != null && norm > clip ? clip / (norm + 1e-6) : 1;
      const named = new Map<string, tf.Tensor>();
      for (const [vn, g] of Object.entries(grads)) named.set(byVarName.get(vn) as string, scale === 1 ? g : tf.mul(g, scale));
      const lr = learningRate(o.lr, step);
      this.optimizer.apply(this.params, named, lr);
      if (scale !== 1) for (const g of named.values()) g.dispose();
      this.ema?.update(step);
      return { step: step + 1, loss, lr, gradNorm: norm, seconds: 0 };
    } finally {
      value?.dispose();
      if (grads) tf.dispose(Object.values(grads));
      (o.disposeBatch ?? disposeDeep)(batch);
    }
  }

  private runValidation(): Record<string, number> {
    const o = this.options;
    if (!o.validate) return {};
    o.model.eval();
    try {
      return o.validate.run(o.model, this.stepDone);
    } finally {
      o.model.train();
    }
  }

  /** Writes `checkpoints/step-XXXXXXX/` and points `latest.json` at it; prunes old checkpoints. */
  saveCheckpoint(): string {
    const o = this.options;
    const rel = path.join('checkpoints', `step-${String(this.stepDone).padStart(7, '0')}`);
    const dir = path.join(o.dir, rel);
    fs.mkdirSync(dir, { recursive: true });
    const meta = { step: String(this.stepDone) };
    writeSafetensorsFile(path.join(dir, 'model.safetensors'), stateToRaw(o.model), meta);
    if (this.ema) writeSafetensorsFile(path.join(dir, 'ema.safetensors'), tensorsToRaw(this.ema.tensors()), meta);
    writeSafetensorsFile(path.join(dir, 'optimizer.safetensors'), tensorsToRaw(this.optimizer.stateTensors()), meta);
    const state: CheckpointState = {
      format: 1,
      step: this.stepDone,
      seed: o.seed,
      rng: { seed: o.seed, stream: 'train/step-<k>', step: this.stepDone },
      optimizerStep: this.optimizer.step,
      trainedSeconds: this.trainedSeconds,
      runConfig: o.runConfig ?? {},
    };
    writeJsonAtomic(path.join(dir, 'state.json'), state);
    writeJsonAtomic(this.latestFile, { step: this.stepDone, path: rel });
    this.lastCheckpoint = dir;
    this.prune();
    return dir;
  }

  private prune(): void {
    const keep = this.options.keepCheckpoints ?? 2;
    const root = path.join(this.options.dir, 'checkpoints');
    const all = fs.readdirSync(root).filter((d) => /^step-\d+$/.test(d)).sort();
    for (const d of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(path.join(root, d), { recursive: true, force: true });
  }

  private tryResume(): number {
    if (!fs.existsSync(this.latestFile)) return 0;
    const o = this.options;
    const latest = JSON.parse(fs.readFileSync(this.latestFile, 'utf8')) as { step: number; path: string };
    const dir = path.join(o.dir, latest.path);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as CheckpointState;
    if (state.format !== 1) throw new Error(`${dir}: unknown checkpoint format ${String(state.format)}`);
    if (state.seed !== o.seed) throw new Error(`${dir}: checkpoint was trained with seed ${state.seed}, this run has seed ${o.seed}; use another run folder`);
    const want = JSON.stringify(o.runConfig ?? {});
    if (JSON.stringify(state.runConfig) !== want) {
      throw new Error(`${dir}: checkpoint was written by a different configuration (${JSON.stringify(state.runConfig)}); use another run folder or delete it`);
    }
    const model = readCheckpoint(path.join(dir, 'model.safetensors'));
    try {
      o.model.loadStateDict(model.tensors, { strict: true, source: dir });
    } finally {
      tf.dispose([...model.tensors.values()]);
    }
    const opt = readCheckpoint(path.join(dir, 'optimizer.safetensors'));
    this.optimizer.loadState(opt.tensors, state.optimizerStep);
    tf.dispose([...opt.tensors.values()]);
    if (this.ema) {
      const ema = readCheckpoint(path.join(dir, 'ema.safetensors'));
      this.ema.load(ema.tensors);
      tf.dispose([...ema.tensors.values()]);
    }
    this.stepDone = state.step;
    this.trainedSeconds = state.trainedSeconds;
    this.lastCheckpoint = dir;
    return state.step;
  }

  /** Drops log lines of updates after `step` (written by a run that died before its next checkpoint). */
  private truncateLog(step: number): void {
    if (!fs.existsSync(this.logFile)) return;
    const kept = fs
      .readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && (JSON.parse(l) as TrainLogEntry).step <= step);
    fs.writeFileSync(this.logFile, kept.map((l) => l + '\n').join(''));
  }

  /** Seconds spent in updates over the whole run, including resumed parts. */
  get totalTrainedSeconds(): number {
    return this.trainedSeconds;
  }

  /** Frees optimizer and EMA state (not the model). */
  dispose(): void {
    this.optimizer.dispose();
    this.ema?.dispose();
  }
}
