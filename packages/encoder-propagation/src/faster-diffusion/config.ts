import { z } from 'zod';
import { PriorNoise } from './hook';
import { KEY_STEP_NAME } from './key-steps';

/** The parsed config of `faster-diffusion` (see the schema's descriptions and docs/guides/encoder-propagation.md). */
export interface FasterDiffusionConfig {
  /** Steps that run the whole UNet: `ddim-50`, `dpm-solver-20` (scaled to the sampler), `uniform-<k>`, or step indices. */
  keySteps: string | number[];
  /** `encoder` (the method) or `decoder` (non-key steps reuse the key step's output). */
  propagate: 'encoder' | 'decoder';
  /** Decode a key step and the non-key steps after it in one batch (encoder propagation). */
  parallel: boolean;
  /** Prior noise injection `z_t += alpha · z_T` where model time / 1000 < `below`, or `false`. */
  priorNoise: false | PriorNoise;
  /** Trajectories of the premise diagnostic (0: skip it). */
  premiseSamples: number;
}

/** Config of `faster-diffusion` (encoder-propagation spec §1): strict; every field has a default and a description. */
export const fasterDiffusionConfig: z.ZodType<FasterDiffusionConfig> = z.strictObject({
  /** Steps that run the whole UNet: a preset (scaled to the sampler), `uniform-<k>`, or step indices. */
  keySteps: z
    .union([z.string().regex(KEY_STEP_NAME, 'expected ddim-50, dpm-solver-20 or uniform-<k>'), z.array(z.number().int().min(0)).min(1)])
    .default('ddim-50')
    .describe('steps that run the whole UNet: ddim-50 or dpm-solver-20 (the paper\'s sets, scaled to the sampler\'s steps), uniform-<k> (every k-th), or a list of step indices (0 = noisiest, must contain 0)'),
  /** `encoder` (the method) or `decoder` (the paper's comparison point). */
  propagate: z
    .enum(['encoder', 'decoder'])
    .default('encoder')
    .describe('encoder: non-key steps decode cached encoder features (the method); decoder: non-key steps reuse the key step\'s output (the paper\'s comparison point)'),
  /** Decode a key step and the non-key steps after it in one batch. */
  parallel: z.boolean().default(true).describe('decode the non-key steps after a key step in one batch with it (encoder propagation; same outputs to float tolerance)'),
  /** Prior noise injection, or `false`. */
  priorNoise: z
    .union([
      z.literal(false),
      z.strictObject({
        /** Multiple of z_T added. */
        alpha: z.number().min(0).max(1).default(0.003).describe('multiple of the initial noise z_T added to z_t'),
        /** Inject at steps whose model time / 1000 is below this. */
        below: z.number().min(0).max(1).default(0.5).describe('inject at steps whose model time / 1000 is below this (0.5: the second half)'),
      }),
    ])
    .default({ alpha: 0.003, below: 0.5 })
    .describe('prior noise injection z_t += alpha · z_T late in sampling, or false'),
  /** Trajectories of the premise diagnostic (0: skip it). */
  premiseSamples: z.number().int().min(0).max(512).default(8).describe('trajectories of the premise diagnostic (feature change per block between steps; 0: skip it)'),
});
