import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../random/seeded';
import { Module } from '../module';
import { GroupNorm } from './group-norm';
import { Linear } from './linear';

/**
 * `softmax(q·kᵀ/√d)·v` over `[batch, heads, length, d]` tensors. A module of its own so that methods can wrap the
 * two activation–activation products (e.g. Q-Diffusion quantizes the inputs of both).
 */
export class ScaledDotProductAttention extends Module<[tf.Tensor, tf.Tensor, tf.Tensor]> {
  /** `(q, k, v) → [batch, heads, lengthQ, d]`. */
  forward(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const d = q.shape[q.rank - 1];
      const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d));
      return tf.matMul(tf.softmax(scores, -1), v);
    });
  }
}

/** Options of {@link SelfAttention}. Give `heads` or `headChannels`, not both (default: one head). */
export interface SelfAttentionOptions {
  /** Number of heads; must divide the channels. */
  heads?: number;
  /** Channels per head (LDM configs give this instead of `heads`). */
  headChannels?: number;
  /** GroupNorm groups of the pre-norm (default 32, or the channel count when smaller). */
  groups?: number;
  /** GroupNorm epsilon (default 1e-5). */
  eps?: number;
  /** Generator for the initial weights (default: the shared one, see `manualSeed`). */
  rng?: Rng;
}

/**
 * The DDPM/LDM spatial self-attention block on NHWC feature maps:
 * `x + proj(attention(q(norm x), k(norm x), v(norm x)))`, with every pixel a token and 1×1 projections (as
 * {@link Linear} on the channel axis). Children: `norm`, `q`, `k`, `v`, `attn`, `proj`.
 */
export class SelfAttention extends Module {
  /** Pre-normalisation. */
  readonly norm: GroupNorm;
  /** Query projection. */
  readonly q: Linear;
  /** Key projection. */
  readonly k: Linear;
  /** Value projection. */
  readonly v: Linear;
  /** The attention product. */
  readonly attn: ScaledDotProductAttention;
  /** Output projection. */
  readonly proj: Linear;
  /** Number of heads. */
  readonly heads: number;

  /** @param channels channels of the feature map (last axis). */
  constructor(
    readonly channels: number,
    options: SelfAttentionOptions = {},
  ) {
    super();
    if (options.heads != null && options.headChannels != null) {
      throw new Error('SelfAttention: give heads or headChannels, not both');
    }
    this.heads = options.headChannels != null ? channels / options.headChannels : (options.heads ?? 1);
    if (!Number.isInteger(this.heads) || this.heads < 1 || channels % this.heads !== 0) {
      throw new Error(`SelfAttention: ${channels} channels cannot be split into heads (${JSON.stringify(options)})`);
    }
    const rng = options.rng;
    this.norm = this.registerModule('norm', new GroupNorm(Math.min(options.groups ?? 32, channels), channels, { eps: options.eps }));
    this.q = this.registerModule('q', new Linear(channels, channels, { rng }));
    this.k = this.registerModule('k', new Linear(channels, channels, { rng }));
    this.v = this.registerModule('v', new Linear(channels, channels, { rng }));
    this.attn = this.registerModule('attn', new ScaledDotProductAttention());
    this.proj = this.registerModule('proj', new Linear(channels, channels, { rng }));
  }

  /** `x [n, h, w, c] → same shape`. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const [n, h, w, c] = x.shape;
      const d = c / this.heads;
      const hn = this.norm.forward(x);
      const split = (t: tf.Tensor): tf.Tensor => t.reshape([n, h * w, this.heads, d]).transpose([0, 2, 1, 3]);
      const o = this.attn.forward(split(this.q.forward(hn)), split(this.k.forward(hn)), split(this.v.forward(hn)));
      const merged = o.transpose([0, 2, 1, 3]).reshape([n, h, w, c]);
      return tf.add(x, this.proj.forward(merged));
    });
  }
}
