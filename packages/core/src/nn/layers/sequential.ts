import * as tf from '@tensorflow/tfjs';
import { Module } from '../module';

/** Applies tensor-to-tensor modules in order. Children are named `0`, `1`, …. */
export class Sequential extends Module {
  /** @param modules the stages, first applied first. */
  constructor(...modules: Array<Module<[tf.Tensor], tf.Tensor>>) {
    super();
    modules.forEach((m, i) => this.registerModule(String(i), m));
  }

  /** Runs the children in order; reads them at call time, so a `replace`d child takes effect. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() =>
      this.namedChildren().reduce((h, [, m]) => (m as unknown as Module<[tf.Tensor], tf.Tensor>).forward(h), x),
    );
  }
}
