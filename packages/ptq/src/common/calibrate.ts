import * as tf from '@tensorflow/tfjs';
import { RangeInit, Rng, UniformQuantizer, channelRange, minmaxParams, mseSearchParams, withCallContext } from '@diffpress/core';
import { UNet } from '@diffpress/diffusion';
import { CalibrationSet, calibrationBatch } from '../calibration/calibration-set';
import { QuantLayer } from '../quant/layers';
import { QuantizedUNet, activationQuantizers, setQuantState } from '../quant/quantize-unet';

function initOne(q: UniformQuantizer, w: tf.Tensor, init: 'minmax' | 'mse'): void {
  if (init === 'mse') q.setParams(mseSearchParams(w, q.bits, q.mode, { perChannel: true }));
  else {
    const r = channelRange(w, true);
    q.setParams(minmaxParams(r.min, r.max, q.bits, q.mode));
  }
}

/**
 * Sets every weight quantizer's per-channel range from its weight (or its kernel half, for split shortcuts):
 * min-max, or the MSE search of ptq spec §1. With nothing else, this is round-to-nearest weight quantization.
 */
export function initWeightQuantizers(q: Pick<QuantizedUNet, 'layers'>, init: 'minmax' | 'mse'): void {
  for (const [, layer] of q.layers) {
    if (layer instanceof QuantLayer) {
      if (layer.weightQuant) initOne(layer.weightQuant, layer.layer.weight, init);
      continue;
    }
    const [w1, w2] = layer.weightHalves();
    try {
      if (layer.weightQuant1) initOne(layer.weightQuant1, w1, init);
      if (layer.weightQuant2) initOne(layer.weightQuant2, w2, init);
    } finally {
      tf.dispose([w1, w2]);
    }
  }
}

/** Options of {@link calibrateActivations}. */
export interface ActivationCalibrationOptions {
  /** Range init of the activation quantizers. */
  init: RangeInit;
  /** EMA momentum (default 0.95). */
  momentum?: number;
  /** Calibration rows to pass through (all rows by default). */
  rows?: number[];
  /**
   * Rows of every sampler step per forward pass (default from `batchSize`): each pass holds this many rows
   * of each step of the set, so an EMA makes ⌈rows of a step / rowsPerStep⌉ updates. A value at least the rows of
   * a step makes one pass (min-max and MSE search see all rows at once).
   */
  rowsPerStep?: number;
  /** Rows per forward pass, when `rowsPerStep` is not given: `rowsPerStep = ⌊batchSize / steps⌋`, at least 1 (default 32). */
  batchSize?: number;
  /** Order of the rows within each step (seeded shuffle). */
  rng: Rng;
}

/** What {@link calibrateActivations} did: how many passes, and so how many EMA updates each step's range got. */
export interface ActivationCalibrationSummary {
  /** Sampler steps the rows came from. */
  steps: number;
  /** Rows of each step per pass. */
  rowsPerStep: number;
  /** Forward passes, each over up to `rowsPerStep` rows of every step. */
  passes: number;
  /**
   * Fewest passes any step took part in: the EMA updates of a per-step range (and of a single range, every pass
   * holding every step). 1 means the EMA is plain min-max of one batch.
   */
  updatesPerStep: number;
}

/**
 * The forward passes of an activation calibration: every pass holds up to `rowsPerStep` rows of each step (a
 * step's rows in a seeded random order), so a single-range quantizer sees every step in every pass — its range is
 * never dominated by whichever step came first or last — and a per-step quantizer sees `rowsPerStep` rows of its
 * step per pass.
 */
export function calibrationPasses(stepOfRow: ArrayLike<number>, rows: readonly number[], rowsPerStep: number, rng: Rng): number[][] {
  if (!(Number.isInteger(rowsPerStep) && rowsPerStep >= 1)) throw new RangeError(`calibration passes: rowsPerStep must be a positive integer, got ${rowsPerStep}`);
  const byStep = new Map<number, number[]>();
  for (const r of rows) byStep.set(stepOfRow[r], [...(byStep.get(stepOfRow[r]) ?? []), r]);
  const queues = [...byStep.keys()].sort((a, b) => a - b).map((s) => rng.shuffle([...(byStep.get(s) as number[])]));
  const passes = Math.max(0, ...queues.map((q) => Math.ceil(q.length / rowsPerStep)));
  return Array.from({ length: passes }, (_, k) => queues.flatMap((q) => q.slice(k * rowsPerStep, (k + 1) * rowsPerStep)));
}

/** How a summary's range calibration reads in a phase name: EMA over k updates per step, or min-max when k = 1. */
export function describeRangeCalibration(init: RangeInit, s: ActivationCalibrationSummary): string {
  if (init !== 'ema') return init === 'mse' ? 'MSE search' : 'min-max';
  return s.updatesPerStep > 1
    ? `EMA min-max over ${s.updatesPerStep} batches of ${s.rowsPerStep} rows per step`
    : `min-max of one batch per step (EMA needs more than ${s.rowsPerStep} rows per step)`;
}

/**
 * What {@link calibrateActivations} will do with these options (no randomness involved): the steps, rows per step
 * and pass, passes, and EMA updates per step — so a method can name its phase before running it.
 */
export function activationCalibrationSummary(set: Pick<CalibrationSet, 'rows' | 'stepIndices'>, options: Pick<ActivationCalibrationOptions, 'rows' | 'rowsPerStep' | 'batchSize'>): ActivationCalibrationSummary {
  const rows = options.rows ?? Array.from({ length: set.rows }, (_, i) => i);
  const perStep = new Map<number, number>();
  for (const r of rows) perStep.set(set.stepIndices[r], (perStep.get(set.stepIndices[r]) ?? 0) + 1);
  const steps = perStep.size;
  const rowsPerStep = options.rowsPerStep ?? Math.max(1, Math.floor((options.batchSize ?? 32) / Math.max(1, steps)));
  const counts = [...perStep.values()].map((n) => Math.ceil(n / rowsPerStep));
  return { steps, rowsPerStep, passes: Math.max(0, ...counts), updatesPerStep: counts.length === 0 ? 0 : Math.min(...counts) };
}

/**
 * Sets the activation quantizers' ranges by passing calibration rows through the network with weights and
 * activations quantized (each quantizer sees its input as quantized upstream, as in the reference code).
 *
 * Every pass holds the same number of rows of every step (see {@link calibrationPasses}) and runs with its rows'
 * sampler steps in the call context: a per-step (FSC) quantizer updates each step's range from that step's rows
 * only, a single-range quantizer from all of them — so under `ema` both are running averages over several passes,
 * not over one random step.
 *
 * @throws Error when a per-step quantizer is left without data for some step (the set must cover every step).
 */
export function calibrateActivations(unet: UNet, q: Pick<QuantizedUNet, 'layers' | 'attentions'>, set: CalibrationSet, options: ActivationCalibrationOptions): ActivationCalibrationSummary {
  const quantizers = activationQuantizers(q);
  const rows = options.rows ?? Array.from({ length: set.rows }, (_, i) => i);
  const summary = activationCalibrationSummary(set, options);
  const passes = calibrationPasses(set.stepIndices, rows, summary.rowsPerStep, options.rng);
  if (quantizers.length === 0) return summary;
  setQuantState(q, { weights: true, activations: true });
  for (const a of quantizers) a.beginCalibration({ init: options.init, momentum: options.momentum });
  let seen: number[][] = [];
  try {
    for (const b of passes) {
      const { x, t } = calibrationBatch(set, b);
      try {
        tf.dispose(withCallContext({ stepIndices: b.map((r) => set.stepIndices[r]) }, () => unet.forward(x, t)));
      } finally {
        tf.dispose([x, t]);
      }
    }
  } finally {
    seen = quantizers.map((a) => a.endCalibration());
  }
  quantizers.forEach((a, i) => {
    if (a.steps != null && seen[i].length < a.steps) {
      throw new Error(`per-step activation calibration: data for ${seen[i].length} of ${a.steps} steps; the calibration set must cover every sampler step (strategy 'all')`);
    }
  });
  return summary;
}
