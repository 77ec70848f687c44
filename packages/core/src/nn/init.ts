import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random/seeded';

let initRng = new Rng(0, 'init');

/**
 * Re-seeds the generator that layers use for their initial weights when none is passed, so that building the same
 * network after `manualSeed(s)` gives the same weights in every process (like `torch.manual_seed`).
 */
export function manualSeed(seed: number): void {
  initRng = new Rng(seed, 'init');
}

/** The shared initialisation generator (see {@link manualSeed}). */
export function defaultInitRng(): Rng {
  return initRng;
}

/**
 * PyTorch's default initialisation of conv and linear layers, `kaiming_uniform_(a=√5)` for weights and the bias rule
 * of `nn.Conv2d`/`nn.Linear`: both uniform on `[−1/√fanIn, 1/√fanIn]`. Matching it keeps trained-from-scratch
 * behaviour comparable with the reference repositories.
 */
export function uniformFanIn(shape: number[], fanIn: number, rng: Rng = initRng): tf.Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return rng.uniform(shape, -bound, bound);
}
