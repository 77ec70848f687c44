import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../random/seeded';
import { uniformFanIn } from '../init';
import { Module } from '../module';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn a bias (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default: the shared one, see `manualSeed`). */
  rng?: Rng;
}

/**
 * Affine map on the last axis: `y = x·W + b`, with `weight` `[in, out]` (transposed relative to PyTorch's
 * `[out, in]`, so no transpose is needed in the forward pass). Inputs of any rank ≥ 1 whose last axis is `in`.
 */
export class Linear extends Module {
  /** Weight `[inFeatures, outFeatures]`. */
  readonly weight: tf.Variable;
  /** Bias `[outFeatures]`, or `null`. */
  readonly bias: tf.Variable | null;

  /**
   * @param inFeatures size of the input's last axis.
   * @param outFeatures size of the output's last axis.
   */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    this.weight = this.registerParameter('weight', uniformFanIn([inFeatures, outFeatures], inFeatures, options.rng));
    this.bias = options.bias === false ? null : this.registerParameter('bias', uniformFanIn([outFeatures], inFeatures, options.rng));
  }

  /** `x [..., in] → [..., out]`. */
  forward(x: tf.Tensor): tf.Tensor {
    return this.forwardWith(x, this.weight);
  }

  /**
   * The layer with a substitute weight matrix of the weight's shape (and this layer's bias): how quantizers and
   * binarizers run it with a transformed copy of `weight` without replacing it.
   */
  forwardWith(x: tf.Tensor, weight: tf.Tensor): tf.Tensor {
    if (!tf.util.arraysEqual(weight.shape, this.weight.shape)) {
      throw new Error(`Linear.forwardWith: weight shape [${weight.shape.join(', ')}] differs from the layer's [${this.weight.shape.join(', ')}]`);
    }
    const lead = x.shape.slice(0, -1);
    const x2 = x.reshape([-1, this.inFeatures]) as tf.Tensor2D;
    const y = tf.fused.matMul({ a: x2, b: weight as tf.Tensor2D, bias: this.bias ?? undefined });
    return y.reshape([...lead, this.outFeatures]);
  }
}
