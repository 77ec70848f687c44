import { z } from 'zod';
import { KEY_STEP_NAME } from './key-steps';

/** Config of `faster-diffusion` (encoder-propagation spec §1): strict; every field has a default and a description. */
export const fasterDiffusionConfig = z.strictObject({
  keySteps: z
    .union([z.string().regex(KEY_STEP_NAME, 'expected ddim-50, dpm-solver-20 or uniform-<k>'), z.array(z.number().int().min(0)).min(1)])
    .default('ddim-50')
    .describe('steps that run the whole UNet: ddim-50 or dpm-solver-20 (the paper\'s sets, scaled to the sampler\'s steps), uniform-<k> (every k-th), or a list of step indices (0 = noisiest, must contain 0)'),
  propagate: z
    .enum(['encoder', 'decoder'])
    .default('encoder')
    .describe('encoder: non-key steps decode cached encoder features (the method); decoder: non-key steps reuse the key step\'s output (the paper\'s comparison point)'),
  parallel: z.boolean().default(true).describe('decode the non-key steps after a key step in one batch with it (encoder propagation; same outputs to float tolerance)'),
  priorNoise: z
    .union([
      z.literal(false),
      z.strictObject({
        alpha: z.number().min(0).max(1).default(0.003).describe('multiple of the initial noise z_T added to z_t'),
        below: z.number().min(0).max(1).default(0.5).describe('inject at steps whose model time / 1000 is below this (0.5: the second half)'),
      }),
    ])
    .default({ alpha: 0.003, below: 0.5 })
    .describe('prior noise injection z_t += alpha · z_T late in sampling, or false'),
  premiseSamples: z.number().int().min(0).max(512).default(8).describe('trajectories of the premise diagnostic (feature change per block between steps; 0: skip it)'),
});

/** The parsed config of `faster-diffusion`. */
export type FasterDiffusionConfig = z.output<typeof fasterDiffusionConfig>;
