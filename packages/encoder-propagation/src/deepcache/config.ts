import { z } from 'zod';

/** The parsed config of `deepcache` (see the schema's descriptions and docs/guides/encoder-propagation.md). */
export interface DeepcacheConfig {
  /** N: a full UNet call every N steps (non-uniform: ⌈steps / N⌉ full calls). */
  interval: number;
  /** `uniform` or the reference's `non-uniform` schedule. */
  schedule: 'uniform' | 'non-uniform';
  /** Non-uniform: the step the full calls cluster around (default round(0.3 · steps)). */
  center?: number;
  /** Non-uniform: the initial power. */
  power: number;
  /** Skip branch where the shallow path turns: index or the name of the block that pushes it. */
  branch: number | string;
  /** Ablation: partial steps get zeros instead of the cached deep feature. */
  zeroCache: boolean;
}

/** Config of `deepcache` (encoder-propagation spec §2): strict; every field has a default and a description. */
export const deepcacheConfig: z.ZodType<DeepcacheConfig> = z.strictObject({
  /** N: a full UNet call every N steps. */
  interval: z.number().int().min(1).default(3).describe('N: a full UNet call every N steps (non-uniform: ⌈steps / N⌉ full calls)'),
  /** `uniform` or the reference's `non-uniform` schedule. */
  schedule: z.enum(['uniform', 'non-uniform']).default('uniform').describe('uniform: steps 0, N, 2N, …; non-uniform: the reference\'s schedule dense around `center`'),
  /** Non-uniform: the step the full calls cluster around. */
  center: z.number().int().min(0).optional().describe('non-uniform: the step the full calls cluster around (default round(0.3 · steps), the reference\'s 15 of 50)'),
  /** Non-uniform: the initial power. */
  power: z.number().gt(1).max(4).default(1.4).describe('non-uniform: initial power p (lowered by 0.02 until the count fits, as the reference does)'),
  /** Skip branch where the shallow path turns (index or block name). */
  branch: z
    .union([z.number().int().min(0), z.string().min(1)])
    .default(1)
    .describe('skip branch where the shallow path turns: index (0 = the stem\'s skip, 1 = the first encoder block\'s) or the name of the block that pushes it'),
  /** Ablation: zeros instead of the cached deep feature. */
  zeroCache: z.boolean().default(false).describe('ablation: partial steps get zeros instead of the cached deep feature'),
});
