/**
 * Speed of exported quantized layers on onnxruntime-node (CPU, 1 thread) against the FP32 export, and what
 * onnxruntime's graph optimizer makes of them (the op types of the optimized graph: QLinearConv, QGemm and
 * MatMulIntegerToFloat are its integer kernels).
 *
 *   TS_NODE_PROJECT=tools/tsconfig.json TS_NODE_TRANSPILE_ONLY=true \
 *     node -r ts-node/register -r tsconfig-paths/register tools/bench/onnx-qdq.ts [--repeats=15] [--batch=16] \
 *     [--only=conv|split|linear]
 *
 * Cases:
 * - a 3×3 conv 128 → 128 at 32×32 (the issue's case): FP32, the W8A8 `QuantLayer` export in QDQ and float mode,
 *   and the same QDQ export followed by an 8-bit quantizer on the conv output (the pattern onnxruntime fuses);
 * - a 1×1 split shortcut 256 → 128 (split at 128): the rule's two DequantizeLinear kernel halves concatenated in
 *   the graph against one constant fake-quantized float kernel;
 * - a linear layer 128 → 128 on 1024 tokens, with and without bias.
 * Each fused graph is also run with onnxruntime's optimizations off, and the largest difference printed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import {
  Conv2d, ExportContext, ExportOptions, Linear, OnnxGraph, OrtSession, UniformQuantizer, channelRange, exportActivationQuantizer, exportLayerWeight, exportModule, initEngine,
  manualSeed, minmaxParams,
} from '@diffpress/core';
import { QuantLayer, SplitQuantConv2d, registerPtqExportRules } from '@diffpress/ptq';
import { arg, argOr } from '../cli-args';
import { median } from './stats';

interface Case {
  label: string;
  graph: OnnxGraph;
}

/** The op types of onnxruntime's optimized graph (domain-qualified when not ONNX's). */
async function optimizedOps(bytes: Uint8Array): Promise<string> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-qdq-')), 'optimized.onnx');
  const s = await ort.InferenceSession.create(bytes, { optimizedModelFilePath: file, graphOptimizationLevel: 'extended', intraOpNumThreads: 1 });
  await s.release();
  const model = onnx.ModelProto.decode(fs.readFileSync(file));
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  const counts = new Map<string, number>();
  for (const n of model.graph?.node ?? []) {
    const op = `${n.domain ? `${n.domain.replace('com.microsoft', 'ms')}:` : ''}${n.opType}`;
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  return [...counts].map(([op, c]) => (c > 1 ? `${op}×${c}` : op)).join(' ');
}

/** Max |optimized − unoptimized| on `x` (whether a fused integer kernel computes what the QDQ graph says). */
async function fusionError(bytes: Uint8Array, x: tf.Tensor): Promise<number> {
  const feeds = { x: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) };
  const outs: Float32Array[] = [];
  for (const level of ['all', 'disabled'] as const) {
    const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: level, intraOpNumThreads: 1 });
    outs.push((await s.run(feeds)).y.data as Float32Array);
    await s.release();
  }
  let worst = 0;
  outs[0].forEach((v, i) => (worst = Math.max(worst, Math.abs(v - outs[1][i]))));
  return worst;
}

function calibrated<T extends QuantLayer | SplitQuantConv2d>(layer: T, x: tf.Tensor): T {
  layer.eval();
  if (layer instanceof QuantLayer) {
    const r = channelRange(layer.layer.weight, true);
    layer.weightQuant?.setParams(minmaxParams(r.min, r.max, 8, 'asymmetric'));
  } else {
    const halves = layer.weightHalves();
    [layer.weightQuant1, layer.weightQuant2].forEach((q, i) => {
      const r = channelRange(halves[i], true);
      q?.setParams(minmaxParams(r.min, r.max, 8, 'asymmetric'));
    });
    tf.dispose(halves);
  }
  layer.inputQuantizers().forEach((q) => q.beginCalibration());
  tf.dispose(layer.forward(x));
  layer.inputQuantizers().forEach((q) => q.endCalibration());
  return layer;
}

/** A graph of `module` on an NCHW (or token) input `x`; `after` may add nodes on the output. */
function graphOf(label: string, module: object, shape: number[], options: ExportOptions = {}, after?: (ctx: ExportContext, y: string) => string): Case {
  const graph = new OnnxGraph(label);
  const ctx = new ExportContext(graph, 'layer', options);
  let y = exportModule(module, [graph.input('x', shape)], ctx);
  if (after) y = after(ctx.at('next'), y);
  graph.output(y, 'y', shape.map((_, i) => `d${i}`));
  return { label, graph };
}

/** An 8-bit asymmetric activation quantizer calibrated on `y` (a stand-in for the next layer's input quantizer). */
function outputQuantizer(y: tf.Tensor): UniformQuantizer {
  const q = new UniformQuantizer({ bits: 8 });
  q.eval();
  const r = channelRange(y, false);
  q.setParams(minmaxParams(r.min, r.max, 8, 'asymmetric'));
  return q;
}

async function main(): Promise<void> {
  const repeats = Number(argOr('repeats', '15'));
  const batch = Number(argOr('batch', '16'));
  const only = arg('only');
  const runs = (name: 'conv' | 'split' | 'linear'): boolean => only == null || only === name;
  await initEngine({ backend: 'cpu', quiet: true });
  registerPtqExportRules();
  const st = ort.env.versions?.common ?? '';
  console.log(`onnxruntime-node ${st}, 1 thread, medians of ${repeats} runs after 3 warm-up runs (cases of a comparison in turns), batch ${batch}`);

  // The cases of one comparison run in turns (one run of each per round), so that a change of the machine's load
  // during the measurement affects them alike.
  const bench = async (cases: Case[], x: tf.Tensor, fused: boolean): Promise<void> => {
    const sessions = cases.map(({ graph }) => OrtSession.create(graph.encode(), { threads: 1 }));
    const samples: number[][] = cases.map(() => []);
    for (let r = -3; r < repeats; r++) {
      sessions.forEach((s, i) => {
        const t0 = process.hrtime.bigint();
        tf.dispose(s.run({ x }));
        if (r >= 0) samples[i].push(Number(process.hrtime.bigint() - t0) / 1e6);
      });
    }
    sessions.forEach((s) => s.dispose());
    const medians = samples.map(median);
    for (const [i, { label, graph }] of cases.entries()) {
      const bytes = graph.encode();
      const check = fused && label.includes('QDQ') ? `  (optimized vs unoptimized max |Δ| ${(await fusionError(bytes, x)).toExponential(1)})` : '';
      console.log(`  ${label.padEnd(52)}${medians[i].toFixed(2).padStart(8)} ms  ×${(medians[0] / medians[i]).toFixed(2)}  ${await optimizedOps(bytes)}${check}`);
    }
  };

  // 3×3 conv, 128 channels, 32×32.
  manualSeed(1);
  const conv = new Conv2d(128, 128, 3);
  conv.eval();
  const xNhwc = tf.randomNormal([batch, 32, 32, 128], 0, 1, 'float32', 1);
  const x = tf.transpose(xNhwc, [0, 3, 1, 2]);
  const q = calibrated(new QuantLayer(conv, { weightBits: 8, activationBits: 8 }), xNhwc);
  const yq = q.forward(xNhwc);
  const next = outputQuantizer(yq);
  const convShape = [batch, 128, 32, 32];
  console.log('3×3 conv 128 → 128 at 32×32');
  if (runs('conv')) await bench(
    [
      graphOf('FP32', conv, convShape),
      graphOf('W8A8 QDQ export', q, convShape),
      graphOf('W8A8 float-mode export', q, convShape, { quantization: 'float' }),
      graphOf('W8A8 QDQ export + 8-bit output quantizer', q, convShape, {}, (ctx, y) => exportActivationQuantizer(ctx, next, y)),
    ],
    x,
    true,
  );

  // 1×1 split shortcut 256 → 128.
  manualSeed(2);
  const shortcut = new Conv2d(256, 128, 1);
  shortcut.eval();
  const sNhwc = tf.randomNormal([batch, 32, 32, 256], 0, 1, 'float32', 2);
  const sx = tf.transpose(sNhwc, [0, 3, 1, 2]);
  const split = calibrated(new SplitQuantConv2d(shortcut, 128, { weightBits: 8, activationBits: 8 }), sNhwc);
  const sShape = [batch, 256, 32, 32];
  /** The alternative: the kernel as tfjs computes it (halves fake-quantized, concatenated) in one float constant. */
  const combinedKernel = (): Case => {
    const graph = new OnnxGraph('split-combined');
    const ctx = new ExportContext(graph, 'layer');
    const input = graph.input('x', sShape);
    const [x1, x2] = graph.opN('Split', [input, graph.int64([128, 128])], 2, { axis: { int: 1 } });
    const xq = graph.op('Concat', [exportActivationQuantizer(ctx, split.inputQuant1 as UniformQuantizer, x1), exportActivationQuantizer(ctx, split.inputQuant2 as UniformQuantizer, x2)], { axis: { int: 1 } });
    const w = split.effectiveWeight();
    const kernel = exportLayerWeight(ctx, shortcut, w, null);
    w.dispose();
    const y = ctx.weightRule(shortcut).forwardWith(shortcut, xq, kernel, ctx);
    graph.output(y, 'y', ['n', 'c', 'h', 'w']);
    return { label: 'split, one fake-quantized float kernel', graph };
  };
  console.log('1×1 split shortcut 256 → 128 at 32×32');
  if (runs('split')) await bench([graphOf('FP32', shortcut, sShape), graphOf('split, QDQ kernel halves + Concat (the rule)', split, sShape), combinedKernel()], sx, false);

  // Linear 128 → 128 on 1024 tokens.
  for (const bias of runs('linear') ? [true, false] : []) {
    manualSeed(3);
    const lin = new Linear(128, 128, { bias });
    lin.eval();
    const tokens = tf.randomNormal([batch, 1024, 128], 0, 1, 'float32', 3);
    const ql = calibrated(new QuantLayer(lin, { weightBits: 8, activationBits: 8 }), tokens);
    const shape = [batch, 1024, 128];
    console.log(`linear 128 → 128 on 1024 tokens, ${bias ? 'with' : 'without'} bias`);
    await bench([graphOf('FP32', lin, shape), graphOf('W8A8 QDQ export', ql, shape)], tokens, true);
    tf.dispose(tokens);
  }
  tf.dispose([xNhwc, x, yq, sNhwc, sx]);
}

void main();
