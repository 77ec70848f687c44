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
  /** Rows per forward pass (default 32). */
  batchSize?: number;
  /** Order of the batches (seeded shuffle). */
  rng: Rng;
}

/**
 * Sets the activation quantizers' ranges by passing calibration rows through the network with weights and
 * activations quantized (each quantizer sees its input as quantized upstream, as in the reference code).
 *
 * Batches are visited in a seeded random order, so a single-range EMA quantizer is not biased towards the last
 * steps. Every batch runs with its rows' sampler steps in the call context. When there are per-step (FSC)
 * quantizers, each batch holds rows of one step, so every EMA update of a step's range is one batch of that step;
 * otherwise batches mix steps.
 *
 * @throws Error when a per-step quantizer is left without data for some step (the set must cover every step).
 */
export function calibrateActivations(unet: UNet, q: Pick<QuantizedUNet, 'layers' | 'attentions'>, set: CalibrationSet, options: ActivationCalibrationOptions): void {
  const quantizers = activationQuantizers(q);
  if (quantizers.length === 0) return;
  const rows = options.rows ?? Array.from({ length: set.rows }, (_, i) => i);
  const batchSize = options.batchSize ?? 32;
  const byStep = quantizers.some((a) => a.steps != null);
  // Per-step models get one step per batch; otherwise batches mix steps, so that a range set from one batch (MSE
  // init) sees the whole trajectory.
  const groups = new Map<number, number[]>();
  for (const r of byStep ? rows : options.rng.shuffle([...rows])) {
    const g = byStep ? set.stepIndices[r] : -1;
    const list = groups.get(g) ?? [];
    list.push(r);
    groups.set(g, list);
  }
  const batches: number[][] = [];
  for (const list of groups.values()) for (let i = 0; i < list.length; i += batchSize) batches.push(list.slice(i, i + batchSize));
  const order = options.rng.shuffle(batches);
  setQuantState(q, { weights: true, activations: true });
  for (const a of quantizers) a.beginCalibration({ init: options.init, momentum: options.momentum });
  let seen: number[][] = [];
  try {
    for (const b of order) {
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
}
