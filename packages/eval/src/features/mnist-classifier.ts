import * as tf from '@tensorflow/tfjs';
import { Conv2d, Dropout, Linear, Module, Rng } from '@diffpress/core';

/** Architecture of {@link MnistClassifier}. */
export interface MnistClassifierConfig {
  /** Output channels of the three convolutions (5×5 stride 1, 5×5 stride 2, 3×3 stride 2). */
  channels: [number, number, number];
  /** Width of the penultimate layer: the feature space of `fd-mnist-classifier-v1` and the other feature metrics. */
  hidden: number;
  /** Classes. */
  classes: number;
  /** Dropout before the last layer during training. */
  dropout: number;
}

/** The architecture of the shipped `mnist-classifier` (434,570 parameters, 4.13 M MACs per digit). */
export const MNIST_CLASSIFIER_CONFIG: MnistClassifierConfig = { channels: [16, 32, 64], hidden: 128, classes: 10, dropout: 0.3 };

/** Logits and penultimate features of a batch. */
export interface ClassifierOutput {
  /** Class logits `[n, classes]`. */
  logits: tf.Tensor2D;
  /** Penultimate activations `[n, hidden]` (after ReLU). */
  features: tf.Tensor2D;
}

/**
 * A LeNet-style CNN for 28×28 MNIST digits in [−1, 1], the project's feature network: three convolutions with ReLU
 * (28 → 28 → 14 → 7 px), a ReLU hidden layer (the features), and a linear classifier. Down-sampling is by stride-2
 * convolution rather than max-pooling because the wasm backend has no max-pool gradient kernel.
 *
 * @example
 * ```ts
 * const net = new MnistClassifier();
 * const { logits, features } = net.forwardWithFeatures(images); // [n, 10], [n, 128]
 * ```
 */
export class MnistClassifier extends Module {
  private readonly conv1: Conv2d;
  private readonly conv2: Conv2d;
  private readonly conv3: Conv2d;
  private readonly fc: Linear;
  private readonly head: Linear;
  private readonly drop: Dropout;

  /**
   * @param config - Architecture (default {@link MNIST_CLASSIFIER_CONFIG}).
   * @param rng - Initialisation generator (default: the global init generator).
   */
  constructor(
    readonly config: MnistClassifierConfig = MNIST_CLASSIFIER_CONFIG,
    rng?: Rng,
  ) {
    super();
    const [c1, c2, c3] = config.channels;
    this.conv1 = this.registerModule('conv1', new Conv2d(1, c1, 5, { rng }));
    this.conv2 = this.registerModule('conv2', new Conv2d(c1, c2, 5, { stride: 2, rng }));
    this.conv3 = this.registerModule('conv3', new Conv2d(c2, c3, 3, { stride: 2, rng }));
    this.fc = this.registerModule('fc', new Linear(7 * 7 * c3, config.hidden, { rng }));
    this.drop = this.registerModule('drop', new Dropout(config.dropout, { rng: rng?.fork('dropout') }));
    this.head = this.registerModule('head', new Linear(config.hidden, config.classes, { rng }));
  }

  /** Class logits `[n, classes]` of images `[n, 28, 28, 1]`. */
  forward(x: tf.Tensor): tf.Tensor {
    return this.forwardWithFeatures(x).logits;
  }

  /** Logits and penultimate features in one pass. */
  forwardWithFeatures(x: tf.Tensor): ClassifierOutput {
    if (x.rank !== 4 || x.shape[1] !== 28 || x.shape[2] !== 28 || x.shape[3] !== 1) {
      throw new Error(`MnistClassifier: expected images [n, 28, 28, 1], got [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      let h = tf.relu(this.conv1.forward(x));
      h = tf.relu(this.conv2.forward(h));
      h = tf.relu(this.conv3.forward(h));
      const features = tf.relu(this.fc.forward(tf.reshape(h, [x.shape[0], -1]))) as tf.Tensor2D;
      const logits = this.head.forward(this.drop.forward(features)) as tf.Tensor2D;
      return { logits, features };
    });
  }
}
