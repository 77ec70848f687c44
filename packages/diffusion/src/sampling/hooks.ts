import * as tf from '@tensorflow/tfjs';
import { withCallContext } from '@diffpress/core';
import { NoiseSchedule } from '../schedule/schedule';
import { Denoiser } from '../train/diffusion-loss';
import { UNetPaths, unetPaths } from '../unet/paths';

/**
 * The network call of one sampler step, as sampling hooks see it. Tensors are valid only during the call. Built
 * with {@link modelCall}; a hook that hands a changed call to `next` builds it with {@link modelCall} too, so that
 * {@link ModelCall.run} uses the new rows.
 */
export interface ModelCall {
  /** The network. */
  model: Denoiser;
  /**
   * The network's encode/decode and partial paths when it is a UNet (tfjs) or a runtime's UNet (ONNX), else `null`.
   */
  unet: UNetPaths | null;
  /** Current noisy samples z_t `[n, ...]`. */
  z: tf.Tensor;
  /** Schedule time of this step. */
  t: number;
  /** Model times `[n]` for this step (`schedule.modelTime(t)` per row). */
  modelTime: tf.Tensor;
  /** Index of this step, 0 = noisiest. */
  stepIndex: number;
  /**
   * The sampler step of every row of the network input. A plain call has `stepIndex` in every row; a hook that
   * batches the network calls of several steps (Faster Diffusion's parallel decoding) passes its own rows to
   * {@link ModelCall.run}.
   */
  rowSteps: readonly number[];
  /** All schedule times of the sampler, noisiest first. */
  times: readonly number[];
  /** Global sample indices of the batch rows. */
  indices: readonly number[];
  /** The schedule. */
  schedule: NoiseSchedule;
  /**
   * Runs `fn` (network calls: `unet.encode`, `unet.decodeShallow`, …) with the per-row step indices visible to
   * per-step layers (core's `callContext`). Network work of a hook must go through it.
   *
   * @param rowSteps - Step of every row of the tensors `fn` feeds the network (default {@link ModelCall.rowSteps}).
   */
  run<T>(fn: () => T, rowSteps?: readonly number[]): T;
}

/** The fields {@link modelCall} builds a {@link ModelCall} from: all but the derived ones, with optional row steps. */
export interface ModelCallFields extends Omit<ModelCall, 'unet' | 'rowSteps' | 'run'> {
  /** Step of every row (default: `stepIndex` in every row). */
  rowSteps?: readonly number[];
}

/**
 * Builds a {@link ModelCall} (its `unet` view, per-row steps and `run`).
 *
 * @example
 * ```ts
 * // In a hook: pass the call on with other noisy samples (same rows).
 * return next(modelCall({ ...c, z: shifted }));
 * // With other rows, say their times and steps too.
 * return next(modelCall({ ...c, z: tiled, modelTime: tiledTimes, rowSteps: tiledSteps }));
 * ```
 * @throws Error when `rowSteps` or `modelTime` do not have one entry per row of `z`.
 */
export function modelCall(fields: ModelCallFields): ModelCall {
  const n = fields.z.shape[0];
  const rowSteps = fields.rowSteps ?? new Array<number>(n).fill(fields.stepIndex);
  // A call rebuilt with other rows (a tiled batch) must say their steps: per-step layers would otherwise misread them.
  if (rowSteps.length !== n || fields.modelTime.shape[0] !== n) {
    throw new Error(`modelCall: z has ${n} rows but rowSteps ${rowSteps.length} and modelTime ${fields.modelTime.shape[0]}; give rowSteps and modelTime for the rows of z`);
  }
  return {
    ...fields,
    unet: unetPaths(fields.model),
    rowSteps,
    run: <T>(fn: () => T, rows?: readonly number[]): T => withCallContext({ stepIndices: rows ?? rowSteps }, fn),
  };
}

/** Calls the network of the next hook in the chain (or the network itself); returns a new tensor the caller owns. */
export type NextCall = (call: ModelCall) => tf.Tensor;

/** What {@link SamplingHook.beforeStep} sees. */
export interface BeforeStepEvent {
  /** The samples entering the step, z_t. */
  z: tf.Tensor;
  /** The batch's initial noise z_T (Faster Diffusion's prior-noise injection adds a multiple of it). */
  zT: tf.Tensor;
  /** Step index, 0 = noisiest. */
  stepIndex: number;
  /** Schedule time of the step. */
  t: number;
  /** All schedule times, noisiest first. */
  times: readonly number[];
  /** Global sample indices of the batch rows. */
  indices: readonly number[];
  /** The schedule. */
  schedule: NoiseSchedule;
}

/**
 * A sampling-time contribution of a pipeline step (diffusers' `HookRegistry` and k-diffusion's callbacks are the
 * models): it may wrap the network call, replace z before a step, and keep per-batch state. Hooks chain: the
 * sampler runs the hooks of all pipeline steps, the earlier step's hook outermost, so a caching hook under a
 * per-step quantizer's hook sees the quantizer's checks and the quantizer sees every network call the cache makes.
 *
 * @example
 * ```ts
 * const counting: SamplingHook = {
 *   name: 'count-calls',
 *   call: (c, next) => { calls++; return next(c); },
 * };
 * sample({ ...options, hooks: [counting] });
 * ```
 */
export interface SamplingHook {
  /** Name for errors and logs (the method id that contributed it). */
  name: string;
  /**
   * Wraps the network call of a step. May call `next` zero or more times (a cache answers from stored features),
   * and may run the UNet's encode/decode and partial paths itself through `c.run`. Returns a new tensor. The call
   * runs inside `tf.tidy`: tensors kept across calls must be protected with `tf.keep` (and freed in `endSample`).
   */
  call?(c: ModelCall, next: NextCall): tf.Tensor;
  /** Before the network call of a step: return a new z to replace `z` (the sampler disposes the old one). */
  beforeStep?(event: BeforeStepEvent): tf.Tensor | void;
  /** Before the first step of each batch (reset per-batch state such as feature caches). */
  beginSample?(indices: readonly number[]): void;
  /** After the last step of each batch, also when sampling fails (free per-batch state). */
  endSample?(): void;
}

/** The innermost call of every chain: one full forward pass with the rows' steps set. */
export const networkCall: NextCall = (c) => c.run(() => c.model.forward(c.z, c.modelTime));

/**
 * Composes hooks into one network call: `hooks[0]` outermost, the network innermost.
 *
 * @throws Error when two hooks share a name (a pipeline step contributes one hook).
 */
export function composeHooks(hooks: readonly SamplingHook[], inner: NextCall = networkCall): NextCall {
  const names = new Set<string>();
  for (const h of hooks) {
    if (names.has(h.name)) throw new Error(`two sampling hooks are named '${h.name}'; each pipeline step contributes at most one`);
    names.add(h.name);
  }
  return hooks.reduceRight<NextCall>((next, h) => (h.call ? (c) => (h.call as NonNullable<SamplingHook['call']>)(c, next) : next), inner);
}

/** Calls every hook's `beginSample`, in chain order. */
export function beginHooks(hooks: readonly SamplingHook[], indices: readonly number[]): void {
  for (const h of hooks) h.beginSample?.(indices);
}

/** Calls every hook's `endSample`, innermost first; all run even if one throws (the first error is rethrown). */
export function endHooks(hooks: readonly SamplingHook[]): void {
  let failure: unknown;
  for (const h of [...hooks].reverse()) {
    try {
      h.endSample?.();
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
}

/**
 * Applies the hooks' `beforeStep` in chain order; each sees the z the previous one returned. Returns the final z,
 * which is `event.z` itself when no hook replaced it (replaced intermediates are disposed here).
 */
export function beforeStepHooks(hooks: readonly SamplingHook[], event: BeforeStepEvent): tf.Tensor {
  let z = event.z;
  for (const h of hooks) {
    const next = h.beforeStep?.({ ...event, z });
    if (next && next !== z) {
      if (z !== event.z) z.dispose();
      z = next;
    }
  }
  return z;
}
