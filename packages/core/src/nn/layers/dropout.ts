import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../random/seeded';
import { defaultInitRng } from '../init';
import { Module } from '../module';

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /**
   * Generator of the masks. Default: a stream forked from the shared init generator under a name drawn from it, so
   * every layer has its own masks and the whole set is reproducible after `manualSeed`.
   */
  rng?: Rng;
}

/**
 * Inverted dropout: in training mode each element is zeroed with probability `rate` and the survivors are scaled by
 * `1/(1 − rate)`; in eval mode the identity. Masks come from a seeded {@link Rng}.
 */
export class Dropout extends Module {
  private rng: Rng;

  /** @param rate drop probability in `[0, 1)`. */
  constructor(
    readonly rate: number,
    options: DropoutOptions = {},
  ) {
    super();
    if (!(rate >= 0 && rate < 1)) throw new Error(`Dropout: rate must be in [0, 1), got ${rate}`);
    // fork(name) is a pure function of the name, so the name itself must differ per layer.
    this.rng = options.rng ?? defaultInitRng().fork(`dropout-${defaultInitRng().nextU32()}`);
  }

  /**
   * Replaces the mask generator. Trainers call this every step with a generator derived from (seed, step, layer
   * path), so the masks of step k do not depend on how many steps ran before in this process — which is what makes
   * resuming from a checkpoint reproduce an uninterrupted run.
   */
  reseed(rng: Rng): void {
    this.rng = rng;
  }

  /** Masks and rescales in training mode; returns `x` in eval mode. */
  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.rate === 0) return x;
    return tf.tidy(() => {
      const keep = tf.cast(tf.greaterEqual(this.rng.uniform(x.shape, 0, 1), this.rate), x.dtype);
      return tf.mul(x, tf.mul(keep, 1 / (1 - this.rate)));
    });
  }
}
