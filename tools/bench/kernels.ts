/**
 * Benchmark of the composed training kernels against the backend's stock ones.
 *
 *   npx nx run tools:bench-kernels                 # wasm, batch 32, 7 repeats
 *   npx nx run tools:bench-kernels --args="--backend=cpu --repeats=5"
 *
 * Case: a 3×3 "same" conv from 32×32×64 to 64 channels at batch 32 (the acceptance case of the core issue), plus a
 * stride-2 variant and the four BatchMatMul transpose cases of an attention-sized product. Prints medians.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendName, initEngine, registerTrainingKernels, stockKernel, unregisterTrainingKernels } from '@diffpress/core';
import { argOr } from '../cli-args';
import { timeMedian } from './stats';

function fmt(ms: number): string {
  return `${ms.toFixed(1).padStart(9)} ms`;
}

async function main(): Promise<void> {
  const backend = argOr('backend', 'wasm') as BackendName;
  const repeats = Number(argOr('repeats', '7'));
  const batch = Number(argOr('batch', '32'));
  const engine = await initEngine({ backend });
  console.log(`backend ${engine.backend}, simd ${engine.simd}, threads ${engine.threads}, medians of ${repeats} after 2 warm-up runs`);

  const rows: Array<[string, number]> = [];
  const run = (label: string, f: () => tf.Tensor): number => {
    const { medianMs } = timeMedian(() => {
      const t = f();
      t.dataSync();
      t.dispose();
    }, repeats);
    rows.push([label, medianMs]);
    console.log(`${label.padEnd(58)}${fmt(medianMs)}`);
    return medianMs;
  };

  for (const stride of [1, 2] as const) {
    const x = tf.randomNormal([batch, 32, 32, 64], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 64, 64], 0, 0.1, 'float32', 2) as tf.Tensor4D;
    const y = tf.conv2d(x, w, stride, 'same');
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3) as tf.Tensor4D;
    const tag = `conv 3x3 ${batch}x32x32x64->64 stride ${stride}`;
    run(`${tag}: forward`, () => tf.conv2d(x, w, stride, 'same'));
    unregisterTrainingKernels(backend);
    const stockInput = run(`${tag}: input-gradient, stock`, () => tf.conv2dTranspose(dy, w, x.shape, stride, 'same'));
    const hasStockFilter = stockKernel(tf.Conv2DBackpropFilter, backend) != null;
    const stockFilter = hasStockFilter
      ? run(`${tag}: filter-gradient, stock`, () =>
          tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: stride, pad: 'same', dataFormat: 'NHWC', filterShape: w.shape }) as tf.Tensor,
        )
      : NaN;
    registerTrainingKernels(backend);
    const ourInput = run(`${tag}: input-gradient, registered`, () => tf.conv2dTranspose(dy, w, x.shape, stride, 'same'));
    const ourFilter = run(`${tag}: filter-gradient, registered`, () =>
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: stride, pad: 'same', dataFormat: 'NHWC', filterShape: w.shape }) as tf.Tensor,
    );
    console.log(`${tag}: input-gradient speed-up ${(stockInput / ourInput).toFixed(1)}x` +
      (hasStockFilter ? `, filter-gradient speed-up ${(stockFilter / ourFilter).toFixed(1)}x` : ', no stock filter-gradient on this backend'));
    tf.dispose([x, w, y, dy]);
  }

  const a = tf.randomNormal([8, 256, 64], 0, 1, 'float32', 4);
  const b = tf.randomNormal([8, 256, 64], 0, 1, 'float32', 5);
  for (const [ta, tb] of [[false, true], [true, false]] as const) {
    const tag = `matmul [8,256,64]x[8,256,64] transposeA=${ta} transposeB=${tb}`;
    unregisterTrainingKernels(backend);
    const stock = run(`${tag}: stock`, () => tf.matMul(a, b, ta, tb));
    registerTrainingKernels(backend);
    const ours = run(`${tag}: registered`, () => tf.matMul(a, b, ta, tb));
    console.log(`${tag}: speed-up ${(stock / ours).toFixed(1)}x`);
  }
  tf.dispose([a, b]);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
