/**
 * Memory and speed of PTQ block reconstruction on a shipped model (ptq acceptance: the largest unit stays under
 * 2 GiB of wasm heap at the recipe's batch size).
 *
 * Builds the calibration set of the recipe's sampler, quantizes the model at W4A8 (Q-Diffusion layout: everything
 * quantized, split shortcuts), finds the unit whose inputs and output are largest per row, and reconstructs it —
 * weights (AdaRound) then activation step sizes — for `--iters` steps at `--batch` rows. Prints the wasm heap size
 * (the heap only grows, so its size afterwards is the peak), the peak of live tensor bytes, and seconds per step.
 *
 *   npx nx run tools:ptq-recon-memory --args="--model=unet-mnist-s-v --batch=16 --iters=20"
 */
import * as tf from '@tensorflow/tfjs';
import { BackendName, Rng, initEngine } from '@diffpress/core';
import { loadDiffusionModel } from '@diffpress/diffusion';
import {
  KEEP_FP_PRESETS, calibrateActivations, calibrationBatch, calibrationSet, captureAt, initWeightQuantizers, quantizeUNet, reconstructUnit, reconstructionUnits, releaseFpWeights, rowSize, setQuantState,
} from '@diffpress/ptq';
import { argOr } from '../cli-args';

function heapBytes(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.length ?? null;
}

const MIB = 2 ** 20;

async function main(): Promise<void> {
  tf.env().set('PROD', true);
  await initEngine({ backend: argOr('backend', 'wasm') as BackendName, quiet: true });
  const batch = Number(argOr('batch', '32'));
  const iters = Number(argOr('iters', '20'));
  const steps = Number(argOr('steps', '20'));
  const perStep = Number(argOr('per-step', '32'));
  const m = loadDiffusionModel(argOr('model', 'unet-mnist-s-eps'));
  const model = { id: m.id, unet: m.unet, schedule: m.schedule, prediction: m.prediction };
  const t0 = performance.now();
  const set = calibrationSet({ model, sampler: { kind: 'ddim', steps }, spec: { strategy: 'uniform', steps: 20, fraction: 0.25, perStep }, seed: 0, cacheDir: process.env.DIFFPRESS_STORE, log: (l) => console.log(l) });
  console.log(`calibration set: ${set.rows} rows, ${((performance.now() - t0) / 1000).toFixed(1)} s; heap ${((heapBytes() ?? 0) / MIB).toFixed(0)} MiB`);
  const q = quantizeUNet(model.unet, { weightBits: 4, activationBits: 8, softmaxBits: 8, split: true, keepFp: KEEP_FP_PRESETS.none });
  initWeightQuantizers(q, 'minmax');
  const units = reconstructionUnits(q.unet, q);
  // Size of each unit's inputs + output per row, from one row.
  const sizes = units.map((u) => {
    const { x, t } = calibrationBatch(set, [0]);
    const io = [...captureAt(q.unet, u.path, x, t, 'inputs'), ...captureAt(q.unet, u.path, x, t, 'output')];
    tf.dispose([x, t]);
    return { unit: u, floats: io.reduce((s, h) => s + rowSize(h), 0) };
  });
  sizes.sort((a, b) => b.floats - a.floats);
  const largest = sizes[0].unit;
  console.log(`${units.length} units; largest per row: ${sizes.slice(0, 3).map((s) => `${s.unit.path} (${s.floats} floats)`).join(', ')}`);
  let peak = 0;
  const log = (l: string): void => {
    peak = Math.max(peak, tf.memory().numBytes);
    console.log(l);
  };
  const rng = new Rng(0);
  const source = (idx: number[]): { x: tf.Tensor; t: tf.Tensor } => {
    peak = Math.max(peak, tf.memory().numBytes);
    return calibrationBatch(set, idx);
  };
  setQuantState(q, { weights: true, activations: false });
  const w = reconstructUnit(q.unet, q, largest, set.rows, source, { phase: 'weights', iters, batchSize: batch, lr: 1e-3, p: 2, rng, log });
  console.log(`weights: ${(w.seconds / iters).toFixed(2)} s/step (incl. capture); heap ${((heapBytes() ?? 0) / MIB).toFixed(0)} MiB`);
  calibrateActivations(q.unet, q, set, { init: 'minmax', rows: rng.permutation(set.rows).slice(0, 64), batchSize: 64, rng });
  const a = reconstructUnit(q.unet, q, largest, set.rows, source, { phase: 'activations', iters, batchSize: batch, lr: 4e-4, p: 2.4, rng, log });
  console.log(`activations: ${(a.seconds / iters).toFixed(2)} s/step (incl. capture)`);
  releaseFpWeights(q);
  console.log(`RESULT unit ${largest.path} batch ${batch}: wasm heap ${((heapBytes() ?? 0) / MIB).toFixed(0)} MiB after both phases (peak: the heap never shrinks); peak live tensors seen ${(peak / MIB).toFixed(0)} MiB`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
