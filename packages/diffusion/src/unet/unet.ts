import * as tf from '@tensorflow/tfjs';
import { AnyModule, Conv2d, Downsample, GroupNorm, Module, ModuleList, Rng, SelfAttention, Upsample, copyModuleInto, silu, withCallContext } from '@diffpress/core';
import { BlockOptions, ResBlock, groupNorm, normGroups } from './blocks';
import { BlockPlan, LevelPlan, UNetConfig, UNetPlan, planUNet } from './config';
import { TimeEmbedding } from './timestep-embedding';

/** What {@link UNet.encode} returns: the skip features (shallow → deep) and the middle block's output. */
// A type alias (not an interface) so it is assignable to tfjs's TensorContainer and can be returned from tf.tidy.
export type EncoderOutput = {
  /** Skip tensors in push order, named by {@link UNetPlan.skips}. */
  skips: tf.Tensor[];
  /** Output of the middle block. */
  mid: tf.Tensor;
};

/** Output of {@link UNet.forwardWithFeatures}: the network output and every block's output by name. */
export type FeatureOutput = {
  /** The UNet output. */
  output: tf.Tensor;
  /** Block outputs by stable name (`stem`, `down.1.res.0`, `down.1.attn.0`, `down.0.downsample`, `mid.res1`, `mid.attn`, `up.2.res.1`, `up.1.upsample`, `out`). */
  features: Record<string, tf.Tensor>;
};

/** Options of {@link UNet}. */
export interface UNetOptions {
  /** Initialisation generator (default: the shared one; see core's `manualSeed`). */
  rng?: Rng;
}

/** A decoder block in call order (see {@link UNet.decoderBlocks}). */
export interface DecoderBlock {
  /** The block's plan entry. */
  block: BlockPlan;
  /** The skip index its input concatenates, or `null`. */
  consumes: number | null;
}

/** Any block module of a {@link UNet}. */
export type UNetBlock = ResBlock | SelfAttention | Downsample | Upsample;
type Sink = Record<string, tf.Tensor> | undefined;

/**
 * A UNet level's container: `res.<i>`, `attn.<i>` and a resampler (`downsample`/`upsample`), addressable by path.
 * The UNet calls the blocks itself.
 */
export class UNetLevel extends Module<never[], never> {
  /** Residual blocks of the level. */
  readonly res = this.registerModule('res', new ModuleList<ResBlock>());
  /** Attention blocks (entry i follows residual block i). */
  readonly attn = this.registerModule('attn', new ModuleList<SelfAttention>());

  /** Containers have no computation of their own. */
  forward(): never {
    throw new Error('a UNet level has no forward(); the UNet calls its blocks');
  }

  /** Registers a named block (the resampler). */
  add(name: string, module: AnyModule): void {
    this.registerModule(name, module);
  }
}

/** The middle block's container: `res1`, `attn` (optional), `res2`. The UNet calls the blocks itself. */
export class UNetMiddle extends Module<never[], never> {
  /** Containers have no computation of their own. */
  forward(): never {
    throw new Error('the middle block has no forward(); the UNet calls its blocks');
  }

  /** Registers a named block. */
  add(name: string, module: AnyModule): void {
    this.registerModule(name, module);
  }
}

/** Output head: GroupNorm → SiLU → 3×3 conv (children `norm`, `conv`). */
export class UNetOutHead extends Module {
  /**
   * @param norm - The GroupNorm.
   * @param conv - The output conv.
   */
  constructor(
    readonly norm: GroupNorm,
    readonly conv: Conv2d,
  ) {
    super();
    this.registerModule('norm', norm);
    this.registerModule('conv', conv);
  }

  /** `x → conv(SiLU(norm(x)))`. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.conv.forward(silu(this.norm.forward(x))));
  }
}

/**
 * DDPM/DDIM/LDM-style UNet on NHWC tensors, built from a {@link UNetConfig} via its {@link UNetPlan}.
 *
 * Module paths: `time.linear1`, `time.linear2`, `stem`, `down.<level>.res.<i>`, `down.<level>.attn.<i>`,
 * `down.<level>.downsample`, `mid.res1`, `mid.attn`, `mid.res2`, `up.<level>.res.<i>`, `up.<level>.attn.<i>`,
 * `up.<level>.upsample`, `out.norm`, `out.conv`; residual blocks have `norm1`, `conv1`, `emb`, `norm2`, `conv2` and
 * (when channels change, always in the decoder) `shortcut`. Decoder level `l` works at the resolution of encoder
 * level `l` and runs deepest first.
 *
 * Views used by compression methods: {@link UNet.timeEmbedding} and {@link UNet.temporalFeatures} (TFMQ-DM's
 * temporal information block), {@link UNet.encode}/{@link UNet.decode} (encoder propagation), the partial paths
 * {@link UNet.encodeShallow}, {@link UNet.decodeDeep} and {@link UNet.decodeShallow} around a named skip branch
 * (DeepCache), and
 * {@link UNet.forwardWithFeatures} (block-output distillation in BinaryDM/BiDM). Blocks are looked up at call time,
 * so a block swapped with {@link Module.replace} takes effect.
 *
 * @example
 * ```ts
 * const unet = new UNet(unetPresets['unet-mnist-s']);
 * const eps = unet.forward(xt, tf.tensor1d([999, 500]));           // [2, 28, 28, 1]
 * const temb = unet.timeEmbedding(tf.tensor1d([999, 500]));
 * const { skips, mid } = unet.encode(xt, temb);
 * const same = unet.decode(skips, mid, temb);                       // equals eps bit for bit
 * ```
 */
export class UNet extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  /** The block structure this network was built from. */
  readonly plan: UNetPlan;
  /** Time-embedding MLP. */
  readonly time: TimeEmbedding;
  /** Input conv. */
  readonly stem: Conv2d;
  /** Encoder levels. */
  readonly down: ModuleList<UNetLevel>;
  /** Middle block. */
  readonly mid: UNetMiddle;
  /** Decoder levels (index = resolution level). */
  readonly up: ModuleList<UNetLevel>;
  /** Output head. */
  readonly out: UNetOutHead;

  /**
   * @param config - Architecture (see {@link UNetConfig}); presets are in `unetPresets`.
   * @param options - Initialisation generator.
   */
  constructor(config: UNetConfig, options: UNetOptions = {}) {
    super();
    const plan = planUNet(config);
    this.plan = plan;
    const c = plan.config;
    const rng = options.rng;
    const blockOptions: BlockOptions = { groups: c.groups, eps: c.groupNormEps, timeEmbedDim: c.timeEmbedDim, dropout: c.dropout, scaleShiftNorm: c.scaleShiftNorm, rng };
    this.time = this.registerModule('time', new TimeEmbedding(plan.time.sinusoidDim, plan.time.embedDim, rng));
    this.stem = this.registerModule('stem', new Conv2d(plan.stem.inChannels, plan.stem.outChannels, 3, { rng }));
    const buildLevel = (level: LevelPlan): UNetLevel => {
      const m = new UNetLevel();
      for (const { block } of level.blocks) {
        const built = buildBlock(block, blockOptions, c.groups, c.groupNormEps, rng);
        const leaf = block.name.split('.').slice(2);
        if (leaf[0] === 'res') m.res.push(built as ResBlock);
        else if (leaf[0] === 'attn') m.attn.push(built as SelfAttention);
        else m.add(leaf[0], built);
      }
      return m;
    };
    this.down = this.registerModule('down', new ModuleList(plan.down.map(buildLevel)));
    this.mid = this.registerModule('mid', new UNetMiddle());
    for (const block of plan.mid) this.mid.add(block.name.split('.')[1], buildBlock(block, blockOptions, c.groups, c.groupNormEps, rng));
    this.up = this.registerModule('up', new ModuleList(plan.up.map(buildLevel)));
    this.out = this.registerModule('out', new UNetOutHead(groupNorm(plan.out.inChannels, c.groups, c.groupNormEps), new Conv2d(plan.out.inChannels, plan.out.outChannels, 3, { rng })));
  }

  /** The block module of the plan entry named `name` (e.g. `down.1.res.0`, `mid.attn`). */
  block(name: string): UNetBlock {
    return this.getModule(name) as UNetBlock;
  }

  /**
   * The time embedding `h(t)`: sinusoid of the model times → Linear → SiLU → Linear.
   *
   * @param t - Model times `[n]` (0…1000 scale, see `NoiseSchedule.modelTime`).
   * @returns `[n, timeEmbedDim]`.
   */
  timeEmbedding(t: tf.Tensor): tf.Tensor {
    return (this.getModule('time') as TimeEmbedding).forward(t);
  }

  /**
   * The temporal-feature view of TFMQ-DM: for every residual block (in call order), the projected embedding
   * `g_i(h(t)) = emb_i(SiLU(h(t)))` that the block adds to its features. Depends on t only.
   *
   * @param temb - Output of {@link UNet.timeEmbedding}, `[n, E]`.
   * @returns Residual-block name → `[n, C_i]` (the caller disposes them).
   */
  temporalFeatures(temb: tf.Tensor): Record<string, tf.Tensor> {
    return tf.tidy(() => {
      const out: Record<string, tf.Tensor> = {};
      for (const name of this.resBlockNames()) out[name] = (this.block(name) as ResBlock).timeFeature(temb);
      return out;
    });
  }

  /** Names of all residual blocks in call order (encoder, middle, decoder deepest first). */
  resBlockNames(): string[] {
    return this.blockNames().filter((n) => this.findPlan(n).kind === 'res');
  }

  /** Names of all blocks in call order, as used by {@link UNet.forwardWithFeatures} (without `stem`/`out`). */
  blockNames(): string[] {
    const names: string[] = [];
    for (const level of this.plan.down) for (const { block } of level.blocks) names.push(block.name);
    for (const block of this.plan.mid) names.push(block.name);
    for (let l = this.plan.up.length - 1; l >= 0; l--) for (const { block } of this.plan.up[l].blocks) names.push(block.name);
    return names;
  }

  private findPlan(name: string): BlockPlan {
    const all = [...this.plan.down.flatMap((l) => l.blocks.map((b) => b.block)), ...this.plan.mid, ...this.plan.up.flatMap((l) => l.blocks.map((b) => b.block))];
    const found = all.find((b) => b.name === name);
    if (!found) throw new Error(`UNet has no block '${name}'`);
    return found;
  }

  /**
   * Stem, encoder levels and middle block.
   *
   * @param x - Input `[n, H, W, inChannels]`.
   * @param temb - Time embedding `[n, E]` from {@link UNet.timeEmbedding}.
   * @returns Skips (shallow → deep, see `plan.skips`) and the middle output; the caller disposes them.
   */
  encode(x: tf.Tensor, temb: tf.Tensor): EncoderOutput {
    return tf.tidy(() => this.runEncoder(x, temb, undefined));
  }

  /**
   * Decoder levels (deepest first, each residual block fed `concat(h, skip)`) and the output head.
   *
   * @param skips - As returned by {@link UNet.encode} (not modified or disposed).
   * @param mid - Middle output.
   * @param temb - Time embedding; may differ from the encoder's (Faster Diffusion decodes cached features at a new t).
   */
  decode(skips: readonly tf.Tensor[], mid: tf.Tensor, temb: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.runDecoder(skips, mid, temb, undefined));
  }

  /**
   * `decode(encode(x, h(t)), h(t))`.
   *
   * @param x - Noisy input `[n, H, W, inChannels]`.
   * @param t - Model times `[n]`.
   */
  forward(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
    // The times are offered to per-step layers (they look their step up by time when no sampler set one).
    return withCallContext({ modelTimes: () => t.dataSync() }, () =>
      tf.tidy(() => {
        const temb = this.timeEmbedding(t);
        const { skips, mid } = this.runEncoder(x, temb, undefined);
        return this.runDecoder(skips, mid, temb, undefined);
      }),
    );
  }

  /**
   * Index of a skip branch in {@link UNetPlan.skips} (shallow → deep), given by index or by the stable name of the
   * block that pushes it (`stem`, `down.0.res.1`, `down.0.downsample`, …).
   *
   * @throws Error naming the valid branches when there is no such skip.
   */
  skipIndex(branch: number | string): number {
    const skips = this.plan.skips;
    const i = typeof branch === 'number' ? branch : skips.findIndex((s) => s.name === branch);
    if (!Number.isInteger(i) || i < 0 || i >= skips.length) {
      throw new Error(`UNet has no skip branch ${JSON.stringify(branch)}; branches (shallow → deep): ${skips.map((s, k) => `${k}:${s.name}`).join(', ')}`);
    }
    return i;
  }

  /**
   * The shallow part of the encoder (DeepCache's partial path): stem and encoder blocks up to the block that pushes
   * skip `branch`, returning skips `0 … branch` (equal to the first `branch + 1` skips of {@link UNet.encode}).
   *
   * @param branch - Skip index or name (see {@link UNet.skipIndex}).
   */
  encodeShallow(x: tf.Tensor, temb: tf.Tensor, branch: number | string): tf.Tensor[] {
    const last = this.skipIndex(branch);
    return tf.tidy(() => this.runEncoder(x, temb, undefined, last).skips);
  }

  /**
   * The deep part of the decoder: the decoder blocks that run before skip `branch` is concatenated, returning the
   * hidden feature that the shallow decoder starts from (the feature DeepCache caches at full steps).
   *
   * @param skips - All skips, as from {@link UNet.encode} (only those deeper than `branch` are read).
   * @param branch - Skip index or name.
   */
  decodeDeep(skips: readonly tf.Tensor[], mid: tf.Tensor, temb: tf.Tensor, branch: number | string): tf.Tensor {
    const b = this.skipIndex(branch);
    if (skips.length !== this.plan.skips.length) throw new Error(`UNet.decodeDeep: expected ${this.plan.skips.length} skips, got ${skips.length}`);
    return tf.tidy(() => this.runDecoderBlocks(skips, mid, temb, undefined, 0, this.decoderBlockConsuming(b)));
  }

  /**
   * The shallow part of the decoder and the output head, from the block that concatenates skip `branch`:
   * `decodeShallow(decodeDeep(skips, mid, temb, b), skips, temb, b)` equals `decode(skips, mid, temb)`.
   *
   * @param h - The deep feature (from {@link UNet.decodeDeep}, possibly cached from another step).
   * @param skips - At least skips `0 … branch` (e.g. from {@link UNet.encodeShallow}).
   * @param branch - Skip index or name.
   */
  decodeShallow(h: tf.Tensor, skips: readonly tf.Tensor[], temb: tf.Tensor, branch: number | string): tf.Tensor {
    const b = this.skipIndex(branch);
    if (skips.length <= b) throw new Error(`UNet.decodeShallow: branch ${b} needs skips 0 … ${b}, got ${skips.length}`);
    return tf.tidy(() => {
      const blocks = this.decoderBlocks();
      const out = this.runDecoderBlocks(skips, h, temb, undefined, this.decoderBlockConsuming(b), blocks.length);
      return (this.getModule('out') as UNetOutHead).forward(out);
    });
  }

  /**
   * {@link UNet.forward} that also returns every block's output under its stable name (see
   * {@link FeatureOutput.features}); the caller disposes all returned tensors. Like `forward`, it offers the model
   * times to per-step layers. (`encode`/`decode` get a time embedding, not times: call them inside a sampler step's
   * `ModelCall.run`, or set core's call context yourself.)
   */
  forwardWithFeatures(x: tf.Tensor, t: tf.Tensor): FeatureOutput {
    return withCallContext({ modelTimes: () => t.dataSync() }, () =>
      tf.tidy(() => {
        const features: Record<string, tf.Tensor> = {};
        const temb = this.timeEmbedding(t);
        const { skips, mid } = this.runEncoder(x, temb, features);
        const output = this.runDecoder(skips, mid, temb, features);
        features.out = output;
        return { output, features };
      }),
    );
  }

  /** With `lastSkip`, stops once that skip is pushed (the middle output is then the last computed feature). */
  private runEncoder(x: tf.Tensor, temb: tf.Tensor, sink: Sink, lastSkip?: number): EncoderOutput {
    let h = (this.getModule('stem') as Conv2d).forward(x);
    if (sink) sink.stem = h;
    const skips: tf.Tensor[] = [h];
    if (lastSkip === 0) return { skips, mid: h };
    for (const level of this.plan.down) {
      for (const { block, skip } of level.blocks) {
        h = this.runBlock(block, h, temb, sink);
        if (skip) {
          skips.push(h);
          if (skips.length - 1 === lastSkip) return { skips, mid: h };
        }
      }
    }
    for (const block of this.plan.mid) h = this.runBlock(block, h, temb, sink);
    return { skips, mid: h };
  }

  private runDecoder(skips: readonly tf.Tensor[], mid: tf.Tensor, temb: tf.Tensor, sink: Sink): tf.Tensor {
    if (skips.length !== this.plan.skips.length) throw new Error(`UNet.decode: expected ${this.plan.skips.length} skips, got ${skips.length}`);
    const h = this.runDecoderBlocks(skips, mid, temb, sink, 0, this.decoderBlocks().length);
    return (this.getModule('out') as UNetOutHead).forward(h);
  }

  /**
   * Decoder blocks in call order (deepest level first), each with the skip index its concatenation consumes
   * (`null` for blocks that concatenate nothing). Graph exporters follow the same schedule.
   */
  decoderBlocks(): DecoderBlock[] {
    const out: DecoderBlock[] = [];
    let next = this.plan.skips.length;
    for (let l = this.plan.up.length - 1; l >= 0; l--) {
      for (const { block } of this.plan.up[l].blocks) out.push({ block, consumes: block.kind === 'res' && block.concatSplit != null ? --next : null });
    }
    return out;
  }

  /** Position in {@link UNet.decoderBlocks} of the block that concatenates skip `branch` (an index). */
  decoderBlockConsuming(branch: number): number {
    const at = this.decoderBlocks().findIndex((b) => b.consumes === branch);
    if (at < 0) throw new Error(`UNet: no decoder block consumes skip ${branch} (internal error)`);
    return at;
  }

  /** Runs decoder blocks `from` (inclusive) to `to` (exclusive) on `h`. */
  private runDecoderBlocks(skips: readonly tf.Tensor[], h: tf.Tensor, temb: tf.Tensor, sink: Sink, from: number, to: number): tf.Tensor {
    const blocks = this.decoderBlocks();
    for (let k = from; k < to; k++) {
      const { block, consumes } = blocks[k];
      if (consumes != null) h = tf.concat([h, skips[consumes]], 3);
      h = this.runBlock(block, h, temb, sink);
    }
    return h;
  }

  private runBlock(plan: BlockPlan, h: tf.Tensor, temb: tf.Tensor, sink: Sink): tf.Tensor {
    const m = this.block(plan.name);
    const y = plan.kind === 'res' ? (m as ResBlock).forward(h, temb) : (m as SelfAttention | Downsample | Upsample).forward(h);
    if (sink) sink[plan.name] = y;
    return y;
  }
}

/**
 * An independent copy of `parent` in eval mode: a fresh network of its architecture with its weights, including the
 * layers earlier compression steps replaced (through core's `copyModuleInto`). The parent is not touched; the
 * throw-away initial weights come from a private generator, so the shared one is not advanced either.
 *
 * @throws Error (the copy disposed) when a replaced layer cannot be copied.
 */
export function copyUNet(parent: UNet): UNet {
  const unet = new UNet(parent.plan.config, { rng: new Rng(0, 'unet-copy') });
  try {
    copyModuleInto(parent as unknown as AnyModule, unet as unknown as AnyModule);
  } catch (err) {
    unet.dispose();
    throw err;
  }
  unet.eval();
  return unet;
}

function buildBlock(block: BlockPlan, options: BlockOptions, groups: number, eps: number, rng: Rng | undefined): UNetBlock {
  switch (block.kind) {
    case 'res':
      return new ResBlock(block, options);
    case 'attn':
      return new SelfAttention(block.channels, { heads: block.heads, groups: normGroups(block.channels, groups), eps, rng });
    case 'down':
      return new Downsample(block.channels, { mode: block.withConv ? 'conv' : 'avgpool', rng });
    case 'up':
      return new Upsample(block.channels, { withConv: block.withConv, rng });
    default:
      throw new Error('unknown block kind (internal error)');
  }
}
