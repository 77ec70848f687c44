/**
 * Benchmark of the float64 linear algebra of `@diffpress/core` (Householder tridiagonalization + implicit QL
 * underneath) on a covariance of the size the project's issue names: 256×256, from 1024 samples of 256 correlated
 * features.
 *
 *   TS_NODE_PROJECT=tools/tsconfig.json TS_NODE_TRANSPILE_ONLY=true \
 *     node -r ts-node/register -r tsconfig-paths/register tools/bench/linalg.ts \
 *     [--dim=256] [--samples=1024] [--repeats=3]
 *
 * A few seconds at the defaults: each 256×256 decomposition takes about 0.1 s.
 *
 * Times symmetricEigen, sqrtmPsd and traceSqrtProduct (Σ2 from a second, independent sample of the same
 * distribution: the situation of a Fréchet distance between a good generator and the data). Prints medians after
 * one warm-up call, and the errors ‖VΛVᵀ − C‖max, ‖VᵀV − I‖max and ‖(√C)² − C‖max.
 */
import {
  Matrix64,
  SymmetricEigen,
  fromEigen,
  matmul64,
  matrix64,
  maxAbsDiff,
  sqrtmPsd,
  symmetricEigen,
  traceSqrtProduct,
  transpose64,
} from '@diffpress/core';
import { argOr } from '../cli-args';
import { timeMedian } from './stats';

/** Standard normal deviates from a seeded xorshift32 through Box–Muller: reproducible without a dependency. */
function normals(count: number, seed: number): Float64Array {
  let s = seed | 0 || 1;
  const uniform = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 2 ** 32;
  };
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const t = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(t);
    if (i + 1 < count) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/**
 * Sample covariance of `samples` feature vectors z·A, z standard normal: A mixes the features, so the covariance has
 * a spread spectrum (≈ AᵀA plus sampling noise) rather than the near-identity of independent features.
 */
function featureCovariance(mixing: Matrix64, samples: number, seed: number): Matrix64 {
  const dim = mixing.rows;
  const x = matmul64({ rows: samples, cols: dim, data: normals(samples * dim, seed) }, mixing);
  for (let j = 0; j < dim; j++) {
    let mean = 0;
    for (let i = 0; i < samples; i++) mean += x.data[i * dim + j];
    mean /= samples;
    for (let i = 0; i < samples; i++) x.data[i * dim + j] -= mean;
  }
  const c = matmul64(transpose64(x), x);
  for (let k = 0; k < c.data.length; k++) c.data[k] /= samples - 1;
  return c;
}

function fmt({ medianMs, samplesMs }: { medianMs: number; samplesMs: number[] }): string {
  const s = (ms: number): string => (ms / 1000).toFixed(2);
  return `${s(medianMs).padStart(8)} s  (runs ${samplesMs.map(s).join(', ')} s)`;
}

function main(): void {
  const dim = Number(argOr('dim', '256'));
  const samples = Number(argOr('samples', '1024'));
  const repeats = Number(argOr('repeats', '3'));
  const mixing: Matrix64 = { rows: dim, cols: dim, data: normals(dim * dim, 1).map((v) => v / Math.sqrt(dim)) };
  const c1 = featureCovariance(mixing, samples, 2);
  const c2 = featureCovariance(mixing, samples, 3);
  console.log(`${dim}×${dim} covariances of ${samples} samples; medians of ${repeats} runs after 1 warm-up run`);

  let eigen: SymmetricEigen | undefined;
  let root: Matrix64 | undefined;
  let cross = NaN;
  const eig = timeMedian(() => (eigen = symmetricEigen(c1)), repeats, 1);
  console.log(`${'symmetricEigen(C1)'.padEnd(32)}${fmt(eig)}`);
  const sqrt = timeMedian(() => (root = sqrtmPsd(c1)), repeats, 1);
  console.log(`${'sqrtmPsd(C1)'.padEnd(32)}${fmt(sqrt)}`);
  const trace = timeMedian(() => (cross = traceSqrtProduct(c1, c2)), repeats, 1);
  console.log(`${'traceSqrtProduct(C1, C2)'.padEnd(32)}${fmt(trace)}`);
  if (eigen === undefined || root === undefined) throw new Error('bench: nothing was timed');

  const scale = c1.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const e = (x: number): string => x.toExponential(3);
  const identity = matrix64(Array.from({ length: dim }, (_, i) => Array.from({ length: dim }, (__, j) => +(i === j))));
  const reconstruction = maxAbsDiff(fromEigen(eigen), c1);
  console.log(`eigenvalues ${e(eigen.values[0])} … ${e(eigen.values[dim - 1])}, max |C1| ${e(scale)}`);
  console.log(`‖VΛVᵀ − C1‖max ${e(reconstruction)} (${e(reconstruction / scale)} relative)`);
  console.log(`‖VᵀV − I‖max ${e(maxAbsDiff(matmul64(transpose64(eigen.vectors), eigen.vectors), identity))}`);
  console.log(`‖(√C1)² − C1‖max ${e(maxAbsDiff(matmul64(root, root), c1))}`);
  console.log(`tr sqrtm(√C1·C2·√C1) = ${cross.toFixed(6)}`);
}

main();
