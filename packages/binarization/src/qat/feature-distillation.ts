import * as tf from '@tensorflow/tfjs';
import { symmetricEigen } from '@diffpress/core';
import { gaussianStats } from '@diffpress/eval';

/**
 * Feature distillation on the UNet's block outputs during QAT:
 * - `lrm` — BinaryDM's low-rank representation mimicking: `λ·mean_i MSE(F_s,i K_i, F_t,i K_i)` with K_i a fixed
 *   PCA projection of the teacher's features;
 * - `mse` — plain `λ·mean_i MSE(F_s,i, F_t,i)` (the paper's "MSE" ablation row);
 * - `none` — no feature term.
 */
export type DistillKind = 'lrm' | 'mse' | 'none';

/**
 * The axis LRM projects: `channel` (the paper: over the C channels of every position) or `width` (the reference
 * code, which projects the last axis of its NCHW features — the spatial width).
 */
export type LrmAxis = 'channel' | 'width';

/** Settings of {@link FeatureDistiller}. */
export interface FeatureDistillOptions {
  /** See {@link DistillKind}. */
  kind: DistillKind;
  /** Weight λ of the feature term. */
  lambda: number;
  /** See {@link LrmAxis} (LRM only). */
  axis: LrmAxis;
  /** The rank divisor K: projections keep ⌈d/K⌉ of the d components (LRM only; paper K = 4). */
  factor: number;
}

/** `[n, h, w, c]` features as rows over the projected axis: `[n·h·w, c]` (channel) or `[n·h·c, w]` (width). */
function rows(f: tf.Tensor, axis: LrmAxis): tf.Tensor2D {
  return tf.tidy(() => {
    if (f.rank !== 4) return f.reshape([-1, f.shape[f.rank - 1]]) as tf.Tensor2D;
    const g = axis === 'width' ? tf.transpose(f, [0, 1, 3, 2]) : f;
    return g.reshape([-1, g.shape[3] as number]) as tf.Tensor2D;
  });
}

/**
 * The PCA projection LRM keeps fixed for one block (binarization spec §1.3): the eigenvectors of the d×d covariance
 * of the centred rows (see {@link LrmAxis}) with the ⌈d/factor⌉ largest eigenvalues, as columns `[d, r]`, largest
 * first. The covariance is reduced in float64 and decomposed with core's symmetric eigen-solver (tfjs has no SVD);
 * for rows X, these are the right singular vectors `torch.pca_lowrank(X, center=True)` approximates.
 */
export function pcaProjection(features: tf.Tensor, axis: LrmAxis = 'channel', factor = 4): tf.Tensor2D {
  if (!(factor >= 1)) throw new RangeError(`pcaProjection: factor must be ≥ 1, got ${factor}`);
  const x = rows(features, axis);
  const [m, d] = x.shape;
  const data = x.dataSync() as Float32Array;
  x.dispose();
  // The unbiased covariance of the rows, accumulated in float64 from centred values (eval's Fréchet statistics).
  const { cov } = gaussianStats({ data, n: m, dim: d });
  const { vectors } = symmetricEigen(cov);
  const r = Math.ceil(d / factor);
  const k = new Float32Array(d * r);
  // Eigenvalues are ascending: column d − 1 − c is the c-th largest.
  for (let i = 0; i < d; i++) for (let c = 0; c < r; c++) k[i * r + c] = vectors.data[i * d + (d - 1 - c)];
  return tf.tensor2d(k, [d, r]);
}

/**
 * The feature term of the QAT loss over named block outputs (the UNet's `forwardWithFeatures`). LRM's projections
 * are computed once, from the teacher's features on the first training batch ({@link FeatureDistiller.fit}), and
 * then kept fixed, as in the paper; a resumed run refits them on the same first batch, which gives the same K.
 */
export class FeatureDistiller {
  private readonly projections = new Map<string, tf.Tensor2D>();

  /** @param options - Kind, λ, axis and rank divisor. */
  constructor(readonly options: FeatureDistillOptions) {}

  /** Whether there is a feature term at all. */
  get active(): boolean {
    return this.options.kind !== 'none' && this.options.lambda > 0;
  }

  /** Fits the LRM projections from the teacher's features of the first batch (no-op for other kinds). */
  fit(teacher: Record<string, tf.Tensor>): void {
    if (this.options.kind !== 'lrm') return;
    for (const [name, f] of Object.entries(teacher)) {
      this.projections.get(name)?.dispose();
      this.projections.set(name, pcaProjection(f, this.options.axis, this.options.factor));
    }
  }

  /** The projection of block `name` (LRM, after {@link fit}). */
  projection(name: string): tf.Tensor2D | undefined {
    return this.projections.get(name);
  }

  /** `[d, r]` of every projection, for the report. */
  ranks(): Record<string, [number, number]> {
    return Object.fromEntries([...this.projections].map(([n, k]) => [n, [k.shape[0], k.shape[1]]]));
  }

  /**
   * `λ·mean_i MSE(·)` over the blocks present in both maps (student features keep their gradient, the teacher's
   * are constants).
   *
   * @throws Error when LRM has not been fitted for a block.
   */
  loss(student: Record<string, tf.Tensor>, teacher: Record<string, tf.Tensor>): tf.Scalar {
    const names = Object.keys(teacher).filter((n) => n in student);
    if (names.length === 0) throw new Error('FeatureDistiller: no block outputs in common between student and teacher');
    return tf.tidy(() => {
      const terms = names.map((n) => {
        if (this.options.kind === 'mse') return tf.mean(tf.squaredDifference(student[n], teacher[n]));
        const k = this.projections.get(n);
        if (!k) throw new Error(`FeatureDistiller: no LRM projection for block '${n}' (call fit first)`);
        const ax = this.options.axis;
        return tf.mean(tf.squaredDifference(tf.matMul(rows(student[n], ax), k), tf.matMul(rows(teacher[n], ax), k)));
      });
      return tf.mul(tf.addN(terms), this.options.lambda / terms.length) as tf.Scalar;
    });
  }

  /** Frees the projections. */
  dispose(): void {
    for (const k of this.projections.values()) k.dispose();
    this.projections.clear();
  }
}
