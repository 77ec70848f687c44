import * as tf from '@tensorflow/tfjs';

/**
 * Exponential moving average of parameters, `ema ← d·ema + (1 − d)·p` after every update, with the usual warm-up
 * `d_k = min(decay, (1 + k)/(10 + k))` so early averages are not dominated by the random initialisation.
 *
 * @example
 * ```ts
 * const ema = new Ema(new Map(model.namedParameters()), 0.999);
 * ema.update(step);            // after each optimizer step
 * ema.copyTo(new Map(model.namedParameters()));  // evaluate with averaged weights
 * ```
 */
export class Ema {
  private readonly shadow = new Map<string, tf.Variable>();

  /**
   * @param params - The live parameters (read at every update).
   * @param decay - Target decay d in [0, 1).
   */
  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new RangeError(`EMA decay must be in [0, 1), got ${decay}`);
    // tf.variable shares p's (immutable) data; later assigns to p swap p's data id and leave the average alone.
    for (const [k, p] of params) this.shadow.set(k, tf.variable(p, false));
  }

  /** The decay used at update number `step` (0-based). */
  decayAt(step: number): number {
    return Math.min(this.decay, (1 + step) / (10 + step));
  }

  /** Folds the current parameters into the average. */
  update(step: number): void {
    const d = this.decayAt(step);
    tf.tidy(() => {
      for (const [k, s] of this.shadow) s.assign(tf.add(tf.mul(s, d), tf.mul(this.params.get(k) as tf.Tensor, 1 - d)));
    });
  }

  /** The averaged values by parameter name (owned by this object). */
  tensors(): Map<string, tf.Variable> {
    return new Map(this.shadow);
  }

  /** Overwrites the averages (e.g. from a checkpoint); names must match. */
  load(values: ReadonlyMap<string, tf.Tensor>): void {
    for (const [k, s] of this.shadow) {
      const v = values.get(k);
      if (!v) throw new Error(`EMA state lacks '${k}'`);
      s.assign(v);
    }
  }

  /** Writes the averages into `target` variables (same names). */
  copyTo(target: ReadonlyMap<string, tf.Variable>): void {
    for (const [k, s] of this.shadow) {
      const t = target.get(k);
      if (!t) throw new Error(`EMA copy: target lacks '${k}'`);
      t.assign(s);
    }
  }

  /** Frees the averages. */
  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
    this.shadow.clear();
  }
}
