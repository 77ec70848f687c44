/**
 * Runtime benchmark: the UNet forward pass on tfjs-wasm, on onnxruntime-node (FP32 and W8A8 QDQ) and in PyTorch,
 * side by side in one run (issue 25, item 4).
 *
 *   npx nx run tools:bench-runtime                                          # batches 1, 16, 64; medians of 7
 *   npx nx run tools:bench-runtime --args="--models=unet-mnist-s --repeats=3"
 *   npx nx run tools:bench-runtime --args="--batches=1,16 --skip-torch --out=/tmp/runtime.json"
 *
 * Models (`--models`, default both): `unet-mnist-s` (our preset, 1,623,169 parameters) and `ddim-cifar10`, DDIM's
 * CIFAR-10 architecture (35,746,307 parameters), both with random weights (`manualSeed(0)`), in eval mode. Each is
 * timed at every `--batches` size (default 1,16,64) on random inputs, x ~ N(0, 1) and t ~ U[0, 1000):
 *
 * - **wasm fp32**: `unet.forward(x, t).dataSync()` on `initEngine({ backend: 'wasm' })` (SIMD, one thread);
 * - **ORT fp32**: `new OnnxUNet(unet, { threads })`, 1 and 2 intra-op threads, `.forward(x, t).dataSync()` (the
 *   time includes reading the input from tfjs and wrapping the output, as every caller pays it);
 * - **ORT W8A8**: the same on `quantizeUNet(unet, …)` with 8-bit weights (per channel), 8-bit activations and
 *   8-bit softmax output, every layer quantized (`KEEP_FP_PRESETS.none`, no split shortcut — ptq-naive's "Linear
 *   Quant"; `--split` for Q-Diffusion's split), exported as QuantizeLinear/DequantizeLinear (`quantization: 'qdq'`).
 *   Weight ranges are min-max; activation ranges come from two forward passes on random inputs (a speed
 *   benchmark: the ranges only have to be plausible);
 * - **PyTorch**: `tools/bench/peer/runtime_unets.py` with Debian's `/usr/bin/python3`, `torch.set_num_threads(1|2)`,
 *   on the same architectures (`tools/bench/peer/unet_mnist_s.py` and DDIM's `Model` from
 *   `tools/interop/torch_unets.py`), in its own process after the JS timings (never concurrently). `--skip-torch`
 *   leaves it out; without python3-torch it is left out with a note.
 *
 * Every cell is the median of `--repeats` (default 7) calls after 2 warm-ups (for ORT, after the graph export and
 * session creation, which happen on an OnnxUNet's first call and are not timed). The first warm-up is timed: a cell
 * whose first call takes longer than `--slow-s` (default 10 s) gets one warm-up only, and the timed repeats of a
 * cell are capped to what fits in `--budget-s` (default 120 s), but never below `--min-repeats` (default 3). The
 * repeats used are printed per cell.
 *
 * Prints the machine (CPU model and flags, cores, versions, load average), a Markdown table of ms per forward call,
 * one of repeats per cell and one of the ratios issue 25 asks for; `--out=file.json` writes the same as JSON. For
 * meaningful figures nothing else should be running (the load average is printed per cell).
 *
 * `--op-profile[=batch]` (default batch 16) also runs each model's FP32 and W8A8 QDQ graphs under onnxruntime's
 * profiler (1 thread) and prints the kernel time per op type after ORT's graph optimizations: which QDQ patterns
 * were fused into integer kernels (QLinearMatMul, MatMulIntegerToFloat, QLinearConv …) and which ran as float ops
 * between QuantizeLinear/DequantizeLinear.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineInfo, initEngine, manualSeed, onnxRuntimeStatus } from '@diffpress/core';
import { OnnxUNet, UNet, UNetPresetName, exportUNetGraph, unetParameterCount, unetPresets } from '@diffpress/diffusion';
import { KEEP_FP_PRESETS, activationQuantizers, initWeightQuantizers, quantizeUNet, setQuantState } from '@diffpress/ptq';
import { arg, argOr, flag, listArg } from '../cli-args';
import { median } from './stats';
import { PYTHON, runPythonJson } from './peer/python';

const TORCH_SCRIPT = path.join(__dirname, 'peer', 'runtime_unets.py');
const INSTALL_HINT = 'apt-get update && apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread';
const MODELS: readonly UNetPresetName[] = ['unet-mnist-s', 'ddim-cifar10'];

/** The runtimes timed. */
type Runtime = 'wasm-fp32' | 'ort-fp32' | 'ort-w8a8' | 'torch-fp32';

/** One timed configuration at one batch size. */
interface Cell {
  model: UNetPresetName;
  runtime: Runtime;
  threads: number;
  batch: number;
  /** Median of the timed calls (ms). */
  medianMs: number;
  samplesMs: number[];
  repeats: number;
  warmup: number;
  /** The first warm-up call (ms): includes one-off costs (kernel set-up, memory growth). */
  firstMs: number;
  /** 1-minute load average when the cell started. */
  load1: number;
}

/** How each cell is timed. */
interface TimingPolicy {
  repeats: number;
  warmup: number;
  minRepeats: number;
  budgetMs: number;
  slowMs: number;
}

function positiveInt(name: string, fallback: number): number {
  const v = Number(argOr(name, String(fallback)));
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got '${argOr(name, '')}'`);
  return v;
}

function positiveNumber(name: string, fallback: number): number {
  const v = Number(argOr(name, String(fallback)));
  if (!(v > 0)) throw new Error(`--${name} must be a positive number, got '${argOr(name, '')}'`);
  return v;
}

function intList(name: string, fallback: string): number[] {
  const out = listArg(name, fallback).map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`--${name} must be comma-separated positive integers, got '${out.join(',')}'`);
  return out;
}

function modelList(): UNetPresetName[] {
  const out = listArg('models', MODELS.join(','));
  for (const m of out) if (!MODELS.includes(m as UNetPresetName)) throw new Error(`--models: unknown model '${m}' (available: ${MODELS.join(', ')})`);
  return out as UNetPresetName[];
}

/**
 * Times `fn` (which must force its result): a timed first warm-up, then the policy's warm-ups (one only for a slow
 * first call) and its repeats (capped to the budget, at least `minRepeats`).
 */
function timeCell(fn: () => void, p: TimingPolicy): Pick<Cell, 'medianMs' | 'samplesMs' | 'repeats' | 'warmup' | 'firstMs'> {
  const elapsed = (): number => {
    const t0 = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const firstMs = elapsed();
  const warmup = firstMs > p.slowMs ? 1 : p.warmup;
  for (let i = 1; i < warmup; i++) fn();
  const repeats = Math.min(p.repeats, Math.max(p.minRepeats, Math.floor(p.budgetMs / Math.max(firstMs, 1e-3))));
  const samplesMs: number[] = [];
  for (let i = 0; i < repeats; i++) samplesMs.push(elapsed());
  return { medianMs: median(samplesMs), samplesMs, repeats, warmup, firstMs };
}

// ---------------------------------------------------------------------------------------------------------------
// The machine

/** What the report says about the machine and the software. */
interface Machine {
  cpu: string;
  flags: string[];
  logicalCores: number;
  ramGiB: number;
  os: string;
  node: string;
  tfjs: string;
  tfjsWasm: string;
  engine: string;
  onnxruntime: string;
  torch: string | null;
  loadAtStart: number[];
  loadAtEnd?: number[];
}

function cpuInfo(): { model: string; flags: string[] } {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux
  }
  const field = (name: string): string | undefined =>
    text
      .split('\n')
      .find((l) => l.startsWith(name))
      ?.split(':')
      .slice(1)
      .join(':')
      .trim();
  const all = new Set((field('flags') ?? '').split(/\s+/));
  // The vector extensions the int8 and fp32 kernels of onnxruntime, oneDNN and XNNPACK choose between.
  const wanted = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_int8', 'amx_bf16'];
  return { model: field('model name') ?? os.cpus()[0]?.model ?? 'unknown CPU', flags: wanted.filter((f) => all.has(f)) };
}

function describeMachine(engine: EngineInfo, ortVersion: string): Machine {
  const cpu = cpuInfo();
  return {
    cpu: cpu.model,
    flags: cpu.flags,
    logicalCores: os.cpus().length,
    ramGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjs: tf.version.tfjs,
    tfjsWasm: version_wasm,
    engine: `${engine.backend}, simd ${engine.simd}, ${engine.threads} thread(s)`,
    onnxruntime: ortVersion,
    torch: null,
    loadAtStart: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
}

function machineLines(m: Machine): string[] {
  const load = (l: number[] | undefined): string => (l ? l.map((v) => v.toFixed(2)).join(' / ') : '—');
  return [
    `| CPU | ${m.cpu}, ${m.logicalCores} logical cores, ${m.ramGiB} GiB RAM, ${m.os} |`,
    `| CPU flags | ${m.flags.join(', ') || 'none of avx2/avx512/vnni/amx'} |`,
    `| tfjs | node ${m.node}, @tensorflow/tfjs ${m.tfjs}, tfjs-backend-wasm ${m.tfjsWasm} (${m.engine}) |`,
    `| onnxruntime | onnxruntime-node ${m.onnxruntime} (CPU execution provider, graph optimization level all) |`,
    `| PyTorch | ${m.torch ?? 'not run'} |`,
    `| load average (1/5/15 min) | start ${load(m.loadAtStart)}, end ${load(m.loadAtEnd)} |`,
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// The JS runtimes

/** A W8A8 copy of `unet` with weight ranges from the weights and activation ranges from two random batches. */
function quantizedCopy(unet: UNet, split: boolean): UNet {
  const q = quantizeUNet(unet, { weightBits: 8, activationBits: 8, softmaxBits: 8, split, keepFp: KEEP_FP_PRESETS.none });
  // The wrappers quantizeUNet puts in start in training mode; calibrate (and export) the network in eval mode.
  q.unet.eval();
  initWeightQuantizers(q, 'minmax');
  setQuantState(q, { weights: true, activations: true });
  const [h, w] = unet.plan.config.imageSize;
  const c = unet.plan.config.inChannels;
  const quantizers = activationQuantizers(q);
  for (const a of quantizers) a.beginCalibration({ init: 'minmax' });
  try {
    for (let i = 0; i < 2; i++) {
      tf.tidy(() => q.unet.forward(tf.randomNormal([4, h, w, c], 0, 1, 'float32', 10 + i), tf.randomUniform([4], 0, 1000, 'float32', 20 + i)).dataSync());
    }
  } finally {
    for (const a of quantizers) a.endCalibration();
  }
  return q.unet;
}

interface Inputs {
  batch: number;
  x: tf.Tensor;
  t: tf.Tensor;
}

function inputsFor(unet: UNet, batches: readonly number[]): Inputs[] {
  const [h, w] = unet.plan.config.imageSize;
  const c = unet.plan.config.inChannels;
  return batches.map((batch, i) => ({
    batch,
    x: tf.randomNormal([batch, h, w, c], 0, 1, 'float32', 100 + i),
    t: tf.randomUniform([batch], 0, 1000, 'float32', 200 + i),
  }));
}

function logCell(c: Cell): void {
  const samples = c.samplesMs.map((v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1))).join(', ');
  console.log(`  ${c.runtime.padEnd(10)} ${c.threads} thr  batch ${String(c.batch).padStart(3)}  ${c.medianMs.toFixed(1).padStart(9)} ms  (×${c.repeats} after ${c.warmup} warm-up, first ${c.firstMs.toFixed(0)} ms; samples ${samples}; load ${c.load1.toFixed(2)})`);
}

/** Times one model on wasm and onnxruntime; with `profileBatch`, also profiles its ORT graphs at that batch size. */
async function runJs(
  model: UNetPresetName,
  batches: readonly number[],
  policy: TimingPolicy,
  split: boolean,
  profileBatch: number | null,
): Promise<{ cells: Cell[]; profile: OpProfile | null }> {
  manualSeed(0);
  const config = unetPresets[model];
  const unet = new UNet(config);
  const params = unet.numParameters();
  const expected = unetParameterCount(config);
  if (params !== expected) throw new Error(`${model}: the UNet has ${params} parameters, the inventory says ${expected}`);
  unet.eval();
  console.log(`\n${model}: ${params.toLocaleString('en-US')} parameters, random weights, eval mode`);
  const inputs = inputsFor(unet, batches);
  const cells: Cell[] = [];
  let profile: OpProfile | null = null;
  const time = (runtime: Runtime, threads: number, forward: (x: tf.Tensor, t: tf.Tensor) => tf.Tensor): void => {
    if (runtime !== 'wasm-fp32') {
      // OnnxUNet exports the graph and creates the session on its first call: done here, untimed.
      const t0 = Date.now();
      tf.dispose(forward(inputs[0].x, inputs[0].t));
      console.log(`  ${runtime.padEnd(10)} ${threads} thr  graph export + session creation + one batch-${inputs[0].batch} call: ${((Date.now() - t0) / 1000).toFixed(1)} s (untimed)`);
    }
    for (const { batch, x, t } of inputs) {
      const load1 = os.loadavg()[0];
      const r = timeCell(() => {
        const y = forward(x, t);
        y.dataSync();
        y.dispose();
      }, policy);
      const cell: Cell = { model, runtime, threads, batch, ...r, load1 };
      logCell(cell);
      cells.push(cell);
    }
  };
  try {
    time('wasm-fp32', 1, (x, t) => unet.forward(x, t));
    for (const threads of [1, 2]) {
      const onnx = new OnnxUNet(unet, { threads });
      try {
        time('ort-fp32', threads, (x, t) => onnx.forward(x, t));
      } finally {
        onnx.dispose();
      }
    }
    const t0 = Date.now();
    const quantized = quantizedCopy(unet, split);
    console.log(`  (W8A8 copy built and calibrated in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    try {
      for (const threads of [1, 2]) {
        const onnx = new OnnxUNet(quantized, { threads, quantization: 'qdq' });
        try {
          time('ort-w8a8', threads, (x, t) => onnx.forward(x, t));
        } finally {
          onnx.dispose();
        }
      }
      if (profileBatch != null) {
        const runs = 2;
        console.log(`  profiling the fp32 and W8A8 QDQ graphs at batch ${profileBatch}, 1 thread (${runs} runs after 1 warm-up)`);
        profile = { model, batch: profileBatch, runs, fp32: await profileOps(unet, undefined, profileBatch, runs), w8a8: await profileOps(quantized, 'qdq', profileBatch, runs) };
      }
    } finally {
      quantized.dispose();
    }
  } finally {
    tf.dispose(inputs.flatMap((i) => [i.x, i.t]));
    unet.dispose();
  }
  return { cells, profile };
}

// ---------------------------------------------------------------------------------------------------------------
// Where onnxruntime's time goes (--op-profile)

/** Kernel time of one op type in one graph, per run (ORT's profiler). */
interface OpTime {
  op: string;
  ms: number;
  nodes: number;
}

/** The op profile of the FP32 and the W8A8 QDQ graph of one model at one batch size, 1 thread. */
interface OpProfile {
  model: UNetPresetName;
  batch: number;
  runs: number;
  fp32: OpTime[];
  w8a8: OpTime[];
}

interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

/**
 * Runs the forward graph of `unet` on onnxruntime-node's public (async) session with its profiler on: one warm-up
 * run, then `runs` profiled runs, and sums the kernel time of the profiled runs by op type. The graph is the one
 * OnnxUNet runs (same export, same session settings, 1 thread); op types are those left after ORT's graph
 * optimizations (fusions show up as their fused op, e.g. QLinearMatMul).
 */
async function profileOps(unet: UNet, quantization: 'qdq' | undefined, batch: number, runs: number): Promise<OpTime[]> {
  const ort = (await import('onnxruntime-node')) as typeof import('onnxruntime-node');
  const { graph, inputs } = exportUNetGraph(unet, 'forward', { quantization });
  const [h, w] = unet.plan.config.imageSize;
  const c = unet.plan.config.inChannels;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-runtime-'));
  try {
    const session = await ort.InferenceSession.create(graph.encode(), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      enableProfiling: true,
      profileFilePrefix: path.join(dir, 'profile'),
    });
    const x = new ort.Tensor('float32', Float32Array.from({ length: batch * h * w * c }, () => Math.random() * 2 - 1), [batch, h, w, c]);
    const t = new ort.Tensor('float32', Float32Array.from({ length: batch }, () => Math.random() * 1000), [batch]);
    for (let i = 0; i <= runs; i++) await session.run({ [inputs[0]]: x, [inputs[1]]: t });
    session.endProfiling();
    await session.release();
    const file = readdirFirst(dir, 'profile');
    const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
    // The first model_run is the warm-up: only node events after it count.
    const starts = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.ts).sort((a, b) => a - b);
    const from = starts.length > 1 ? starts[1] : 0;
    const byOp = new Map<string, { us: number; count: number }>();
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
      const op = e.args?.op_name ?? '?';
      const acc = byOp.get(op) ?? { us: 0, count: 0 };
      acc.us += e.dur;
      acc.count += 1;
      byOp.set(op, acc);
    }
    return [...byOp].map(([op, a]) => ({ op, ms: a.us / 1000 / runs, nodes: a.count / runs })).sort((a, b) => b.ms - a.ms);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readdirFirst(dir: string, prefix: string): string {
  const hit = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.json'));
  if (!hit) throw new Error(`onnxruntime wrote no profile into ${dir}`);
  return path.join(dir, hit);
}

function opProfileLines(p: OpProfile): string[] {
  const total = (list: OpTime[]): number => list.reduce((a, o) => a + o.ms, 0);
  const ops = [...new Set([...p.fp32, ...p.w8a8].sort((a, b) => b.ms - a.ms).map((o) => o.op))];
  const cell = (list: OpTime[], op: string): string => {
    const o = list.find((x) => x.op === op);
    return o ? `${msText(o.ms)} (${o.nodes})` : '—';
  };
  return [
    `ORT kernel time by op type, ${p.model}, batch ${p.batch}, 1 thread, ms per run (nodes per run), mean of ${p.runs} profiled runs:`,
    '',
    ...table(['op', 'fp32', 'W8A8 QDQ'], [...ops.map((op) => [op, cell(p.fp32, op), cell(p.w8a8, op)]), ['**total**', msText(total(p.fp32)), msText(total(p.w8a8))]], 1),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// PyTorch

/** What `runtime_unets.py` prints (the fields read here). */
interface TorchOutput {
  torch: string;
  threads: number;
  model: string;
  params: number;
  cells: Array<{ batch: number; median_ms: number; samples_ms: number[]; repeats: number; warmup: number; first_ms: number }>;
}

function isTorchOutput(v: unknown): v is TorchOutput {
  if (typeof v !== 'object' || v == null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.torch === 'string' && typeof r.threads === 'number' && typeof r.params === 'number' && Array.isArray(r.cells);
}

/** Whether Debian's Python has torch, or why not. */
function torchAvailable(): { ok: true } | { ok: false; why: string } {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error) return { ok: false, why: `${PYTHON} could not be started (${r.error.message})` };
  if (r.status !== 0) return { ok: false, why: `${PYTHON} cannot import torch (${(r.stderr.trim().split('\n').pop() ?? '').trim()})` };
  return { ok: true };
}

function runTorch(model: UNetPresetName, threads: number, batches: readonly number[], policy: TimingPolicy): { cells: Cell[]; version: string } | string {
  const args = [
    TORCH_SCRIPT, '--model', model, '--threads', String(threads), '--batches', batches.join(','), '--repeats', String(policy.repeats), '--warmup', String(policy.warmup),
    '--min-repeats', String(policy.minRepeats), '--budget-s', String(policy.budgetMs / 1000), '--slow-s', String(policy.slowMs / 1000),
  ];
  const load1 = os.loadavg()[0];
  console.log(`\n${PYTHON} ${path.relative(process.cwd(), TORCH_SCRIPT)} ${args.slice(1).join(' ')}`);
  const out = runPythonJson(args);
  if (typeof out === 'string') return out;
  const parsed = out.json;
  if (!isTorchOutput(parsed)) return `printed JSON without the expected fields: ${out.line.slice(0, 200)}`;
  const cells = parsed.cells.map(
    (c): Cell => ({ model, runtime: 'torch-fp32', threads: parsed.threads, batch: c.batch, medianMs: c.median_ms, samplesMs: c.samples_ms, repeats: c.repeats, warmup: c.warmup, firstMs: c.first_ms, load1 }),
  );
  cells.forEach(logCell);
  return { cells, version: parsed.torch };
}

// ---------------------------------------------------------------------------------------------------------------
// The report

/** The configurations of the table, in column order. */
const COLUMNS: Array<{ runtime: Runtime; threads: number; label: string }> = [
  { runtime: 'wasm-fp32', threads: 1, label: 'tfjs-wasm fp32, 1 thr' },
  { runtime: 'ort-fp32', threads: 1, label: 'ORT fp32, 1 thr' },
  { runtime: 'ort-fp32', threads: 2, label: 'ORT fp32, 2 thr' },
  { runtime: 'ort-w8a8', threads: 1, label: 'ORT W8A8 QDQ, 1 thr' },
  { runtime: 'ort-w8a8', threads: 2, label: 'ORT W8A8 QDQ, 2 thr' },
  { runtime: 'torch-fp32', threads: 1, label: 'PyTorch fp32, 1 thr' },
  { runtime: 'torch-fp32', threads: 2, label: 'PyTorch fp32, 2 thr' },
];

/** A ratio the issue asks for, per model and batch: `numerator / denominator` of two configurations' medians. */
interface RatioSpec {
  key: string;
  label: string;
  num: { runtime: Runtime; threads: number };
  den: { runtime: Runtime; threads: number };
  /** The target as a bound on the ratio, and where the issue states it (models; batches, or every batch). */
  target: { op: '>=' | '<='; value: number; note: string; models: readonly UNetPresetName[]; batches?: readonly number[] };
}

const RATIOS: RatioSpec[] = [
  {
    key: 'wasm_over_ort1',
    label: 'ORT fp32 1 thr speed-up over wasm 1 thr (wasm ÷ ORT)',
    num: { runtime: 'wasm-fp32', threads: 1 },
    den: { runtime: 'ort-fp32', threads: 1 },
    target: { op: '>=', value: 4, note: '≥ 4× at batch 64 (hoped 7×)', models: MODELS, batches: [64] },
  },
  {
    key: 'wasm_over_ort2',
    label: 'ORT fp32 2 thr speed-up over wasm 1 thr (wasm ÷ ORT)',
    num: { runtime: 'wasm-fp32', threads: 1 },
    den: { runtime: 'ort-fp32', threads: 2 },
    target: { op: '>=', value: 4, note: '≥ 4× at batch 64 (hoped 7×)', models: MODELS, batches: [64] },
  },
  {
    key: 'ort2_over_torch2',
    label: 'ORT fp32 vs PyTorch, 2 thr each (ORT ÷ PyTorch)',
    num: { runtime: 'ort-fp32', threads: 2 },
    den: { runtime: 'torch-fp32', threads: 2 },
    target: { op: '<=', value: 1, note: '≤ 1.0×', models: MODELS },
  },
  {
    key: 'ort1_over_torch1',
    label: 'ORT fp32 vs PyTorch, 1 thr each (ORT ÷ PyTorch)',
    num: { runtime: 'ort-fp32', threads: 1 },
    den: { runtime: 'torch-fp32', threads: 1 },
    target: { op: '<=', value: 1, note: 'none (for reference)', models: [] },
  },
  {
    key: 'fp32_over_w8a8_1',
    label: 'W8A8 QDQ speed-up over ORT fp32, 1 thr (fp32 ÷ W8A8)',
    num: { runtime: 'ort-fp32', threads: 1 },
    den: { runtime: 'ort-w8a8', threads: 1 },
    target: { op: '>=', value: 1.5, note: '≥ 1.5× on ddim-cifar10', models: ['ddim-cifar10'] },
  },
  {
    key: 'fp32_over_w8a8_2',
    label: 'W8A8 QDQ speed-up over ORT fp32, 2 thr (fp32 ÷ W8A8)',
    num: { runtime: 'ort-fp32', threads: 2 },
    den: { runtime: 'ort-w8a8', threads: 2 },
    target: { op: '>=', value: 1.5, note: '≥ 1.5× on ddim-cifar10', models: ['ddim-cifar10'] },
  },
];

interface RatioValue {
  key: string;
  model: UNetPresetName;
  batch: number;
  value: number;
  /** Whether the value meets the target, or null where the issue states none (ratio, model or batch). */
  met: boolean | null;
}

function find(cells: readonly Cell[], model: UNetPresetName, batch: number, runtime: Runtime, threads: number): Cell | undefined {
  return cells.find((c) => c.model === model && c.batch === batch && c.runtime === runtime && c.threads === threads);
}

function ratios(cells: readonly Cell[], models: readonly UNetPresetName[], batches: readonly number[]): RatioValue[] {
  const out: RatioValue[] = [];
  for (const r of RATIOS) {
    for (const model of models) {
      for (const batch of batches) {
        const a = find(cells, model, batch, r.num.runtime, r.num.threads);
        const b = find(cells, model, batch, r.den.runtime, r.den.threads);
        if (!a || !b) continue;
        const value = a.medianMs / b.medianMs;
        const { op, value: bound, models: targetModels, batches: targetBatches } = r.target;
        const applies = targetModels.includes(model) && (targetBatches == null || targetBatches.includes(batch));
        out.push({ key: r.key, model, batch, value, met: applies ? (op === '>=' ? value >= bound : value <= bound) : null });
      }
    }
  }
  return out;
}

function msText(v: number): string {
  return v >= 1000 ? v.toFixed(0) : v >= 100 ? v.toFixed(1) : v.toFixed(2);
}

/** A Markdown table; the first `left` columns are left-aligned, the rest right-aligned. */
function table(header: readonly string[], rows: readonly string[][], left = 2): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < left ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function report(cells: readonly Cell[], models: readonly UNetPresetName[], batches: readonly number[], machine: Machine, policy: TimingPolicy): string[] {
  const lines: string[] = [];
  lines.push('| machine | |', '|---|---|', ...machineLines(machine), '');
  const header = ['model', 'batch', ...COLUMNS.map((c) => c.label)];
  const rowsFor = (cell: (c: Cell | undefined) => string): string[][] =>
    models.flatMap((model) => batches.map((batch) => [model, String(batch), ...COLUMNS.map((col) => cell(find(cells, model, batch, col.runtime, col.threads)))]));
  lines.push(`Median ms per forward call (up to ${policy.repeats} timed calls after ${policy.warmup} warm-ups; per cell below):`, '');
  lines.push(...table(header, rowsFor((c) => (c ? msText(c.medianMs) : '—'))), '');
  lines.push('Timed calls × warm-ups per cell:', '');
  lines.push(...table(header, rowsFor((c) => (c ? `${c.repeats} × ${c.warmup}` : '—'))), '');
  const values = ratios(cells, models, batches);
  lines.push('Ratios of the medians (✔ meets the target, ✘ misses it; unmarked where the issue states no target):', '');
  const rows: string[][] = [];
  for (const r of RATIOS) {
    for (const model of models) {
      const vs = values.filter((v) => v.key === r.key && v.model === model);
      if (vs.length === 0) continue;
      const at = (batch: number): string => {
        const v = vs.find((x) => x.batch === batch);
        return v == null ? '—' : `${v.value.toFixed(2)}×${v.met == null ? '' : v.met ? ' ✔' : ' ✘'}`;
      };
      rows.push([r.label, model, r.target.note, ...batches.map(at)]);
    }
  }
  lines.push(...table(['ratio', 'model', 'target', ...batches.map((b) => `batch ${b}`)], rows, 3));
  return lines;
}

/** Indented JSON with arrays of numbers and strings on one line (the samples stay readable and the file small). */
function compactJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/\[\s*((?:-?[\d.e+-]+|"[^",\n]*")(?:,\s*(?:-?[\d.e+-]+|"[^",\n]*"))*)\s*\]/g, (_, items: string) => `[${items.split(/,\s*/).join(', ')}]`);
}

function roundOps(list: readonly OpTime[]): OpTime[] {
  return list.map((o) => ({ ...o, ms: Number(o.ms.toFixed(2)) }));
}

async function main(): Promise<void> {
  const batches = intList('batches', '1,16,64');
  const models = modelList();
  const policy: TimingPolicy = {
    repeats: positiveInt('repeats', 7),
    warmup: 2,
    minRepeats: positiveInt('min-repeats', 3),
    budgetMs: positiveNumber('budget-s', 120) * 1000,
    slowMs: positiveNumber('slow-s', 10) * 1000,
  };
  const split = flag('split');
  const out = arg('out');
  const ort = onnxRuntimeStatus();
  if (!ort.available) throw new Error(ort.reason);
  const engine = await initEngine({ backend: 'wasm' });
  const machine = describeMachine(engine, ort.version);
  console.log(`load average at start: ${machine.loadAtStart.join(' / ')}${machine.loadAtStart[0] > 0.5 ? ' — the machine is busy: figures are contended, not final' : ''}`);

  const profileRaw = arg('op-profile') ?? (flag('op-profile') ? '16' : null);
  const profileBatch = profileRaw == null ? null : Number(profileRaw);
  if (profileBatch != null && !(Number.isInteger(profileBatch) && profileBatch >= 1)) throw new Error(`--op-profile must be a positive batch size, got '${profileRaw}'`);

  const cells: Cell[] = [];
  const profiles: OpProfile[] = [];
  for (const model of models) {
    const r = await runJs(model, batches, policy, split, profileBatch);
    cells.push(...r.cells);
    if (r.profile) profiles.push(r.profile);
  }

  const notes: string[] = [];
  if (flag('skip-torch')) notes.push('PyTorch skipped (--skip-torch).');
  else {
    const torch = torchAvailable();
    if (!torch.ok) {
      notes.push(`PyTorch not available: ${torch.why}. Install Debian's (used through ${PYTHON}): ${INSTALL_HINT}`);
    } else {
      for (const model of models) {
        for (const threads of [1, 2]) {
          const r = runTorch(model, threads, batches, policy);
          if (typeof r === 'string') notes.push(`PyTorch ${model}, ${threads} thread(s) FAILED: ${r}`);
          else {
            cells.push(...r.cells);
            machine.torch = `torch ${r.version} (Debian python3-torch, ${PYTHON}), torch.set_num_threads(1|2)`;
          }
        }
      }
    }
  }
  machine.loadAtEnd = os.loadavg().map((v) => Number(v.toFixed(2)));

  const lines = report(cells, models, batches, machine, policy);
  for (const p of profiles) lines.push('', ...opProfileLines(p));
  console.log(`\n${lines.join('\n')}`);
  for (const n of notes) console.log(`\n${n}`);
  if (out) {
    const result = {
      date: new Date().toISOString(),
      command: `npx nx run tools:bench-runtime --args="${process.argv.slice(2).join(' ')}"`,
      settings: { batches, models, split, ...policy },
      machine,
      cells: cells.map((c) => ({ ...c, medianMs: Number(c.medianMs.toFixed(2)), firstMs: Number(c.firstMs.toFixed(1)), samplesMs: c.samplesMs.map((v) => Number(v.toFixed(2))), load1: Number(c.load1.toFixed(2)) })),
      ratios: ratios(cells, models, batches).map((r) => ({ ...r, value: Number(r.value.toFixed(3)) })),
      ratioDefinitions: RATIOS.map(({ key, label, target }) => ({ key, label, target: `${target.op} ${target.value}`, note: target.note, targetModels: target.models, targetBatches: target.batches ?? 'all' })),
      opProfiles: profiles.map((p) => ({ ...p, fp32: roundOps(p.fp32), w8a8: roundOps(p.w8a8) })),
      notes,
    };
    mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    writeFileSync(out, `${compactJson(result)}\n`);
    console.log(`\nwrote ${out}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
