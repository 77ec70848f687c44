/**
 * Runtime parity: how far samples drawn on onnxruntime-node are from the same samples drawn on tfjs.
 *
 *   npx nx run tools:runtime-parity                                   # DDIM-20, 64 samples, FP and naive W8A8
 *   npx nx run tools:runtime-parity --args="--samples=16 --configs=W8A8,W8A32 --out=docs/results/runtime-parity.json"
 *
 * The shipped ε-model `unet-mnist-s-eps` is sampled with DDIM (`--steps`, default 20) from the same noise on tfjs
 * (wasm) and through `OnnxUNet` (`--threads`, default 2). After every step the two trajectories are compared: the
 * report gives the largest |difference| over all samples and pixels, per step and for the final samples. Then the
 * model is quantized with naive PTQ at W8A8 (`ptq-naive`, min-max calibration on the recipe sampler) and the tfjs
 * fake-quant samples are compared with onnxruntime's QDQ export (integer kernels) and its float export (the same
 * arithmetic as tfjs in float ops). QDQ differs from tfjs only where an activation lands on a rounding tie or where
 * float sums in another order cross one; a difference can then grow over the following steps, so the report also
 * gives the fraction of final pixels that differ by more than 1e-3.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, onnxRuntimeStatus } from '@diffpress/core';
import { OnnxUNet, PipelineModel, SamplerConfig, SamplingHook, loadDiffusionModel, sample, tinyStageContext } from '@diffpress/diffusion';
import { ptqNaive } from '@diffpress/ptq';
import { argOr } from '../cli-args';

/** One comparison of two trajectories. */
interface Parity {
  /** What was compared. */
  name: string;
  /** Largest |difference| of the final samples. */
  finalMaxAbs: number;
  /** Largest |difference| after each step. */
  perStepMaxAbs: number[];
  /** Fraction of final pixels differing by more than 1e-3. */
  finalFractionAbove1e3: number;
  /**
   * Teacher-forced: the largest |difference| of the network outputs (ε̂) when both runtimes are called on the same
   * input, the tfjs trajectory's z_t, at each step — the difference one step introduces, before any accumulation.
   */
  perCallMaxAbs: number[];
  /** Teacher-forced root-mean-square output difference per step. */
  perCallRms: number[];
  /** Wall-clock seconds of the two sampling runs (tfjs with the teacher-forced onnx calls inside, onnx alone). */
  seconds: { tfjs: number; onnx: number };
}

function trajectory(model: PipelineModel['unet'] | OnnxUNet, base: PipelineModel, sampler: SamplerConfig, count: number, hooks: SamplingHook[] = []): { steps: Float32Array[]; seconds: number } {
  const steps: Float32Array[] = [];
  const t0 = performance.now();
  const x = sample({
    model, schedule: base.schedule, prediction: base.prediction, shape: [28, 28, 1], count, seed: 0, sampler, batchSize: 64, hooks,
    onStep: (e) => {
      const i = e.i;
      const part = e.x.dataSync() as Float32Array;
      steps[i] ??= new Float32Array(count * part.length / e.indices.length);
      steps[i].set(part, e.indices[0] * (part.length / e.indices.length));
    },
  });
  x?.dispose();
  return { steps, seconds: (performance.now() - t0) / 1000 };
}

/** A hook that also calls `other` on every network input of the run and records the largest output difference per step. */
function shadow(other: OnnxUNet, perCall: number[], squares: Array<{ sum: number; n: number }>): SamplingHook {
  return {
    name: 'shadow',
    call: (c, next) => {
      const out = next(c);
      const [max, sum] = tf.tidy(() => {
        const d = tf.sub(out, c.run(() => other.forward(c.z, c.modelTime)));
        return [tf.max(tf.abs(d)).dataSync()[0], tf.sum(tf.square(d)).dataSync()[0]];
      });
      perCall[c.stepIndex] = Math.max(perCall[c.stepIndex] ?? 0, max);
      const acc = (squares[c.stepIndex] ??= { sum: 0, n: 0 });
      acc.sum += sum;
      acc.n += out.size;
      return out;
    },
  };
}

function compare(name: string, a: ReturnType<typeof trajectory>, b: ReturnType<typeof trajectory>, perCallMaxAbs: number[], squares: Array<{ sum: number; n: number }>): Parity {
  const perStep = a.steps.map((s, i) => s.reduce((m, v, k) => Math.max(m, Math.abs(v - b.steps[i][k])), 0));
  const last = a.steps.length - 1;
  let above = 0;
  a.steps[last].forEach((v, k) => {
    if (Math.abs(v - b.steps[last][k]) > 1e-3) above++;
  });
  return { name, finalMaxAbs: perStep[last], perStepMaxAbs: perStep, finalFractionAbove1e3: above / a.steps[last].length, perCallMaxAbs, perCallRms: squares.map((q) => Math.sqrt(q.sum / q.n)), seconds: { tfjs: a.seconds, onnx: b.seconds } };
}

async function main(): Promise<void> {
  const engine = await initEngine({ backend: 'wasm', quiet: true });
  const ort = onnxRuntimeStatus();
  if (!ort.available) throw new Error(ort.reason);
  const count = Number(argOr('samples', '64'));
  const steps = Number(argOr('steps', '20'));
  const threads = Number(argOr('threads', '2'));
  const sampler: SamplerConfig = { kind: 'ddim', steps };
  const base = loadDiffusionModel('unet-mnist-s-eps');
  const results: Parity[] = [];
  const run = (name: string, model: PipelineModel, quantization: 'qdq' | 'float'): void => {
    const onnx = new OnnxUNet(model.unet, { threads, quantization });
    const got = trajectory(onnx, model, sampler, count);
    const perCall: number[] = [];
    const squares: Array<{ sum: number; n: number }> = [];
    const ref = trajectory(model.unet, model, sampler, count, [shadow(onnx, perCall, squares)]);
    onnx.dispose();
    const r = compare(name, ref, got, perCall, squares);
    results.push(r);
    console.log(
      `${name}: final max |Δ| ${r.finalMaxAbs.toExponential(2)}, worst step of the trajectory ${Math.max(...r.perStepMaxAbs).toExponential(2)}, ` +
        `worst teacher-forced call |Δε̂| ${Math.max(...r.perCallMaxAbs).toExponential(2)} (RMS ${Math.max(...r.perCallRms).toExponential(2)}), final pixels > 1e-3: ${(100 * r.finalFractionAbove1e3).toFixed(3)} %  (onnx ${r.seconds.onnx.toFixed(1)} s)`,
    );
  };
  run('FP32', base, 'qdq');
  const ctx = { ...tinyStageContext(base, { sampler, workDir: fs.mkdtempSync(path.join(os.tmpdir(), 'parity-')) }), log: (l: string) => console.log(`  ptq-naive: ${l}`) };
  for (const label of argOr('configs', 'W8A8').split(',')) {
    const m = /^W(\d+)A(\d+)$/.exec(label.trim());
    if (!m) throw new Error(`--configs: '${label}' is not of the form W8A8`);
    const config = ptqNaive.config.parse({ weightBits: Number(m[1]), activationBits: Number(m[2]), diagnostics: { trajectories: 0 } });
    const q = await ptqNaive.apply(ctx, config);
    const quantized = q.model ?? base;
    run(`naive ${label}, QDQ export`, quantized, 'qdq');
    run(`naive ${label}, float export`, quantized, 'float');
    quantized.unet.dispose();
  }
  const report = {
    model: 'unet-mnist-s-eps', sampler: `ddim-${steps}`, samples: count, threads, onnxruntime: ort.version, tfjs: tf.version.tfjs, backend: engine.backend, date: new Date().toISOString(), results,
  };
  const out = argOr('out', '');
  if (out) {
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`written ${out}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
