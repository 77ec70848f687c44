import * as tf from '@tensorflow/tfjs';
import { callContext } from '../nn/call-context';

/**
 * The sampler steps a per-step quantizer keeps one parameter set for (TFMQ-DM's finite set calibration), as it
 * needs them to find the step of each row of a call.
 */
export interface QuantizerSteps {
  /**
   * Model times (the network's time input) of the steps, noisiest first; their number is the number of parameter
   * sets. A call outside a sampler step finds the step of each row by its model time here.
   */
  modelTimes: readonly number[];
  /** The sampler the steps belong to, for errors (e.g. `ddim-20`). */
  label: string;
}

/** Whether two times name the same step (relative tolerance 1e-6, absolute below 1): times pass through float32. */
export function sameStepTime(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a));
}

const FSC = 'per-step quantizer (TFMQ-DM FSC)';

/**
 * The step index of every row of the network call in progress (core's {@link callContext}): the sampler's
 * `stepIndices` when a sampler step is set, else each row's model time looked up among `steps.modelTimes` (a direct
 * `UNet.forward` at a calibrated time, a latency measurement).
 *
 * @throws Error when a step is outside the calibrated ones, a model time is not a calibrated step's, or the call
 *   gives neither (a per-step quantizer called outside a sampler step and without model times).
 */
export function callRowSteps(steps: QuantizerSteps): number[] {
  const count = steps.modelTimes.length;
  const context = callContext();
  if (context?.stepIndices) {
    for (const s of context.stepIndices) {
      if (!Number.isInteger(s) || s < 0 || s >= count) throw new Error(`${FSC}: step ${s} is outside the ${count} calibrated steps of ${steps.label}`);
    }
    return [...context.stepIndices];
  }
  if (!context?.modelTimes) throw new Error(`${FSC}: no calibrated step selected: called outside a sampler step and without model times`);
  return Array.from(context.modelTimes(), (t) => {
    const s = steps.modelTimes.findIndex((m) => sameStepTime(m, t));
    if (s < 0) throw new Error(`${FSC}: no calibrated step selected: model time ${t} is not one of the ${count} steps of ${steps.label} this model was calibrated for`);
    return s;
  });
}

/**
 * The step of every entry of a tensor's leading axis, given the steps of the call's `n` rows: the leading axis must
 * be the rows themselves (every layer of the UNet keeps the batch first; attention splits heads after it).
 *
 * @throws Error when the leading size is not the number of rows (a hook that changed the rows of a call without
 *   giving their steps, or a layer that merged another axis into the batch).
 */
export function leadingSteps(rowSteps: readonly number[], leading: number): number[] {
  if (leading !== rowSteps.length) {
    throw new Error(`${FSC}: a tensor with leading size ${leading} in a call whose rows have ${rowSteps.length} steps (a hook that changes the rows of a call must give their steps)`);
  }
  return [...rowSteps];
}

/**
 * Per-entry values of a per-step parameter `[steps]` for `x`: `param[step of each leading entry]` shaped
 * `[m, 1, …, 1]`, so it broadcasts against `x` `[m, …]` entry by entry.
 *
 * @param steps - Step of every leading entry of `x` (see {@link leadingSteps}).
 */
export function gatherPerEntry(param: tf.Tensor, steps: readonly number[], x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const picked = tf.gather(param, tf.tensor1d(steps as number[], 'int32'));
    return picked.reshape([steps.length, ...new Array<number>(Math.max(0, x.rank - 1)).fill(1)]);
  });
}
