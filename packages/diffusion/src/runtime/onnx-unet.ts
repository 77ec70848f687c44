import * as tf from '@tensorflow/tfjs';
import { Module, OrtSession, QuantExportMode, UniformQuantizer, onnxRuntimeStatus, withCallContext } from '@diffpress/core';
import { UNetPlan } from '../unet/config';
import { UNET_PATHS, UNetPaths } from '../unet/paths';
import { EncoderOutput, UNet } from '../unet/unet';
import { UNetGraphPart, exportUNetGraph } from './unet-export';

/** Options of an {@link OnnxUNet}. */
export interface OnnxUNetOptions {
  /** Intra-op threads of onnxruntime's CPU execution provider (default 1). */
  threads?: number;
  /** How fake-quantized layers export (default `qdq`: integer kernels; `float`: the tfjs arithmetic exactly). */
  quantization?: QuantExportMode;
}

/** Which runtime draws a model's samples, as recorded in results. */
export interface RuntimeDescriptor {
  /** `onnx` (onnxruntime-node, CPU execution provider). */
  name: 'onnx';
  /** onnxruntime-node version. */
  version: string;
  /** Intra-op threads. */
  threads: number;
  /** How fake-quantized layers were exported. */
  quantization: QuantExportMode;
}

/** A one-line label of a runtime for result rows and reports, e.g. `onnxruntime-node 1.30.0 (cpu, 2 threads, qdq)`. */
export function runtimeLabel(r: RuntimeDescriptor): string {
  return `onnxruntime-node ${r.version} (cpu, ${r.threads} thread${r.threads === 1 ? '' : 's'}, ${r.quantization})`;
}

/** The runtime of a model when it runs on one other than tfjs (an {@link OnnxUNet}), else `null`. */
export function runtimeOf(model: unknown): RuntimeDescriptor | null {
  return model instanceof OnnxUNet ? model.runtime : null;
}

interface PartSession {
  session: OrtSession;
  inputs: string[];
  outputs: string[];
}

/**
 * A {@link UNet} running on onnxruntime-node: each path the sampler or a hook calls (forward, time embedding,
 * encode/decode, the partial paths around a skip branch) is exported once, on first use, to its own graph and
 * session. Usable wherever a `Denoiser` is (sampling, evaluation) and as the `unet` of a hook's `ModelCall`, so
 * hooks run unchanged around onnxruntime calls. Per-step quantizers (TFMQ-DM) get one graph per sampler step: rows
 * of a call are grouped by their step (core's call context) and each group runs with its step's graph.
 *
 * The weights are read when a graph is first built: later changes to the source UNet are not seen (build a new
 * OnnxUNet).
 *
 * @example
 * ```ts
 * const fast = new OnnxUNet(unet, { threads: 2 });
 * const x = sample({ model: fast, schedule, prediction: 'eps', shape: [28, 28, 1], count: 64, seed: 0, sampler });
 * fast.dispose();
 * ```
 */
export class OnnxUNet extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> implements UNetPaths {
  /** Marks this class as implementing the UNet's paths for `ModelCall.unet`. */
  readonly [UNET_PATHS] = true;
  /** The block structure (the source's). */
  readonly plan: UNetPlan;
  /** Threads each session runs with. */
  readonly threads: number;
  /** The runtime, its version and settings (recorded in results). */
  readonly runtime: RuntimeDescriptor;
  private readonly sessions = new Map<string, PartSession>();
  private readonly stepFree = new Set<string>();
  private readonly stepQuantizer: UniformQuantizer | null;

  /**
   * @param source - The tfjs UNet (with any layers methods put in; each needs an export rule).
   * @param options - Threads and quantization export.
   * @throws Error when onnxruntime-node is not usable here.
   */
  constructor(
    readonly source: UNet,
    readonly options: OnnxUNetOptions = {},
  ) {
    super();
    const status = onnxRuntimeStatus();
    if (!status.available) throw new Error(status.reason);
    this.plan = source.plan;
    this.threads = options.threads ?? 1;
    this.runtime = { name: 'onnx', version: status.version, threads: this.threads, quantization: options.quantization ?? 'qdq' };
    const perStep = source.select('**', { where: (m) => m instanceof UniformQuantizer && m.steps != null });
    this.stepQuantizer = perStep.length ? (perStep[0][1] as UniformQuantizer) : null;
    this.eval();
  }

  /** Number of graphs built so far (one per part, branch and, for per-step models, step). */
  get graphCount(): number {
    return this.sessions.size;
  }

  /** The UNet forward pass `ε̂(x, t)`; offers the model times to per-step layers as the UNet does. */
  forward(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
    return withCallContext({ modelTimes: () => t.dataSync() }, () => this.run('forward', undefined, { x, t }).out);
  }

  /** See {@link UNet.timeEmbedding}. */
  timeEmbedding(t: tf.Tensor): tf.Tensor {
    return this.run('time', undefined, { t }).temb;
  }

  /** See {@link UNet.encode}. */
  encode(x: tf.Tensor, temb: tf.Tensor): EncoderOutput {
    const out = this.run('encode', undefined, { x, temb });
    return { skips: this.plan.skips.map((_, i) => out[`skip_${i}`]), mid: out.mid };
  }

  /** See {@link UNet.decode}. */
  decode(skips: readonly tf.Tensor[], mid: tf.Tensor, temb: tf.Tensor): tf.Tensor {
    if (skips.length !== this.plan.skips.length) throw new Error(`OnnxUNet.decode: expected ${this.plan.skips.length} skips, got ${skips.length}`);
    return this.run('decode', undefined, { ...skipFeeds(skips, 0, skips.length), mid, temb }).out;
  }

  /** See {@link UNet.encodeShallow}. */
  encodeShallow(x: tf.Tensor, temb: tf.Tensor, branch: number | string): tf.Tensor[] {
    const b = this.skipIndex(branch);
    const out = this.run('encodeShallow', b, { x, temb });
    return Array.from({ length: b + 1 }, (_, i) => out[`skip_${i}`]);
  }

  /** See {@link UNet.decodeDeep}. */
  decodeDeep(skips: readonly tf.Tensor[], mid: tf.Tensor, temb: tf.Tensor, branch: number | string): tf.Tensor {
    const b = this.skipIndex(branch);
    if (skips.length !== this.plan.skips.length) throw new Error(`OnnxUNet.decodeDeep: expected ${this.plan.skips.length} skips, got ${skips.length}`);
    return this.run('decodeDeep', b, { ...skipFeeds(skips, b + 1, skips.length), mid, temb }).h;
  }

  /** See {@link UNet.decodeShallow}. */
  decodeShallow(h: tf.Tensor, skips: readonly tf.Tensor[], temb: tf.Tensor, branch: number | string): tf.Tensor {
    const b = this.skipIndex(branch);
    if (skips.length <= b) throw new Error(`OnnxUNet.decodeShallow: branch ${b} needs skips 0 … ${b}, got ${skips.length}`);
    return this.run('decodeShallow', b, { h, ...skipFeeds(skips, 0, b + 1), temb }).out;
  }

  /** See {@link UNet.skipIndex}. */
  skipIndex(branch: number | string): number {
    return this.source.skipIndex(branch);
  }

  /** Frees every session (the source UNet is not touched). */
  override dispose(): void {
    for (const s of this.sessions.values()) s.session.dispose();
    this.sessions.clear();
    super.dispose();
  }

  /** Runs a part on its feeds, grouping rows by their sampler step when the part's graph is per step. */
  private run(part: UNetGraphPart, branch: number | undefined, feeds: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
    if (this.training) throw new Error('OnnxUNet runs in eval mode only (it has no gradients)');
    const base = `${part}@${branch ?? ''}`;
    const first = Object.values(feeds)[0];
    const steps = this.stepQuantizer && !this.stepFree.has(base) ? this.stepQuantizer.slots(first) : null;
    const distinct = steps ? [...new Set(steps)] : [undefined];
    if (distinct.length === 1) return this.session(part, branch, distinct[0]).run(feeds);
    // Rows of several steps (parallel decoding): each group runs with its own step's graph, then rows are restored.
    return tf.tidy(() => {
      const rows = steps as number[];
      const groups = distinct.map((s) => rows.flatMap((v, i) => (v === s ? [i] : [])));
      const parts = distinct.map((s, k) => {
        const idx = tf.tensor1d(groups[k], 'int32');
        const sub: Record<string, tf.Tensor> = {};
        for (const [name, t] of Object.entries(feeds)) sub[name] = tf.gather(t, idx);
        return this.session(part, branch, s).run(sub);
      });
      const order = tf.tensor1d(inversePermutation(groups.flat()), 'int32');
      const out: Record<string, tf.Tensor> = {};
      for (const name of Object.keys(parts[0])) out[name] = tf.gather(tf.concat(parts.map((p) => p[name]), 0), order);
      return out;
    });
  }

  private session(part: UNetGraphPart, branch: number | undefined, step: number | undefined): { run(feeds: Record<string, tf.Tensor>): Record<string, tf.Tensor> } {
    const base = `${part}@${branch ?? ''}`;
    const key = this.stepFree.has(base) || step == null ? base : `${base}#${step}`;
    let s = this.sessions.get(key);
    if (!s) {
      // Graphs are of the network in eval mode (dropout off), whatever mode the source is left in.
      const wasTraining = this.source.training;
      this.source.eval();
      let exported: ReturnType<typeof exportUNetGraph>;
      try {
        exported = exportUNetGraph(this.source, part, { branch, step, quantization: this.options.quantization });
      } finally {
        if (wasTraining) this.source.train();
      }
      const { graph, inputs, outputs, stepDependent } = exported;
      s = { session: OrtSession.create(graph.encode(), { threads: this.threads }), inputs, outputs };
      // A graph without per-step parameters serves every step (e.g. the time path of an FSC-all model's MLP-free part).
      if (!stepDependent) this.stepFree.add(base);
      this.sessions.set(stepDependent ? key : base, s);
    }
    const { session, outputs } = s;
    return { run: (feeds) => session.run(feeds, outputs) };
  }
}

function skipFeeds(skips: readonly tf.Tensor[], from: number, to: number): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (let i = from; i < to; i++) out[`skip_${i}`] = skips[i];
  return out;
}

function inversePermutation(order: readonly number[]): number[] {
  const inv = new Array<number>(order.length);
  order.forEach((row, k) => (inv[row] = k));
  return inv;
}
