import * as tf from '@tensorflow/tfjs';
import { Module } from '@diffpress/core';
import { Prediction, targetFor } from '../schedule/parameterization';
import { NoiseSchedule } from '../schedule/schedule';

/**
 * Test double: a perfect denoiser for a one-point data distribution. It knows x₀ and returns exactly what a network
 * of the given parameterization should output for (z, t), optionally scaled to make it wrong.
 */
export class Oracle extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  /**
   * @param x0 - The data point `[1, ...shape]`.
   * @param schedule - Schedule the model times refer to.
   * @param prediction - Parameterization to answer in.
   * @param scale - Multiplies the answer (1 = perfect).
   */
  constructor(
    private readonly x0: tf.Tensor,
    private readonly schedule: NoiseSchedule,
    private readonly prediction: Prediction,
    private readonly scale = 1,
  ) {
    super();
  }

  /** The exact target for each row's own time. */
  forward(z: tf.Tensor, t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      // Model time back to schedule time: the index itself (discrete) or 1000·u (continuous).
      const times = Array.from(t.dataSync()).map((m) => (this.schedule.kind === 'discrete' ? Math.round(m) : m / 1000));
      const coeff = (f: (u: number) => number): tf.Tensor => tf.tensor(times.map(f), [times.length, ...new Array<number>(z.rank - 1).fill(1)]);
      const a = coeff((u) => this.schedule.alpha(u));
      const s = coeff((u) => this.schedule.sigma(u));
      const x = tf.broadcastTo(this.x0, z.shape);
      const eps = tf.div(tf.sub(z, tf.mul(x, a)), s);
      return tf.mul(targetFor(this.prediction, x, eps, a, s), this.scale);
    });
  }
}
