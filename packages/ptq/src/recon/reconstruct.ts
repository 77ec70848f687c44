import * as tf from '@tensorflow/tfjs';
import { MIN_DELTA, Module, Rng } from '@diffpress/core';
import { AdamW, UNet } from '@diffpress/diffusion';
import { AdaRound, AdaRoundSchedule, adaRoundBeta, adaRoundRegularizerOn, unsaturatedShare } from '../quant/adaround';
import { QuantizedUNet, QuantState, setQuantState } from '../quant/quantize-unet';
import { HostTensor, RowSource, captureAt, captureRows, hostRows, rowSize } from './capture';
import { ReconUnit, unitActivationQuantizers } from './units';

/**
 * The reconstruction loss of ptq spec §1: mean over rows and positions of `Σ_channels |pred − target|^p` (BRECQ's
 * `lp_loss` with reduction "none"; channels are the last axis here).
 */
export function reconstructionLoss(pred: tf.Tensor, target: tf.Tensor, p: number): tf.Scalar {
  return tf.tidy(() => {
    const d = tf.abs(tf.sub(pred, target));
    return tf.mean(tf.sum(p === 2 ? tf.square(d) : tf.pow(d, p), -1)) as tf.Scalar;
  });
}

/** Settings of one reconstruction phase. */
export interface ReconOptions {
  /** `weights`: AdaRound over the unit's weight layers; `activations`: learn the unit's activation step sizes. */
  phase: 'weights' | 'activations';
  /** Optimisation steps per unit. */
  iters: number;
  /** Rows per step. */
  batchSize: number;
  /** Adam learning rate (spec: 1e-3 for AdaRound, 4e-4 with cosine decay for activation steps). */
  lr: number;
  /** Loss exponent p (BRECQ: 2 for weights; Q-Diffusion: 2.4 for activations). */
  p: number;
  /** AdaRound regulariser weight λ (default 0.01). */
  lambda?: number;
  /** AdaRound β schedule (warm-up and β range; `iters` is taken from above). */
  beta?: Omit<AdaRoundSchedule, 'iters'>;
  /** Rows per capture pass (default 32). */
  captureBatch?: number;
  /**
   * Most bytes the cached unit inputs and targets of all rows may take (default 1 GiB). Above it, inputs and
   * targets are recomputed for each mini-batch instead (two partial forward passes per step), so memory stays
   * bounded by one mini-batch whatever the calibration size.
   */
  cacheLimitBytes?: number;
  /** Mini-batch sampling generator. */
  rng: Rng;
  /**
   * Held-out rows (see `heldOutRows`): never drawn into a mini-batch; the unit's reconstruction loss, with hard
   * rounding, is measured on them before and after the optimisation. None: the held-out losses are NaN.
   */
  heldOut?: readonly number[];
  /**
   * The FP output of this unit for all rows, when already captured (see `captureOutputs`); used in cached mode
   * instead of capturing it again.
   */
  targets?: HostTensor;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What a unit's reconstruction did. */
export interface UnitReport {
  /** Unit path. */
  path: string;
  /** Optimisation steps run. */
  iters: number;
  /**
   * Training loss on the first mini-batch — the objective as optimised: soft rounding (AdaRound's `h(α)`) for
   * weights; a random mini-batch, so it is noisy. See `heldOutBefore` for the loss that counts.
   */
  lossStart: number;
  /** Training loss on the last mini-batch (soft rounding for weights). */
  lossEnd: number;
  /**
   * Reconstruction loss on the held-out rows before the optimisation, as deployed: weights hard-rounded (at
   * initialisation that is round-to-nearest), activations with their initial step sizes. NaN without held-out rows.
   */
  heldOutBefore: number;
  /** The same after the optimisation (hard-rounded weights, learned step sizes). */
  heldOutAfter: number;
  /**
   * Share of the rounding variables with `h(α)` inside (0.01, 0.99) at initialisation (weights phase; null for the
   * activation phase).
   */
  unsaturatedBefore: number | null;
  /** The same at the end of the optimisation: 0 at convergence. */
  unsaturatedAfter: number | null;
  /** Whether inputs were cached (false: recomputed per mini-batch). */
  cached: boolean;
  /** Wall-clock seconds, all in. */
  seconds: number;
  /** Of which capturing the cached inputs and targets. */
  captureSeconds: number;
}

/** The state a phase runs the network in when capturing the unit's (quantized, "asym") inputs. */
function captureState(phase: ReconOptions['phase']): QuantState {
  return { weights: true, activations: phase === 'activations' };
}

/** Inputs and targets of a unit for a set of rows, either cached for all rows or computed for a mini-batch. */
interface UnitData {
  batch(indices: number[]): { inputs: tf.Tensor[]; target: tf.Tensor };
  cached: boolean;
}

function unitData(unet: UNet, q: Pick<QuantizedUNet, 'layers' | 'attentions'>, unit: ReconUnit, rows: number, source: RowSource, options: ReconOptions): UnitData {
  const state = captureState(options.phase);
  const captureBatch = options.captureBatch ?? 32;
  const at = (quant: QuantState, what: 'inputs' | 'output', indices: number[]): HostTensor[] => {
    setQuantState(q, quant);
    const { x, t } = source(indices);
    try {
      return captureAt(unet, unit.path, x, t, what);
    } finally {
      tf.dispose([x, t]);
      setQuantState(q, state);
    }
  };
  // One row tells the size of the unit's inputs and output.
  const probe = [...at(state, 'inputs', [0]), ...at({ weights: false, activations: false }, 'output', [0])];
  const bytes = probe.reduce((s, p) => s + rowSize(p), 0) * 4 * rows;
  const limit = options.cacheLimitBytes ?? 2 ** 30;
  if (bytes <= limit) {
    const all = (quant: QuantState, what: 'inputs' | 'output'): HostTensor[] => {
      setQuantState(q, quant);
      try {
        return captureRows(unet, unit.path, rows, source, what, captureBatch);
      } finally {
        setQuantState(q, state);
      }
    };
    const inputs = all(state, 'inputs');
    const [target] = options.targets ? [options.targets] : all({ weights: false, activations: false }, 'output');
    return { cached: true, batch: (indices) => ({ inputs: inputs.map((h) => hostRows(h, indices)), target: hostRows(target, indices) }) };
  }
  options.log?.(`${unit.path}: inputs of ${rows} rows would take ${(bytes / 2 ** 20).toFixed(0)} MiB; recomputing them per mini-batch`);
  return {
    cached: false,
    batch: (indices) => {
      const inputs = at(state, 'inputs', indices).map((h) => tf.tensor(h.data, [indices.length, ...h.shape]));
      const [target] = at({ weights: false, activations: false }, 'output', indices);
      return { inputs, target: tf.tensor(target.data, [indices.length, ...target.shape]) };
    },
  };
}

/** `n` rows drawn from `pool` without replacement (all of it when `n` covers it). */
function pickRows(rng: Rng, pool: readonly number[], n: number): number[] {
  if (n >= pool.length) return [...pool];
  return rng.permutation(pool.length).slice(0, n).map((i) => pool[i]);
}

/**
 * The unit's reconstruction loss on `rows`, evaluated `batchSize` rows at a time; the mean over rows and positions
 * (each chunk weighted by its rows, which is exact: every row has the same positions). NaN without rows.
 */
function unitLoss(module: Module<tf.Tensor[], tf.Tensor>, data: UnitData, rows: readonly number[], p: number, batchSize: number): number {
  if (rows.length === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    const chunk = rows.slice(i, i + batchSize);
    const { inputs, target } = data.batch(chunk);
    const loss = tf.tidy(() => reconstructionLoss(module.forward(...inputs), target, p));
    try {
      sum += loss.dataSync()[0] * chunk.length;
    } finally {
      tf.dispose([loss, ...inputs, target]);
    }
  }
  return sum / rows.length;
}

/** Runs `f` with every rounding hard (`h = [α ≥ 0]`, the weights a reconstruction writes back), then soft again. */
function withHardRounding<T>(roundings: readonly AdaRound[], f: () => T): T {
  roundings.forEach((a) => (a.soft = false));
  try {
    return f();
  } finally {
    roundings.forEach((a) => (a.soft = true));
  }
}

/**
 * Reconstructs one unit (ptq spec §1, BRECQ): captures its inputs from the network with the earlier units already
 * quantized (asym mode) and its FP output as the target, then either runs AdaRound on its weight layers (loss plus
 * λ·regulariser under the β schedule, Adam on the α's; the hard-rounded weights are written back at the end) or
 * learns its activation step sizes (Adam with cosine decay; zero points fixed). The rest of the network is
 * untouched.
 *
 * Mini-batches are drawn from the rows outside `options.heldOut`; on the held-out rows the loss of the unit as
 * deployed (hard rounding) is measured before and after, and for AdaRound the share of `h(α)` not yet saturated
 * (see `ADAROUND_SATURATION_MARGIN`) — the two measures of convergence the report shows.
 */
export function reconstructUnit(unet: UNet, q: Pick<QuantizedUNet, 'layers' | 'attentions'>, unit: ReconUnit, rows: number, source: RowSource, options: ReconOptions): UnitReport {
  const t0 = performance.now();
  const state = captureState(options.phase);
  setQuantState(q, state);
  const data = unitData(unet, q, unit, rows, source, options);
  const captureSeconds = (performance.now() - t0) / 1000;
  const module = unet.getModule(unit.path) as unknown as Module<tf.Tensor[], tf.Tensor>;
  const schedule: AdaRoundSchedule = { iters: options.iters, ...options.beta };
  const lambda = options.lambda ?? 0.01;
  const heldOut = options.heldOut ?? [];
  const excluded = new Set(heldOut);
  const pool = Array.from({ length: rows }, (_, i) => i).filter((r) => !excluded.has(r));
  if (pool.length === 0) throw new Error(`reconstructUnit: all ${rows} rows are held out; nothing is left to optimise on`);
  let adarounds: AdaRound[] = [];
  let vars: tf.Variable[];
  if (options.phase === 'weights') {
    adarounds = unit.layers.flatMap(([, l]) => l.beginAdaRound());
    vars = adarounds.map((a) => a.alpha);
  } else {
    vars = unitActivationQuantizers(unit).map((a) => a.delta);
    vars.forEach((v) => (v.trainable = true));
  }
  const named = new Map(vars.map((v, i) => [`v${i}`, v]));
  const opt = new AdamW();
  let lossStart = NaN;
  let lossEnd = NaN;
  let unsaturatedBefore: number | null = null;
  let unsaturatedAfter: number | null = null;
  let heldOutBefore = NaN;
  let heldOutAfter = NaN;
  const evalBatch = Math.max(1, options.batchSize);
  const heldOutLoss = (): number => withHardRounding(adarounds, () => unitLoss(module, data, heldOut, options.p, evalBatch));
  try {
    if (options.phase === 'weights') unsaturatedBefore = unsaturatedShare(adarounds);
    heldOutBefore = heldOutLoss();
    for (let it = 0; it < options.iters && vars.length > 0; it++) {
      const indices = pickRows(options.rng, pool, options.batchSize);
      const { inputs, target } = data.batch(indices);
      const beta = adaRoundBeta(it, schedule);
      const regOn = options.phase === 'weights' && adaRoundRegularizerOn(it, schedule);
      let rec = NaN;
      const { value, grads } = tf.variableGrads(() => {
        const r = reconstructionLoss(module.forward(...inputs), target, options.p);
        rec = r.dataSync()[0];
        if (!regOn) return r;
        return tf.add(r, tf.mul(lambda, tf.addN(adarounds.map((a) => a.regularizer(beta))))) as tf.Scalar;
      }, vars);
      const lr = options.phase === 'weights' ? options.lr : (options.lr * (1 + Math.cos((Math.PI * it) / options.iters))) / 2;
      opt.apply(named, new Map(vars.map((v, i) => [`v${i}`, grads[v.name]])), lr);
      if (options.phase === 'activations') tf.tidy(() => vars.forEach((v) => v.assign(tf.maximum(v, MIN_DELTA))));
      tf.dispose([value, ...Object.values(grads), ...inputs, target]);
      if (it === 0) lossStart = rec;
      lossEnd = rec;
    }
    if (options.phase === 'weights') unsaturatedAfter = unsaturatedShare(adarounds);
    heldOutAfter = heldOutLoss();
  } finally {
    opt.dispose();
    if (options.phase === 'weights') for (const [, l] of unit.layers) l.endAdaRound();
    else vars.forEach((v) => (v.trainable = false));
  }
  const seconds = (performance.now() - t0) / 1000;
  const sat = unsaturatedAfter == null ? '' : `, h(α) unsaturated ${pct(unsaturatedBefore)} → ${pct(unsaturatedAfter)}`;
  options.log?.(
    `${unit.path}: ${options.phase} ${options.iters} steps, held-out loss ${heldOutBefore.toPrecision(3)} → ${heldOutAfter.toPrecision(3)}${sat} ` +
      `(${seconds.toFixed(1)} s, capture ${captureSeconds.toFixed(1)} s${data.cached ? '' : ', recomputed inputs'})`,
  );
  return { path: unit.path, iters: options.iters, lossStart, lossEnd, heldOutBefore, heldOutAfter, unsaturatedBefore, unsaturatedAfter, cached: data.cached, seconds, captureSeconds };
}

function pct(x: number | null): string {
  return x == null || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)} %`;
}
