/**
 * Peer benchmark: our `unet-mnist-s` UNet on tfjs-backend-wasm against the same network in PyTorch.
 *
 *   npx nx run tools:bench-peer                          # batch 64, medians of 7 after 2 warm-up runs
 *   npx nx run tools:bench-peer --args="--repeats=3"     # quicker check of the scripts
 *   npx nx run tools:bench-peer --args="--batch=32 --repeats=5"
 *
 * Ours: `new UNet(unetPresets['unet-mnist-s'])` on wasm (SIMD, one thread, with the composed training kernels that
 * `initEngine` installs). Timed at `--batch`: (a) the forward pass in eval mode, read back with `dataSync`;
 * (b) a training step: forward, MSE against a fixed random target, backward and an Adam update (lr 1e-4) through
 * `optimizer.minimize`, read back through the returned cost. Medians of `--repeats` runs after 2 warm-up runs.
 *
 * Peer: `tools/bench/peer/unet_mnist_s.py` (the same architecture and parameter count in PyTorch), run with
 * Debian's `/usr/bin/python3` twice, with 1 and with 2 threads, timing the same two things. Install its PyTorch
 * with `apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread`; without it only our
 * figures are printed.
 *
 * Everything runs one after the other, never concurrently; for meaningful figures nothing else should be running
 * (the 1-minute load average is printed as a reminder).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineInfo, initEngine, manualSeed } from '@diffpress/core';
import { UNet, unetParameterCount, unetPresets } from '@diffpress/diffusion';
import { PYTHON, runPythonJson } from './peer/python';
import { argOr } from '../cli-args';
import { timeMedian } from './stats';

const PEER_SCRIPT = path.join(__dirname, 'peer', 'unet_mnist_s.py');
const INSTALL_HINT = 'apt-get update && apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread';
const WARMUP = 2;
const MIB = 2 ** 20;

function positiveInt(name: string, fallback: number): number {
  const v = Number(argOr(name, String(fallback)));
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got '${argOr(name, '')}'`);
  return v;
}

/** What `unet_mnist_s.py` prints (the fields this report reads). */
interface TorchResult {
  torch: string;
  threads: number;
  params: number;
  forward_ms: number;
  train_step_ms: number;
  blas: string;
  forward_cpu_per_wall?: number;
  train_step_cpu_per_wall?: number;
  blas_threads?: number | null;
}

function isTorchResult(v: unknown): v is TorchResult {
  if (typeof v !== 'object' || v == null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.torch === 'string' &&
    typeof r.threads === 'number' &&
    typeof r.params === 'number' &&
    typeof r.forward_ms === 'number' &&
    typeof r.train_step_ms === 'number' &&
    typeof r.blas === 'string'
  );
}

/** Our figures; `trainStepMs` is null when the step failed (see `trainStepError`). */
interface OurResult {
  forwardMs: number;
  trainStepMs: number | null;
  trainStepError?: string;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':').slice(1).join(':').trim();
  } catch {
    // not Linux; fall through to os.cpus()
  }
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

/** Size of the wasm backend's heap (it only grows; its ceiling is 4 GiB), or null on other backends. */
function wasmHeapBytes(): number | null {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.length ?? null;
}

function heapNote(): string {
  const heap = wasmHeapBytes();
  const live = tf.memory();
  return `wasm heap ${heap == null ? 'n/a' : `${(heap / MIB).toFixed(0)} MiB`}, live tensors ${live.numTensors} (${(live.numBytes / MIB).toFixed(1)} MiB)`;
}

function printMachine(engine: EngineInfo): void {
  const cores = os.cpus().length;
  const parallel = typeof os.availableParallelism === 'function' ? os.availableParallelism() : cores;
  const [load1] = os.loadavg();
  console.log(`machine    ${cpuModel()}, ${cores} logical cores (${parallel} available), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(os.freemem() / 2 ** 30).toFixed(1)} GiB free), ${os.type()} ${os.release()} ${os.arch()}`);
  console.log(`runtime    node ${process.version}, @tensorflow/tfjs-core ${tf.version_core} (@tensorflow/tfjs ${tf.version.tfjs}, @tensorflow/tfjs-backend-wasm ${version_wasm})`);
  console.log(`engine     backend ${engine.backend}, simd ${engine.simd}, threads ${engine.threads}, training kernels ${engine.trainingKernels} (chosen by ${engine.chosenBy})`);
  const busy = load1 > 0.5;
  console.log(`load       1-minute load average ${load1.toFixed(2)}${busy ? ' — the machine is busy: figures are contended, not final' : ''}`);
}

function runOurs(batch: number, repeats: number): OurResult {
  manualSeed(0);
  const config = unetPresets['unet-mnist-s'];
  const unet = new UNet(config);
  const params = unet.numParameters();
  const expected = unetParameterCount(config);
  if (params !== expected) throw new Error(`UNet has ${params} parameters, the inventory says ${expected}`);
  console.log(`\nours       unet-mnist-s, ${params.toLocaleString('en-US')} parameters, batch ${batch}, medians of ${repeats} after ${WARMUP} warm-up runs`);

  const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const t = tf.randomUniform([batch], 0, 1000, 'float32', 2);
  const target = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 3);

  unet.eval();
  const forward = timeMedian(() => {
    const y = unet.forward(x, t);
    y.dataSync();
    y.dispose();
  }, repeats, WARMUP);
  console.log(`ours       forward     ${forward.medianMs.toFixed(1)} ms (samples ${forward.samplesMs.map((v) => v.toFixed(0)).join(', ')}); ${heapNote()}`);

  unet.train();
  const optimizer = tf.train.adam(1e-4);
  const variables = unet.trainableVariables();
  const step = (): void => {
    const cost = optimizer.minimize(() => tf.losses.meanSquaredError(target, unet.forward(x, t)) as tf.Scalar, true, variables);
    if (cost == null) throw new Error('optimizer.minimize returned no cost');
    cost.dataSync();
    cost.dispose();
  };
  const result: OurResult = { forwardMs: forward.medianMs, trainStepMs: null };
  try {
    const train = timeMedian(step, repeats, WARMUP);
    result.trainStepMs = train.medianMs;
    console.log(`ours       train step  ${train.medianMs.toFixed(1)} ms (samples ${train.samplesMs.map((v) => v.toFixed(0)).join(', ')}); ${heapNote()}`);
  } catch (e) {
    // Reported, not worked around: a wasm "memory access out of bounds" here has been the 4 GiB wasm heap running
    // out (XNNPACK then fails with status 6 and a null allocation is written to).
    result.trainStepError = (e as Error).message;
    console.log(`ours       train step FAILED at batch ${batch}: ${result.trainStepError}; ${heapNote()}`);
    console.log('           (the wasm heap is capped at 4 GiB; "memory access out of bounds" is what running out of it looks like)');
  }
  optimizer.dispose();
  tf.dispose([x, t, target]);
  unet.dispose();
  return result;
}

/** Whether Debian's Python has torch, with torch's default thread count, or why not. */
function torchAvailable(): { ok: true; defaultThreads: number } | { ok: false; why: string } {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.get_num_threads())'], { encoding: 'utf8' });
  if (r.error) return { ok: false, why: `${PYTHON} could not be started (${r.error.message})` };
  if (r.status !== 0) return { ok: false, why: `${PYTHON} cannot import torch (${(r.stderr.trim().split('\n').pop() ?? '').trim()})` };
  return { ok: true, defaultThreads: Number(r.stdout.trim()) };
}

function runTorch(batch: number, repeats: number, threads: number): TorchResult | string {
  const args = [PEER_SCRIPT, '--batch', String(batch), '--repeats', String(repeats), '--warmup', String(WARMUP), '--threads', String(threads)];
  console.log(`\ntorch      ${PYTHON} ${path.relative(process.cwd(), PEER_SCRIPT)} ${args.slice(1).join(' ')}`);
  const out = runPythonJson(args);
  if (typeof out === 'string') return out;
  const parsed = out.json;
  if (!isTorchResult(parsed)) return `printed JSON without the expected fields: ${out.line.slice(0, 200)}`;
  const busy = (v: number | undefined): string => (v == null ? '' : `, ${v.toFixed(2)} cores busy`);
  console.log(`torch      ${parsed.torch}, ${parsed.threads} thread(s), ${parsed.params.toLocaleString('en-US')} parameters`);
  console.log(`torch      forward     ${parsed.forward_ms.toFixed(1)} ms${busy(parsed.forward_cpu_per_wall)}`);
  console.log(`torch      train step  ${parsed.train_step_ms.toFixed(1)} ms${busy(parsed.train_step_cpu_per_wall)}`);
  console.log(`torch      BLAS: ${parsed.blas}${parsed.blas_threads != null ? ` (OpenBLAS threads ${parsed.blas_threads})` : ''}`);
  return parsed;
}

/** "3.4× slower" / "1.2× faster" for ours/theirs. */
function ratio(ours: number | null, theirs: number | undefined): string {
  if (ours == null || theirs == null) return '—';
  const r = ours / theirs;
  return r >= 1 ? `${r.toFixed(2)}× slower` : `${(1 / r).toFixed(2)}× faster`;
}

function ms(v: number | null | undefined): string {
  return v == null ? '—' : `${v.toFixed(1)} ms`;
}

function printTable(batch: number, ours: OurResult, torch1: TorchResult | undefined, torch2: TorchResult | undefined): void {
  const header = ['', 'ours (wasm, 1 thr)', 'torch 1 thread', 'torch 2 threads', 'ours vs torch 1 thr', 'ours vs torch 2 thr'];
  const rows: string[][] = [
    [`forward (batch ${batch})`, ms(ours.forwardMs), ms(torch1?.forward_ms), ms(torch2?.forward_ms), ratio(ours.forwardMs, torch1?.forward_ms), ratio(ours.forwardMs, torch2?.forward_ms)],
    [`train step (batch ${batch})`, ours.trainStepMs == null ? 'failed' : ms(ours.trainStepMs), ms(torch1?.train_step_ms), ms(torch2?.train_step_ms), ratio(ours.trainStepMs, torch1?.train_step_ms), ratio(ours.trainStepMs, torch2?.train_step_ms)],
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${fmt(header)}`);
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(fmt(r));
  console.log('"ours is N× slower" = our median time / torch\'s median time.');
}

async function main(): Promise<void> {
  const batch = positiveInt('batch', 64);
  const repeats = positiveInt('repeats', 7);
  const engine = await initEngine({ backend: 'wasm' });
  printMachine(engine);

  const ours = runOurs(batch, repeats);

  const torch = torchAvailable();
  let torch1: TorchResult | undefined;
  let torch2: TorchResult | undefined;
  if (!torch.ok) {
    console.log(`\ntorch      not available: ${torch.why}.`);
    console.log(`           Install Debian's PyTorch (it is used through ${PYTHON}, not the first python3 on PATH):`);
    console.log(`             ${INSTALL_HINT}`);
  } else {
    console.log(`\ntorch      default thread count of torch on this machine: ${torch.defaultThreads}`);
    for (const threads of [1, 2]) {
      const r = runTorch(batch, repeats, threads);
      if (typeof r === 'string') console.log(`torch      ${threads} thread(s) FAILED: ${r}`);
      else if (threads === 1) torch1 = r;
      else torch2 = r;
    }
  }
  printTable(batch, ours, torch1, torch2);
  if (ours.trainStepError) console.log(`\nour train step failed at batch ${batch}: ${ours.trainStepError}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
