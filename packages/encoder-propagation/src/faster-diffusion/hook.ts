import * as tf from '@tensorflow/tfjs';
import { ModelCall, NoiseSchedule, SamplingHook, UNetPaths } from '@diffpress/diffusion';
import { CacheStats, emptyCacheStats } from '../common/cache-stats';
import { checkCall } from '../common/check-call';
import { keyStepGroups } from './key-steps';

/**
 * Prior noise injection (Faster Diffusion §3.3): `z_t ← z_t + α · z_T` at every step whose time, as a fraction of the
 * schedule's range, is below `below`.
 */
export interface PriorNoise {
  /** α (the paper's 0.003). */
  alpha: number;
  /** Fraction of the time range below which noise is injected (the reference's `t / 1000 < 0.5`: the second half). */
  below: number;
}

/** A schedule time as a fraction of the schedule's range: t / T for discrete schedules, u itself for continuous ones. */
export function timeFraction(schedule: NoiseSchedule, t: number): number {
  const config = schedule.toConfig();
  return config.type === 'linear-beta' ? t / config.timesteps : t;
}


/** Options of {@link fasterDiffusionHook}. */
export interface FasterDiffusionHookOptions {
  /** Hook name (the method id). */
  name: string;
  /** Key steps, sorted, containing 0 (see `resolveKeySteps`). */
  keySteps: readonly number[];
  /** Number of sampler steps the key steps were resolved for. */
  steps: number;
  /**
   * `encoder` (the method): non-key steps run the decoder on the cached encoder skips and middle output with the
   * current step's time embedding. `decoder` (the paper's comparison point): non-key steps reuse the key step's
   * decoder output, the network output itself — no network work at all, so it also saves the decoder's share.
   */
  propagate: 'encoder' | 'decoder';
  /** Decode the non-key steps after a key step in one batch with the key step's decode (encoder propagation only). */
  parallel: boolean;
  /** Prior noise injection, or `null` for none. */
  priorNoise: PriorNoise | null;
}

/** A Faster Diffusion hook with its counters. */
export interface FasterDiffusionHook extends SamplingHook {
  /** What the hook did so far (all batches). */
  readonly stats: CacheStats;
}

function unetOf(c: ModelCall, name: string): UNetPaths {
  if (!c.unet) throw new Error(`${name}: the model is not a UNet (encoder propagation needs its encode/decode paths)`);
  return c.unet;
}

/** Repeats the rows of `x` `k` times along the batch axis: `[x; x; …]`. */
function tile(x: tf.Tensor, k: number): tf.Tensor {
  return k === 1 ? x : tf.concat(new Array<tf.Tensor>(k).fill(x), 0);
}

/**
 * The sampling hook of Faster Diffusion. At a key step it runs the encoder and middle block on z_t, keeps the skips
 * and middle output, and decodes. At a non-key step it runs only the decoder, on the kept features, with the current
 * step's time embedding (the sampler's update is unchanged). With `parallel`, a key step decodes itself and all
 * non-key steps up to the next key step in one batch — their decoder inputs do not depend on z — and the later
 * steps take their slice. Every network call goes through `c.run` with the rows' steps, so per-step quantizers of
 * earlier pipeline steps (TFMQ) quantize each decoder call with its own step.
 *
 * The cache is per batch: reset in `beginSample`, freed in `endSample`. Rows keep their order between steps (the
 * sampler's contract), so cached rows match the rows of later calls.
 */
export function fasterDiffusionHook(options: FasterDiffusionHookOptions): FasterDiffusionHook {
  const { name, steps, propagate, parallel, priorNoise } = options;
  const keys = new Set(options.keySteps);
  if (!keys.has(0)) throw new RangeError(`${name}: the key steps must contain step 0`);
  if (parallel && propagate === 'decoder') throw new RangeError(`${name}: parallel decoding applies to encoder propagation only`);
  const groups = new Map(keyStepGroups(options.keySteps, steps).map((g) => [g[0], g]));
  const stats = emptyCacheStats();
  let encoded: { skips: tf.Tensor[]; mid: tf.Tensor } | null = null;
  let output: tf.Tensor | null = null;
  const decoded = new Map<number, tf.Tensor>();
  const drop = (): void => {
    if (encoded) tf.dispose([...encoded.skips, encoded.mid]);
    encoded = null;
    output?.dispose();
    output = null;
    tf.dispose([...decoded.values()]);
    decoded.clear();
  };

  const keyStep = (c: ModelCall, unet: UNetPaths): tf.Tensor => {
    drop();
    stats.full++;
    const { skips, mid } = c.run(() => unet.encode(c.z, unet.timeEmbedding(c.modelTime)));
    // Batching later steps assumes every row of the call is at this step (true of the sampler's calls).
    const group = parallel && c.rowSteps.every((r) => r === c.stepIndex) ? (groups.get(c.stepIndex) ?? [c.stepIndex]) : [c.stepIndex];
    let out: tf.Tensor;
    if (group.length === 1) {
      out = c.run(() => unet.decode(skips, mid, unet.timeEmbedding(c.modelTime)));
    } else {
      // One decoder call for the key step and the non-key steps after it: the features tiled once per step, each
      // block of rows with its own step's model time (and step index, for per-step layers).
      stats.parallelBatches++;
      const n = c.z.shape[0];
      const rowSteps = group.flatMap((s) => new Array<number>(n).fill(s));
      const times = tf.tensor1d(group.flatMap((s) => new Array<number>(n).fill(c.schedule.modelTime(c.times[s]))));
      const all = c.run(() => unet.decode(skips.map((s) => tile(s, group.length)), tile(mid, group.length), unet.timeEmbedding(times)), rowSteps);
      const parts = tf.split(all, group.length, 0);
      out = parts[0];
      group.slice(1).forEach((s, j) => decoded.set(s, tf.keep(parts[j + 1])));
    }
    encoded = { skips: skips.map((s) => tf.keep(s)), mid: tf.keep(mid) };
    if (propagate === 'decoder') output = tf.keep(tf.clone(out));
    return out;
  };

  return {
    name,
    stats,
    beginSample: drop,
    endSample: drop,
    beforeStep: priorNoise
      ? (e) => (timeFraction(e.schedule, e.t) < priorNoise.below ? tf.add(e.z, tf.mul(e.zT, priorNoise.alpha)) : undefined)
      : undefined,
    call: (c) => {
      const unet = unetOf(c, name);
      checkCall(name, c, steps, encoded ? encoded.mid.shape[0] : null);
      if (keys.has(c.stepIndex) || !encoded) return keyStep(c, unet);
      stats.reused++;
      if (propagate === 'decoder') return tf.clone(output as tf.Tensor);
      const ready = decoded.get(c.stepIndex);
      if (ready) {
        decoded.delete(c.stepIndex);
        // The kept slice leaves the cache: handed to the caller, who owns (and frees) what a call returns.
        const out = tf.clone(ready);
        ready.dispose();
        return out;
      }
      const { skips, mid } = encoded;
      return c.run(() => unet.decode(skips, mid, unet.timeEmbedding(c.modelTime)));
    },
  };
}
