import * as tf from '@tensorflow/tfjs';
import { SamplingHook } from '@diffpress/diffusion';
import { CacheStats, emptyCacheStats } from '../common/cache-stats';
import { checkCall } from '../common/check-call';

/** Options of {@link deepCacheHook}. */
export interface DeepCacheHookOptions {
  /** Hook name (the method id). */
  name: string;
  /** Full steps (0 among them): the whole UNet runs and the deep feature is cached. */
  fullSteps: readonly number[];
  /** Number of sampler steps the full steps were resolved for. */
  steps: number;
  /** Skip branch the shallow path stops at: its index (0 = the stem's skip) or the name of the block that pushes it. */
  branch: number | string;
  /** The ablation of DeepCache's paper: partial steps get a zero tensor instead of the cached deep feature. */
  zeroCache: boolean;
}

/** A DeepCache hook with its counters. */
export interface DeepCacheHook extends SamplingHook {
  /** What the hook did so far (all batches). */
  readonly stats: CacheStats;
}

/**
 * The sampling hook of DeepCache. At a full step it runs the whole UNet as encode → deep decoder (the blocks before
 * skip `branch` is concatenated) → shallow decoder, and keeps the deep feature. At the other steps it runs only the
 * shallow path — the encoder up to `branch` on the current z_t, then the shallow decoder from the cached deep feature
 * — with the current time embedding. `zeroCache` replaces the cached feature by zeros (the paper's check that the
 * cache carries the content). Network calls go through `c.run`, so per-step layers see each call's step.
 */
export function deepCacheHook(options: DeepCacheHookOptions): DeepCacheHook {
  const { name, branch, zeroCache } = options;
  const full = new Set(options.fullSteps);
  if (!full.has(0)) throw new RangeError(`${name}: the full steps must contain step 0`);
  const stats = emptyCacheStats();
  let deep: tf.Tensor | null = null;
  const drop = (): void => {
    deep?.dispose();
    deep = null;
  };
  return {
    name,
    stats,
    beginSample: drop,
    endSample: drop,
    call: (c) => {
      const unet = c.unet;
      if (!unet) throw new Error(`${name}: the model is not a UNet (DeepCache needs its partial paths)`);
      checkCall(name, c, options.steps, deep ? deep.shape[0] : null);
      if (full.has(c.stepIndex) || !deep) {
        stats.full++;
        return c.run(() => {
          const temb = unet.timeEmbedding(c.modelTime);
          const { skips, mid } = unet.encode(c.z, temb);
          const h = unet.decodeDeep(skips, mid, temb, branch);
          drop();
          deep = tf.keep(zeroCache ? tf.zerosLike(h) : h);
          return unet.decodeShallow(h, skips, temb, branch);
        });
      }
      stats.reused++;
      const cached = deep;
      return c.run(() => {
        const temb = unet.timeEmbedding(c.modelTime);
        return unet.decodeShallow(cached, unet.encodeShallow(c.z, temb, branch), temb, branch);
      });
    },
  };
}
