import * as tf from '@tensorflow/tfjs';
import { Rng } from '@diffpress/core';
import { ArrayDataset, DataBatch, LossFn, TrainingRunSettings, datasetBatches, sampleSize, takeBatch } from '@diffpress/diffusion';
import { MNIST_CLASSIFIER_CONFIG, MnistClassifier, MnistClassifierConfig } from './mnist-classifier';

/** Everything that defines the training run of the shipped MNIST classifier (and so its reproducing command). */
export interface ClassifierTrainingSpec extends TrainingRunSettings {
  /** Versioned id and folder name under `models/`. */
  id: string;
  /** Architecture. */
  config: MnistClassifierConfig;
  /** Augmentation: each training digit is shifted by up to this many pixels in x and y (uniform integers). */
  maxShift: number;
}

/** The shipped feature network's training run: 24 epochs of the 8 000 training digits. */
export const MNIST_CLASSIFIER_SPEC: ClassifierTrainingSpec = {
  id: 'mnist-classifier-v1',
  config: MNIST_CLASSIFIER_CONFIG,
  data: 'mnist/train',
  batchSize: 64,
  steps: 3000,
  lr: { lr: 2e-3, warmupSteps: 100, decay: 'cosine', totalSteps: 3000, minLr: 1e-5 },
  weightDecay: 1e-4,
  emaDecay: 0.995,
  maxShift: 2,
  seed: 3,
};

/**
 * Shifts each image of a batch by whole pixels, filling the uncovered border with `fill` (the background, −1 for
 * images in [−1, 1]). Shift `[dy, dx]` moves content down/right for positive values.
 *
 * @param data - `n` images `[h, w, c]` back to back.
 * @returns A new array of the same size.
 */
export function shiftImages(data: Float32Array, shape: readonly [number, number, number], shifts: ReadonlyArray<readonly [number, number]>, fill: number): Float32Array {
  const [h, w, c] = shape;
  const per = h * w * c;
  if (data.length !== shifts.length * per) throw new Error(`shiftImages: ${data.length} values for ${shifts.length} images of ${per}`);
  const out = new Float32Array(data.length).fill(fill);
  shifts.forEach(([dy, dx], n) => {
    for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
      const src = n * per + (y - dy) * w * c;
      const dst = n * per + y * w * c;
      const x0 = Math.max(0, dx);
      const x1 = Math.min(w, w + dx);
      if (x1 <= x0) continue;
      out.set(data.subarray(src + (x0 - dx) * c, src + (x1 - dx) * c), dst + x0 * c);
    }
  });
  return out;
}

/**
 * Training batches with random-shift augmentation, as a pure function of the step (so a resumed run sees the same
 * batches): the rows come from `datasetBatches`, the shifts from `Rng(seed, 'augment/step-<step>')`.
 */
export function augmentedBatches(ds: ArrayDataset, batchSize: number, seed: number, maxShift: number): (step: number) => DataBatch {
  const base = datasetBatches(ds, batchSize, seed);
  const shape = ds.sampleShape as unknown as [number, number, number];
  if (shape.length !== 3) throw new Error(`augmentedBatches: images [h, w, c] expected, dataset ${ds.name} has [${ds.sampleShape.join(', ')}]`);
  return (step) => {
    const b = base(step);
    if (maxShift === 0) return b;
    const rows = b.rows ?? [];
    b.x.dispose();
    const rng = new Rng(seed, `augment/step-${step}`);
    const shifts = rows.map(() => [rng.int(2 * maxShift + 1) - maxShift, rng.int(2 * maxShift + 1) - maxShift] as const);
    const per = sampleSize(ds);
    const raw = new Float32Array(rows.length * per);
    rows.forEach((r, j) => raw.set(ds.data.subarray(r * per, (r + 1) * per), j * per));
    return { x: tf.tensor(shiftImages(raw, shape, shifts, -1), [rows.length, ...shape]), indices: b.indices, rows };
  };
}

/** Mean softmax cross-entropy of the classifier on a batch, with labels looked up by the batch's dataset rows. */
export function classifierLoss(labels: Int32Array, classes: number): LossFn<MnistClassifier, DataBatch> {
  return (model, batch) => {
    if (!batch.rows) throw new Error('classifierLoss: the batch has no dataset rows to look labels up by');
    const y = Array.from(batch.rows, (r) => labels[r]);
    return tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(y, 'int32'), classes), model.forward(batch.x)) as tf.Scalar);
  };
}

/** Accuracy of a classifier on a labelled dataset, overall and per class. */
export interface ClassifierAccuracy {
  /** Fraction correct over all samples. */
  accuracy: number;
  /** Fraction correct per class (NaN for a class without samples). */
  perClass: number[];
  /** Number of samples. */
  count: number;
}

/**
 * Evaluates a classifier (eval mode, batches of `batchSize`) on every sample of a labelled dataset.
 *
 * @throws Error when the dataset has no labels.
 */
export function classifierAccuracy(model: MnistClassifier, ds: ArrayDataset, batchSize = 500): ClassifierAccuracy {
  const labels = ds.labels;
  if (!labels) throw new Error(`classifierAccuracy: dataset ${ds.name} has no labels`);
  const classes = model.config.classes;
  const right = new Array<number>(classes).fill(0);
  const total = new Array<number>(classes).fill(0);
  const wasTraining = model.training;
  model.eval();
  try {
    for (let s = 0; s < ds.size; s += batchSize) {
      const rows = Array.from({ length: Math.min(batchSize, ds.size - s) }, (_, j) => s + j);
      const pred = tf.tidy(() => {
        const x = takeBatch(ds, rows);
        return tf.argMax(model.forward(x), 1).dataSync();
      });
      rows.forEach((r, j) => {
        total[labels[r]]++;
        if (pred[j] === labels[r]) right[labels[r]]++;
      });
    }
  } finally {
    if (wasTraining) model.train();
  }
  const correct = right.reduce((a, b) => a + b, 0);
  return { accuracy: correct / ds.size, perClass: right.map((r, k) => r / total[k]), count: ds.size };
}
