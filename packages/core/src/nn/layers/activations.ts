import * as tf from '@tensorflow/tfjs';
import { silu } from '../../ops/activation-norm';
import { Module } from '../module';

/** SiLU / swish: `x · sigmoid(x)`, the activation of DDPM-style UNets. */
export class SiLU extends Module {
  /** Element-wise `x · σ(x)`. */
  forward(x: tf.Tensor): tf.Tensor {
    return silu(x);
  }
}

/** Passes its input through; stands in for an optional or removed layer. */
export class Identity extends Module {
  /** Returns `x` unchanged. */
  forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
}
