import { ExportContext, ExportOptions, OnnxGraph, exportAvgPool2x, exportSilu, exportUpsample2x, registerExportRule } from '@diffpress/core';
import { ResBlock } from '../unet/blocks';
import { BlockPlan } from '../unet/config';
import { TimeEmbedding } from '../unet/timestep-embedding';
import { UNet, UNetOutHead } from '../unet/unet';

/**
 * The parts of a {@link UNet} that export as separate graphs: the whole forward pass, the time embedding, and the
 * encoder/decoder and partial paths the feature-cache hooks call (see the UNet's methods of the same names).
 */
export type UNetGraphPart = 'forward' | 'time' | 'encode' | 'decode' | 'encodeShallow' | 'decodeDeep' | 'decodeShallow';

/** What {@link exportUNetGraph} returns. */
export interface UNetGraph {
  /** The graph. */
  graph: OnnxGraph;
  /** Input names in the order of the part's tfjs method arguments (skips expanded, shallow → deep). */
  inputs: string[];
  /** Output names (`out`; `temb`; `skip_<i>`…, `mid`; `h`). */
  outputs: string[];
  /** Whether the graph holds one sampler step's parameters (per-step quantizers): valid for `options.step` only. */
  stepDependent: boolean;
}

const NHWC_TO_NCHW = { perm: { ints: [0, 3, 1, 2] } };
const NCHW_TO_NHWC = { perm: { ints: [0, 2, 3, 1] } };

let registered = false;

/** Registers the export rules of the UNet's own modules (done when the package is loaded; idempotent). */
export function registerUNetExportRules(): void {
  if (registered) return;
  registered = true;
  registerExportRule(TimeEmbedding, (m, [t], ctx) => {
    const g = ctx.graph;
    const dim = m.sinusoidDim;
    const half = Math.floor(dim / 2);
    // The frequency ladder of timestepEmbedding, computed the same way (float64, then float32).
    const step = half > 1 ? Math.log(10000) / (half - 1) : 0;
    const freqs = new Float32Array(half);
    for (let k = 0; k < half; k++) freqs[k] = Math.exp(-k * step);
    const args = g.op('Mul', [g.op('Unsqueeze', [t, g.int64([1])], {}, ctx.hint('t_col')), g.constant(freqs, [1, half], ctx.hint('freqs'))], {}, ctx.hint('args'));
    let emb = g.op('Concat', [g.op('Sin', [args], {}, ctx.hint('sin')), g.op('Cos', [args], {}, ctx.hint('cos'))], { axis: { int: 1 } }, ctx.hint('sinusoid'));
    if (dim % 2 === 1) emb = g.op('Pad', [emb, g.int64([0, 0, 0, 1])], {}, ctx.hint('sinusoid_pad'));
    return ctx.child('linear2', m.linear2, [exportSilu(ctx, ctx.child('linear1', m.linear1, [emb]))]);
  });
  registerExportRule(ResBlock, (m, [x, temb], ctx) => {
    const g = ctx.graph;
    let h = exportSilu(ctx.at('norm1'), ctx.child('norm1', m.norm1, [x]));
    let skip = x;
    if (m.resample) {
      const resample = (v: string, leaf: string): string => (m.resample === 'up' ? exportUpsample2x(ctx.at(leaf), v) : exportAvgPool2x(ctx.at(leaf), v));
      h = resample(h, 'resample_h');
      skip = resample(x, 'resample_x');
    }
    h = ctx.child('conv1', m.conv1, [h]);
    const feature = ctx.child('emb', m.emb, [exportSilu(ctx.at('emb_in'), temb)]);
    const f = g.op('Unsqueeze', [feature, g.int64([2, 3])], {}, ctx.hint('time_feature'));
    if (m.scaleShift) {
      const c = m.plan.outChannels;
      const [scale, shift] = g.opN('Split', [f, g.int64([c, c])], 2, { axis: { int: 1 } }, ctx.hint('scale_shift'));
      const normed = ctx.child('norm2', m.norm2, [h]);
      h = g.op('Add', [g.op('Mul', [normed, g.op('Add', [scale, g.scalar(1, ctx.hint('one'))], {}, ctx.hint('scale1'))], {}, ctx.hint('scaled')), shift], {}, ctx.hint('shifted'));
    } else {
      h = ctx.child('norm2', m.norm2, [g.op('Add', [h, f], {}, ctx.hint('with_time'))]);
    }
    h = ctx.child('conv2', m.conv2, [ctx.child('dropout', m.dropout, [exportSilu(ctx.at('norm2'), h)])]);
    const identity = m.shortcut ? ctx.child('shortcut', m.shortcut, [skip]) : skip;
    return g.op('Add', [identity, h], {}, ctx.path || 'res');
  });
  registerExportRule(UNetOutHead, (m, [x], ctx) => ctx.child('conv', m.conv, [exportSilu(ctx.at('norm'), ctx.child('norm', m.norm, [x]))]));
}

/** Writes the UNet's blocks like its private encoder/decoder loops (same schedule, same skip bookkeeping). */
class UNetWriter {
  constructor(
    readonly unet: UNet,
    readonly ctx: ExportContext,
  ) {}

  private block(name: string, h: string, temb: string): string {
    const m = this.unet.block(name);
    return m instanceof ResBlock ? this.ctx.child(name, m, [h, temb]) : this.ctx.child(name, m, [h]);
  }

  time(t: string): string {
    return this.ctx.child('time', this.unet.getModule('time'), [t]);
  }

  encoder(x: string, temb: string, lastSkip?: number): { skips: string[]; mid: string } {
    let h = this.ctx.child('stem', this.unet.getModule('stem'), [x]);
    const skips = [h];
    if (lastSkip === 0) return { skips, mid: h };
    for (const level of this.unet.plan.down) {
      for (const { block, skip } of level.blocks) {
        h = this.block(block.name, h, temb);
        if (skip) {
          skips.push(h);
          if (skips.length - 1 === lastSkip) return { skips, mid: h };
        }
      }
    }
    for (const block of this.unet.plan.mid) h = this.block(block.name, h, temb);
    return { skips, mid: h };
  }

  decoderBlocks(skips: ReadonlyMap<number, string>, h: string, temb: string, from: number, to: number): string {
    const blocks = this.unet.decoderBlocks();
    for (let k = from; k < to; k++) {
      const { block, consumes } = blocks[k];
      if (consumes != null) {
        const s = skips.get(consumes);
        if (s == null) throw new Error(`UNet export: decoder block ${block.name} needs skip ${consumes} (internal error)`);
        h = this.ctx.graph.op('Concat', [h, s], { axis: { int: 1 } }, `${block.name}.concat`);
      }
      h = this.block(block.name, h, temb);
    }
    return h;
  }

  head(h: string): string {
    return this.ctx.child('out', this.unet.getModule('out'), [h]);
  }
}

/**
 * Exports one part of a {@link UNet} as an ONNX graph with the rules registered for its modules (core's layers,
 * the UNet's blocks, and whatever method packages registered for the layers they put in). Tensors cross the graph
 * boundary in the tfjs layout (NHWC feature maps, `[n]` times, `[n, E]` embeddings) and are NCHW inside.
 *
 * @param unet - The network (in eval mode).
 * @param part - Which path to export.
 * @param options - Export options, and `branch`: the skip branch (index or name) of the partial paths
 *   `encodeShallow`/`decodeDeep`/`decodeShallow`.
 * @throws ExportError naming the module path and class of a layer without an export rule.
 *
 * @example
 * ```ts
 * const { graph } = exportUNetGraph(unet, 'forward');
 * const session = OrtSession.create(graph.encode());
 * const { out } = session.run({ x, t });
 * ```
 */
export function exportUNetGraph(unet: UNet, part: UNetGraphPart, options: ExportOptions & { branch?: number | string } = {}): UNetGraph {
  registerUNetExportRules();
  const g = new OnnxGraph(`${part}${options.branch != null ? `@${options.branch}` : ''}`);
  const ctx = new ExportContext(g, '', options);
  const w = new UNetWriter(unet, ctx);
  const c = unet.plan.config;
  const skipsPlan = unet.plan.skips;
  const inputs: string[] = [];
  const outputs: string[] = [];
  const map = (name: string, channels: number | string): string => {
    inputs.push(name);
    return g.op('Transpose', [g.input(name, ['n', `${name}_h`, `${name}_w`, channels])], NHWC_TO_NCHW, `${name}_nchw`);
  };
  const vector = (name: string, dims: Array<number | string>): string => {
    inputs.push(name);
    return g.input(name, dims);
  };
  const emitMap = (value: string, name: string, channels: number): void => {
    outputs.push(name);
    g.output(g.op('Transpose', [value], NCHW_TO_NHWC, `${name}_nhwc`), name, ['n', `${name}_h`, `${name}_w`, channels]);
  };
  const emitVector = (value: string, name: string, dims: Array<number | string>): void => {
    outputs.push(name);
    g.output(value, name, dims);
  };
  const branch = (): number => {
    if (options.branch == null) throw new Error(`exportUNetGraph: part '${part}' needs a skip branch`);
    return unet.skipIndex(options.branch);
  };
  const skipInputs = (indices: number[]): Map<number, string> => new Map(indices.map((i) => [i, map(`skip_${i}`, skipsPlan[i].channels)]));
  const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
  const embedDim = unet.plan.time.embedDim;
  const midChannels = blockOutChannels(unet.plan.mid[unet.plan.mid.length - 1]);
  const blockCount = unet.decoderBlocks().length;
  const deepChannels = (b: number): number => {
    const at = unet.decoderBlockConsuming(b);
    const blocks = unet.decoderBlocks();
    // The feature entering the consuming block is the previous decoder block's output (or the middle output).
    return at === 0 ? midChannels : blockOutChannels(blocks[at - 1].block);
  };
  switch (part) {
    case 'forward': {
      const x = map('x', c.inChannels);
      const temb = w.time(vector('t', ['n']));
      const { skips, mid } = w.encoder(x, temb);
      emitMap(w.head(w.decoderBlocks(new Map(skips.map((s, i) => [i, s])), mid, temb, 0, blockCount)), 'out', c.outChannels);
      break;
    }
    case 'time':
      emitVector(w.time(vector('t', ['n'])), 'temb', ['n', embedDim]);
      break;
    case 'encode': {
      const x = map('x', c.inChannels);
      const { skips, mid } = w.encoder(x, vector('temb', ['n', embedDim]));
      skips.forEach((s, i) => emitMap(s, `skip_${i}`, skipsPlan[i].channels));
      emitMap(mid, 'mid', midChannels);
      break;
    }
    case 'decode': {
      const skips = skipInputs(range(0, skipsPlan.length));
      const mid = map('mid', midChannels);
      const temb = vector('temb', ['n', embedDim]);
      emitMap(w.head(w.decoderBlocks(skips, mid, temb, 0, blockCount)), 'out', c.outChannels);
      break;
    }
    case 'encodeShallow': {
      const b = branch();
      const x = map('x', c.inChannels);
      const { skips } = w.encoder(x, vector('temb', ['n', embedDim]), b);
      skips.forEach((s, i) => emitMap(s, `skip_${i}`, skipsPlan[i].channels));
      break;
    }
    case 'decodeDeep': {
      const b = branch();
      const skips = skipInputs(range(b + 1, skipsPlan.length));
      const mid = map('mid', midChannels);
      const temb = vector('temb', ['n', embedDim]);
      emitMap(w.decoderBlocks(skips, mid, temb, 0, unet.decoderBlockConsuming(b)), 'h', deepChannels(b));
      break;
    }
    case 'decodeShallow': {
      const b = branch();
      const h = map('h', deepChannels(b));
      const skips = skipInputs(range(0, b + 1));
      const temb = vector('temb', ['n', embedDim]);
      emitMap(w.head(w.decoderBlocks(skips, h, temb, unet.decoderBlockConsuming(b), blockCount)), 'out', c.outChannels);
      break;
    }
  }
  return { graph: g, inputs, outputs, stepDependent: ctx.stepDependent };
}

function blockOutChannels(block: BlockPlan): number {
  return block.kind === 'res' ? block.outChannels : block.channels;
}

