import * as tf from '@tensorflow/tfjs';

/** Options of {@link AdamW}. */
export interface AdamOptions {
  /** β₁ (default 0.9; ADD's discriminator uses 0). */
  beta1?: number;
  /** β₂ (default 0.999). */
  beta2?: number;
  /** ε added to √v̂ (default 1e-8). */
  eps?: number;
  /** Weight decay (default 0). */
  weightDecay?: number;
  /**
   * `true` (default): decoupled decay `p ← p − lr·wd·p` (AdamW, Loshchilov & Hutter 2019); `false`: L2 decay added
   * to the gradient (classic Adam).
   */
  decoupled?: boolean;
}

/**
 * Adam / AdamW over named variables, with its whole state (moments and step count) exposed as named tensors so a
 * checkpoint can save and restore it exactly. tfjs's own `tf.train.adam` has no decoupled decay and hides its step
 * count inside a non-serialisable closure, hence this implementation.
 *
 * @example
 * ```ts
 * const opt = new AdamW({ weightDecay: 0.01 });
 * opt.apply(new Map(model.namedParameters()), grads, 2e-4);
 * ```
 */
export class AdamW {
  /** Updates applied so far (for bias correction). */
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  /** Resolved options. */
  readonly options: Required<AdamOptions>;

  /** @param options - Hyper-parameters (see {@link AdamOptions}). */
  constructor(options: AdamOptions = {}) {
    this.options = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: true, ...options };
    const { beta1, beta2 } = this.options;
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new RangeError(`AdamW: betas must be in [0, 1), got ${beta1}, ${beta2}`);
  }

  /**
   * One update of every parameter that has a gradient.
   *
   * @param params - Variables by name.
   * @param grads - Gradients by the same names (not disposed here).
   * @param lr - Learning rate of this step.
   */
  apply(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    for (const name of grads.keys()) if (!params.has(name)) throw new Error(`AdamW: gradient for unknown parameter '${name}'`);
    this.step += 1;
    const { beta1, beta2, eps, weightDecay, decoupled } = this.options;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    for (const [name, g0] of grads) {
      const p = params.get(name);
      if (!p) throw new Error(`AdamW: gradient for unknown parameter '${name}'`);
      tf.tidy(() => {
        const m = this.moment(this.m, name, p);
        const v = this.moment(this.v, name, p);
        const g = !decoupled && weightDecay > 0 ? tf.add(g0, tf.mul(p, weightDecay)) : g0;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        let update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        if (decoupled && weightDecay > 0) update = tf.add(update, tf.mul(p, weightDecay));
        p.assign(tf.sub(p, tf.mul(update, lr)));
      });
    }
  }

  private moment(store: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
    let s = store.get(name);
    if (!s) {
      s = tf.variable(tf.zerosLike(like), false);
      store.set(name, s);
    }
    return s;
  }

  /** Moments as named tensors (`m.<param>`, `v.<param>`); they stay owned by the optimizer. */
  stateTensors(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [k, t] of this.m) out.set(`m.${k}`, t);
    for (const [k, t] of this.v) out.set(`v.${k}`, t);
    return out;
  }

  /**
   * Restores moments saved with {@link AdamW.stateTensors} and the step count.
   *
   * @throws Error on an entry that is neither `m.*` nor `v.*`.
   */
  loadState(tensors: ReadonlyMap<string, tf.Tensor>, step: number): void {
    for (const k of tensors.keys()) if (!k.startsWith('m.') && !k.startsWith('v.')) throw new Error(`AdamW: unexpected optimizer state entry '${k}'`);
    // Build the new moments before freeing the old ones: `tensors` may be this optimizer's own stateTensors().
    const fresh = [...tensors].map(([k, t]) => [k, tf.variable(t, false)] as const);
    this.dispose();
    for (const [k, v] of fresh) (k.startsWith('m.') ? this.m : this.v).set(k.slice(2), v);
    this.step = step;
  }

  /** Frees the moments. */
  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
