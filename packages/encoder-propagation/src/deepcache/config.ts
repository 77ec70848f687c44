import { z } from 'zod';

/** Config of `deepcache` (encoder-propagation spec §2): strict; every field has a default and a description. */
export const deepcacheConfig = z.strictObject({
  interval: z.number().int().min(1).default(3).describe('N: a full UNet call every N steps (non-uniform: ⌊steps / N⌋ full calls)'),
  schedule: z.enum(['uniform', 'non-uniform']).default('uniform').describe('uniform: steps 0, N, 2N, …; non-uniform: the reference\'s schedule dense around `center`'),
  center: z.number().int().min(0).optional().describe('non-uniform: the step the full calls cluster around (default round(0.3 · steps), the reference\'s 15 of 50)'),
  power: z.number().gt(1).max(4).default(1.4).describe('non-uniform: initial power p (lowered by 0.02 until the count fits, as the reference does)'),
  branch: z
    .union([z.number().int().min(0), z.string().min(1)])
    .default(1)
    .describe('skip branch where the shallow path turns: index (0 = the stem\'s skip, 1 = the first encoder block\'s) or the name of the block that pushes it'),
  zeroCache: z.boolean().default(false).describe('ablation: partial steps get zeros instead of the cached deep feature'),
});

/** The parsed config of `deepcache`. */
export type DeepcacheConfig = z.output<typeof deepcacheConfig>;
