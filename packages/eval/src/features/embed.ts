import * as tf from '@tensorflow/tfjs';
import { FeatureMatrix } from '../metrics/features';
import { ProbabilityMatrix } from '../metrics/classifier-score';
import { FeatureNetwork } from './feature-network';

/** Features (and class probabilities, for classifier networks) of a set of images. */
export interface EmbeddedSet {
  /** Feature vectors. */
  features: FeatureMatrix;
  /** Class probabilities, when the network gives them. */
  probs?: ProbabilityMatrix;
}

/**
 * Runs a feature network over `n` images stored back to back (shape `[n, ...imageShape]`, values in [−1, 1]) in
 * batches, returning float32 features and probabilities.
 *
 * @param onProgress - Called after each batch with images done and the total.
 */
export function embedImages(
  net: FeatureNetwork,
  data: Float32Array,
  imageShape: readonly number[],
  batchSize = 250,
  onProgress?: (done: number, total: number) => void,
): EmbeddedSet {
  const per = imageShape.reduce((a, b) => a * b, 1);
  if (data.length % per !== 0) throw new Error(`embedImages: ${data.length} values is not a whole number of [${imageShape.join(', ')}] images`);
  const n = data.length / per;
  const features = new Float32Array(n * net.featureDim);
  const probs = net.classes ? new Float32Array(n * net.classes) : undefined;
  for (let s = 0; s < n; s += batchSize) {
    const m = Math.min(batchSize, n - s);
    tf.tidy(() => {
      const x = tf.tensor(data.subarray(s * per, (s + m) * per), [m, ...imageShape]);
      const e = net.embed(x);
      features.set(e.features.dataSync() as Float32Array, s * net.featureDim);
      if (probs && e.probs && net.classes) probs.set(e.probs.dataSync() as Float32Array, s * net.classes);
    });
    onProgress?.(s + m, n);
  }
  return {
    features: { data: features, n, dim: net.featureDim },
    probs: probs && net.classes ? { data: probs, n, classes: net.classes } : undefined,
  };
}
