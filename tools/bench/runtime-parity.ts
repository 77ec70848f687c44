/**
 * Runtime parity: how far samples drawn on onnxruntime-node are from the same samples drawn on tfjs.
 *
 *   npx nx run tools:runtime-parity                                   # DDIM-20, 64 samples, FP and naive W8A8
 *   npx nx run tools:runtime-parity --args="--samples=64 --configs=W8A8,W8A32 --floor-steps=0,10,19 --out=docs/results/runtime-parity.json"
 *
 * The shipped ε-model `unet-mnist-s-eps` is sampled with DDIM (`--steps`, default 20) from the same noise on tfjs
 * (wasm) and through `OnnxUNet` (`--threads`, default 2). After every step the two trajectories are compared: the
 * report gives the largest |difference| over all samples and pixels, per step and for the final samples. Then the
 * model is quantized with naive PTQ at W8A8 (`ptq-naive`, min-max calibration on the recipe sampler) and the tfjs
 * fake-quant samples are compared with onnxruntime's QDQ export (integer kernels) and its float export (the same
 * arithmetic as tfjs in float ops). QDQ differs from tfjs only where an activation lands on a rounding tie or where
 * float sums in another order cross one; a difference can then grow over the following steps, so the report also
 * gives the fraction of final pixels that differ by more than 1e-3. To tell rounding ties from a real difference, every
 * teacher-forced call is also made on tfjs with its input nudged by one float rounding: a fake-quantized network
 * that moves as far under that nudge as between the runtimes differs between them by ties only. The nudge perturbs
 * the input only, while another runtime sums in another order in every layer; `--floor-steps=0,10,19` (with
 * `--floor-samples`, default 8) therefore also calls tfjs's `cpu` backend at those steps on the batch's first rows —
 * the same fake-quant arithmetic with other kernels, ~100× slower than wasm — and reports its difference next to
 * onnxruntime's on the same rows.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, onnxRuntimeStatus } from '@diffpress/core';
import { OnnxUNet, PipelineModel, SamplerConfig, SamplingHook, loadDiffusionModel, sample, tinyStageContext } from '@diffpress/diffusion';
import { ptqNaive } from '@diffpress/ptq';
import { argOr, listArg } from '../cli-args';

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
  /**
   * The same two measures for tfjs against itself, called on z_t nudged by one float rounding (z·(1 + 2⁻²³)): how
   * far the network's output moves when only the last bit of its input does. Of the size of FP32's per-call
   * difference for a float network; for a fake-quantized one it is what rounding ties alone do, the floor against
   * which the QDQ difference is read.
   */
  perCallTiesMaxAbs: number[];
  /** Root-mean-square of the one-rounding nudge's output difference per step. */
  perCallTiesRms: number[];
  /**
   * tfjs against tfjs on another backend (`cpu`: other kernels, other summation orders) at a few steps on the first
   * rows of the batch, next to onnxruntime against tfjs on the same rows: two implementations of the same fake-quant
   * arithmetic, so the difference rounding ties alone make. Absent when not asked for (`--floor-steps`).
   */
  floor?: { steps: number[]; rows: number; cpuMaxAbs: number[]; cpuRms: number[]; onnxMaxAbs: number[]; onnxRms: number[] };
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

/** Per step: the largest |difference| and the running sum of squares over all calls of that step. */
class StepDiffs {
  readonly max: number[] = [];
  private readonly squares: Array<{ sum: number; n: number }> = [];

  add(step: number, a: tf.Tensor, b: tf.Tensor): void {
    const [max, sum] = tf.tidy(() => {
      const d = tf.sub(a, b);
      return [tf.max(tf.abs(d)).dataSync()[0], tf.sum(tf.square(d)).dataSync()[0]];
    });
    this.max[step] = Math.max(this.max[step] ?? 0, max);
    const acc = (this.squares[step] ??= { sum: 0, n: 0 });
    acc.sum += sum;
    acc.n += a.size;
  }

  rms(): number[] {
    return this.squares.map((q) => Math.sqrt(q.sum / q.n));
  }
}

/**
 * A hook that also calls `other` on every network input of the run, and tfjs once more on the input nudged by one
 * float rounding, recording both output differences per step.
 */
function shadow(other: OnnxUNet, vsOnnx: StepDiffs, vsNudged: StepDiffs, floor?: Floor): SamplingHook {
  return {
    name: 'shadow',
    call: (c, next) => {
      const out = next(c);
      tf.tidy(() => {
        const onnx = c.run(() => other.forward(c.z, c.modelTime));
        vsOnnx.add(c.stepIndex, out, onnx);
        vsNudged.add(c.stepIndex, out, c.run(() => c.model.forward(tf.mul(c.z, 1 + 2 ** -23), c.modelTime)));
        // The floor's rows are the batch's first ones; a batch that starts further on has none of them.
        const rows = Math.min(floor?.rows ?? 0, c.z.shape[0]);
        if (floor && floor.steps.includes(c.stepIndex) && c.indices[0] === 0 && rows > 0) {
          const z = c.z.slice(0, rows);
          const t = c.modelTime.slice(0, rows);
          const onCpu = onBackend('cpu', () => c.run(() => c.model.forward(z, t), c.rowSteps.slice(0, rows)));
          floor.cpu.add(c.stepIndex, out.slice(0, rows), onCpu);
          floor.onnx.add(c.stepIndex, out.slice(0, rows), onnx.slice(0, rows));
        }
      });
      return out;
    },
  };
}

/** What the floor measurement collects: see {@link Parity.floor}. */
interface Floor {
  steps: number[];
  rows: number;
  cpu: StepDiffs;
  onnx: StepDiffs;
}

/**
 * Runs `fn` with `name` as the active tfjs backend. Both backends are initialized before sampling starts, and
 * switching to an initialized backend is synchronous, so a sampling hook can do it; tensors move between the
 * backends when read.
 */
function onBackend<T>(name: string, fn: () => T): T {
  const before = tf.getBackend();
  void tf.setBackend(name);
  if (tf.getBackend() !== name) throw new Error(`could not switch to the ${name} backend synchronously`);
  try {
    return fn();
  } finally {
    void tf.setBackend(before);
  }
}

function pick(values: number[], steps: number[]): number[] {
  return steps.map((s) => values[s]);
}

function compare(name: string, a: ReturnType<typeof trajectory>, b: ReturnType<typeof trajectory>, vsOnnx: StepDiffs, vsNudged: StepDiffs): Parity {
  const perStep = a.steps.map((s, i) => s.reduce((m, v, k) => Math.max(m, Math.abs(v - b.steps[i][k])), 0));
  const last = a.steps.length - 1;
  let above = 0;
  a.steps[last].forEach((v, k) => {
    if (Math.abs(v - b.steps[last][k]) > 1e-3) above++;
  });
  return { name, finalMaxAbs: perStep[last], perStepMaxAbs: perStep, finalFractionAbove1e3: above / a.steps[last].length, perCallMaxAbs: vsOnnx.max, perCallRms: vsOnnx.rms(), perCallTiesMaxAbs: vsNudged.max, perCallTiesRms: vsNudged.rms(), seconds: { tfjs: a.seconds, onnx: b.seconds } };
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
  const floorSteps = listArg('floor-steps', '').map(Number);
  if (floorSteps.some((s) => !Number.isInteger(s) || s < 0 || s >= steps)) throw new Error(`--floor-steps must be step indices in [0, ${steps})`);
  const floorRows = Number(argOr('floor-samples', '8'));
  if (floorSteps.length > 0) {
    // Initialized up front: the hook switches backends synchronously.
    await tf.setBackend('cpu');
    await tf.setBackend(engine.backend);
  }
  const e = (v: number): string => v.toExponential(2);
  const run = (name: string, model: PipelineModel, quantization: 'qdq' | 'float', withFloor: boolean): void => {
    const onnx = new OnnxUNet(model.unet, { threads, quantization });
    const got = trajectory(onnx, model, sampler, count);
    const vsOnnx = new StepDiffs();
    const vsNudged = new StepDiffs();
    const floor = withFloor && floorSteps.length > 0 ? { steps: floorSteps, rows: floorRows, cpu: new StepDiffs(), onnx: new StepDiffs() } : undefined;
    const ref = trajectory(model.unet, model, sampler, count, [shadow(onnx, vsOnnx, vsNudged, floor)]);
    onnx.dispose();
    const r: Parity = compare(name, ref, got, vsOnnx, vsNudged);
    if (floor) {
      r.floor = { steps: floorSteps, rows: floorRows, cpuMaxAbs: pick(floor.cpu.max, floorSteps), cpuRms: pick(floor.cpu.rms(), floorSteps), onnxMaxAbs: pick(floor.onnx.max, floorSteps), onnxRms: pick(floor.onnx.rms(), floorSteps) };
    }
    results.push(r);
    console.log(
      `${name}: final max |Δ| ${e(r.finalMaxAbs)}, worst step of the trajectory ${e(Math.max(...r.perStepMaxAbs))}, ` +
        `worst teacher-forced call |Δε̂| ${e(Math.max(...r.perCallMaxAbs))} (RMS ${e(Math.max(...r.perCallRms))}; tfjs against itself nudged by one rounding: ${e(Math.max(...r.perCallTiesMaxAbs))}, RMS ${e(Math.max(...r.perCallTiesRms))}), final pixels > 1e-3: ${(100 * r.finalFractionAbove1e3).toFixed(3)} %  (onnx ${r.seconds.onnx.toFixed(1)} s)`,
    );
    if (r.floor) {
      const f = r.floor;
      const cells = f.steps.map((s, i) => `step ${s}: tfjs cpu ${e(f.cpuMaxAbs[i])} (RMS ${e(f.cpuRms[i])}), onnx ${e(f.onnxMaxAbs[i])} (RMS ${e(f.onnxRms[i])})`);
      console.log(`  floor, |Δε̂| against tfjs-${engine.backend} on the first ${f.rows} rows — ${cells.join('; ')}`);
    }
  };
  run('FP32', base, 'qdq', true);
  const ctx = { ...tinyStageContext(base, { sampler, workDir: fs.mkdtempSync(path.join(os.tmpdir(), 'parity-')) }), log: (l: string) => console.log(`  ptq-naive: ${l}`) };
  for (const label of listArg('configs', 'W8A8')) {
    const m = /^W(\d+)A(\d+)$/.exec(label.trim());
    if (!m) throw new Error(`--configs: '${label}' is not of the form W8A8`);
    const config = ptqNaive.config.parse({ weightBits: Number(m[1]), activationBits: Number(m[2]), diagnostics: { trajectories: 0 } });
    const q = await ptqNaive.apply(ctx, config);
    const quantized = q.model ?? base;
    run(`naive ${label}, QDQ export`, quantized, 'qdq', true);
    run(`naive ${label}, float export`, quantized, 'float', false);
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
