/**
 * Architecture of a DDPM/DDIM/LDM-style UNet. Everything else (block list, channel counts, resolutions, layer
 * inventory, the built module) is derived from it by {@link planUNet}, so accounting on an architecture-only
 * config and the real network can never disagree.
 *
 * @example
 * ```ts
 * // DDIM's CIFAR-10 model (35,746,307 parameters)
 * const cifar: UNetConfig = {
 *   inChannels: 3, outChannels: 3, imageSize: 32, baseChannels: 128, channelMult: [1, 2, 2, 2],
 *   numResBlocks: 2, attentionResolutions: [16], dropout: 0.1,
 * };
 * ```
 */
export interface UNetConfig {
  /** Channels of the input image or latent. */
  inChannels: number;
  /** Channels of the output (twice the data channels for the `'both'` parameterization). */
  outChannels: number;
  /** Input height and width (one number for square inputs). Every level but the deepest must have even size. */
  imageSize: number | [number, number];
  /** Channels of the first level (DDPM `ch`, LDM `model_channels`). */
  baseChannels: number;
  /** Channel multiplier per level; its length is the number of levels. */
  channelMult: number[];
  /** Residual blocks per encoder level (decoder levels have one more). */
  numResBlocks: number;
  /** Feature-map sizes (in pixels, the larger side) at which residual blocks are followed by self-attention. */
  attentionResolutions: number[];
  /** Attention heads (default 1, as DDPM). Give this or {@link UNetConfig.headChannels}. */
  heads?: number;
  /** Channels per attention head (LDM's `num_head_channels`); overrides `heads`. */
  headChannels?: number;
  /** GroupNorm groups (default 32, reduced to the channel count where that is smaller). */
  groups?: number;
  /** GroupNorm epsilon (default 1e-6 as DDIM's code; PyTorch's default is 1e-5). */
  groupNormEps?: number;
  /** Dropout rate inside residual blocks (default 0). */
  dropout?: number;
  /** Size of the time embedding after the MLP (default 4 × baseChannels); the sinusoid has baseChannels. */
  timeEmbedDim?: number;
  /**
   * How levels change resolution: `'conv'` (default; stride-2 3×3 conv down, nearest + 3×3 conv up), `'pool'`
   * (avg-pool down, nearest up, no convs — DDPM with `resamp_with_conv = False`), or `'residual'` (residual blocks
   * that resample inside, LDM's `resblock_updown`).
   */
  resample?: 'conv' | 'pool' | 'residual';
  /** Residual blocks apply the time embedding as GroupNorm scale and shift (LDM's `use_scale_shift_norm`). */
  scaleShiftNorm?: boolean;
  /** Self-attention in the middle block (default true). */
  midAttention?: boolean;
}

/** A {@link UNetConfig} with every default filled in. */
export type ResolvedUNetConfig = Required<Omit<UNetConfig, 'heads' | 'headChannels' | 'imageSize'>> & {
  /** Input `[height, width]`. */
  imageSize: [number, number];
  /** Heads, when given by count. */
  heads?: number;
  /** Channels per head, when given that way. */
  headChannels?: number;
};

/** Fills in defaults and checks the config; errors name the offending field. */
export function resolveUNetConfig(config: UNetConfig): ResolvedUNetConfig {
  const size: [number, number] = typeof config.imageSize === 'number' ? [config.imageSize, config.imageSize] : [...config.imageSize];
  const positive = (name: string, v: unknown): void => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`UNet config: ${name} must be a positive integer, got ${String(v)}`);
  };
  positive('inChannels', config.inChannels);
  positive('outChannels', config.outChannels);
  positive('baseChannels', config.baseChannels);
  size.forEach((s, i) => positive(`imageSize[${i}]`, s));
  if (!Array.isArray(config.channelMult) || config.channelMult.length === 0) throw new Error('UNet config: channelMult must be a non-empty array');
  config.channelMult.forEach((m, i) => positive(`channelMult[${i}]`, m));
  if (!Number.isInteger(config.numResBlocks) || config.numResBlocks < 0) {
    throw new Error(`UNet config: numResBlocks must be a non-negative integer, got ${config.numResBlocks}`);
  }
  if (config.heads != null && config.headChannels != null) throw new Error('UNet config: give heads or headChannels, not both');
  const dropout = config.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`UNet config: dropout must be in [0, 1), got ${dropout}`);
  const resample = config.resample ?? 'conv';
  if (!['conv', 'pool', 'residual'].includes(resample)) throw new Error(`UNet config: resample must be 'conv', 'pool' or 'residual', got '${resample}'`);
  let [h, w] = size;
  for (let level = 0; level < config.channelMult.length - 1; level++) {
    if (h % 2 !== 0 || w % 2 !== 0) {
      throw new Error(`UNet config: level ${level} has odd size ${h}×${w}, so up-sampling could not restore it; choose an imageSize divisible by ${2 ** (config.channelMult.length - 1)}`);
    }
    h /= 2;
    w /= 2;
  }
  const out: ResolvedUNetConfig = {
    inChannels: config.inChannels,
    outChannels: config.outChannels,
    imageSize: size,
    baseChannels: config.baseChannels,
    channelMult: [...config.channelMult],
    numResBlocks: config.numResBlocks,
    attentionResolutions: [...(config.attentionResolutions ?? [])],
    groups: config.groups ?? 32,
    groupNormEps: config.groupNormEps ?? 1e-6,
    dropout,
    timeEmbedDim: config.timeEmbedDim ?? 4 * config.baseChannels,
    resample,
    scaleShiftNorm: config.scaleShiftNorm ?? false,
    midAttention: config.midAttention ?? true,
  };
  if (config.headChannels != null) out.headChannels = config.headChannels;
  else out.heads = config.heads ?? 1;
  positive('timeEmbedDim', out.timeEmbedDim);
  return out;
}

/** A residual block of the plan. */
export interface ResBlockPlan {
  /** Always `'res'`. */
  kind: 'res';
  /** Stable name, e.g. `down.1.res.0`, `mid.res1`, `up.0.res.2`, `down.0.downsample` (residual resampling). */
  name: string;
  /** Input channels (for decoder blocks: deep channels + skip channels). */
  inChannels: number;
  /** Output channels. */
  outChannels: number;
  /** For decoder blocks fed `concat(h, skip)`: the channel count of `h`, where the skip half starts. */
  concatSplit?: number;
  /** Output `[height, width]`. */
  size: [number, number];
  /** Residual blocks that resample (LDM `resblock_updown`). */
  resample?: 'up' | 'down';
}

/** A self-attention block of the plan. */
export interface AttentionPlan {
  /** Always `'attn'`. */
  kind: 'attn';
  /** Stable name, e.g. `down.1.attn.0`, `mid.attn`. */
  name: string;
  /** Channels. */
  channels: number;
  /** Number of heads. */
  heads: number;
  /** Feature-map `[height, width]` (tokens = height × width). */
  size: [number, number];
}

/** A plain down- or up-sampler of the plan (`conv`/`pool` resampling). */
export interface ResamplePlan {
  /** `'down'` or `'up'`. */
  kind: 'down' | 'up';
  /** Stable name, e.g. `down.0.downsample`, `up.1.upsample`. */
  name: string;
  /** Channels in and out. */
  channels: number;
  /** Whether it has a 3×3 conv. */
  withConv: boolean;
  /** Output `[height, width]`. */
  size: [number, number];
}

/** Any block of the plan. */
export type BlockPlan = ResBlockPlan | AttentionPlan | ResamplePlan;

/** A block placed in a level. */
export interface PlacedBlock {
  /** The block. */
  block: BlockPlan;
  /** Whether its output is pushed as a skip (encoder levels only). */
  skip: boolean;
}

/** One level of the plan: its blocks in call order. */
export interface LevelPlan {
  /** Blocks of the level, in call order. */
  blocks: PlacedBlock[];
}

/** A plain 3×3 conv of the plan (stem, output conv). */
export interface ConvPlan {
  /** Input channels. */
  inChannels: number;
  /** Output channels. */
  outChannels: number;
  /** Output `[height, width]`. */
  size: [number, number];
}

/** A skip connection of the plan. */
export interface SkipPlan {
  /** Name of the block whose output it is. */
  name: string;
  /** Its channels. */
  channels: number;
}

/**
 * The whole UNet as data: what {@link UNet} builds and what efficiency accounting reads. Encoder levels list the
 * blocks that push skips (after every residual block, after attention when present, and after each down-sampler);
 * decoder levels pop them deepest first.
 */
export interface UNetPlan {
  /** The resolved config. */
  config: ResolvedUNetConfig;
  /** Time-embedding sizes. */
  time: TimePlan;
  /** Stem conv `inChannels → baseChannels`, 3×3. */
  stem: ConvPlan;
  /** Encoder levels, shallow → deep. */
  down: LevelPlan[];
  /** Middle blocks: res, (attn), res. */
  mid: BlockPlan[];
  /** Decoder levels by level index (same index = same resolution as the encoder level); called deepest first. */
  up: LevelPlan[];
  /** Output GroupNorm + SiLU + 3×3 conv `baseChannels·mult[0] → outChannels`. */
  out: ConvPlan;
  /** Skip names in push order (shallow → deep) with their channel counts. */
  skips: SkipPlan[];
}

/** Sizes of the time embedding. */
export interface TimePlan {
  /** Sinusoid size (baseChannels). */
  sinusoidDim: number;
  /** MLP width (timeEmbedDim). */
  embedDim: number;
}

/**
 * Derives the block structure of a UNet from its config, following DDIM's `Model` and LDM's `UNetModel`: per
 * encoder level `numResBlocks` residual blocks (each followed by attention at the listed resolutions) then a
 * down-sampler except at the deepest level; middle res–attn–res; per decoder level (deepest first)
 * `numResBlocks + 1` residual blocks on `concat(h, skip)` then an up-sampler except at the top level.
 */
export function planUNet(config: UNetConfig): UNetPlan {
  const c = resolveUNetConfig(config);
  const L = c.channelMult.length;
  const heads = (channels: number): number => {
    const n = c.headChannels != null ? channels / c.headChannels : (c.heads ?? 1);
    if (!Number.isInteger(n) || n < 1 || channels % n !== 0) {
      throw new Error(`UNet config: ${channels} channels cannot be split into heads (heads ${c.heads ?? '-'}, headChannels ${c.headChannels ?? '-'})`);
    }
    return n;
  };
  const wantsAttention = (size: [number, number]): boolean => c.attentionResolutions.includes(Math.max(size[0], size[1]));
  const sizes: Array<[number, number]> = [];
  for (let l = 0, s = c.imageSize; l < L; l++, s = [s[0] / 2, s[1] / 2]) sizes.push(s);

  const skips: SkipPlan[] = [{ name: 'stem', channels: c.baseChannels }];
  const down: LevelPlan[] = [];
  let ch = c.baseChannels;
  for (let l = 0; l < L; l++) {
    const blocks: LevelPlan['blocks'] = [];
    const out = c.baseChannels * c.channelMult[l];
    for (let i = 0; i < c.numResBlocks; i++) {
      blocks.push({ block: { kind: 'res', name: `down.${l}.res.${i}`, inChannels: ch, outChannels: out, size: sizes[l] }, skip: false });
      ch = out;
      if (wantsAttention(sizes[l])) blocks.push({ block: { kind: 'attn', name: `down.${l}.attn.${i}`, channels: ch, heads: heads(ch), size: sizes[l] }, skip: false });
      blocks[blocks.length - 1].skip = true;
      skips.push({ name: blocks[blocks.length - 1].block.name, channels: ch });
    }
    if (l < L - 1) {
      const name = `down.${l}.downsample`;
      const block: BlockPlan =
        c.resample === 'residual'
          ? { kind: 'res', name, inChannels: ch, outChannels: ch, size: sizes[l + 1], resample: 'down' }
          : { kind: 'down', name, channels: ch, withConv: c.resample === 'conv', size: sizes[l + 1] };
      blocks.push({ block, skip: true });
      skips.push({ name, channels: ch });
    }
    down.push({ blocks });
  }

  const deep = sizes[L - 1];
  const mid: BlockPlan[] = [{ kind: 'res', name: 'mid.res1', inChannels: ch, outChannels: ch, size: deep }];
  if (c.midAttention) mid.push({ kind: 'attn', name: 'mid.attn', channels: ch, heads: heads(ch), size: deep });
  mid.push({ kind: 'res', name: 'mid.res2', inChannels: ch, outChannels: ch, size: deep });

  const up: LevelPlan[] = new Array<LevelPlan>(L);
  const pending = skips.map((s) => s.channels);
  for (let l = L - 1; l >= 0; l--) {
    const blocks: LevelPlan['blocks'] = [];
    const out = c.baseChannels * c.channelMult[l];
    for (let i = 0; i <= c.numResBlocks; i++) {
      const skipCh = pending.pop();
      if (skipCh == null) throw new Error('UNet plan: ran out of skips (internal error)');
      blocks.push({ block: { kind: 'res', name: `up.${l}.res.${i}`, inChannels: ch + skipCh, outChannels: out, concatSplit: ch, size: sizes[l] }, skip: false });
      ch = out;
      if (wantsAttention(sizes[l])) blocks.push({ block: { kind: 'attn', name: `up.${l}.attn.${i}`, channels: ch, heads: heads(ch), size: sizes[l] }, skip: false });
    }
    if (l > 0) {
      const name = `up.${l}.upsample`;
      const block: BlockPlan =
        c.resample === 'residual'
          ? { kind: 'res', name, inChannels: ch, outChannels: ch, size: sizes[l - 1], resample: 'up' }
          : { kind: 'up', name, channels: ch, withConv: c.resample === 'conv', size: sizes[l - 1] };
      blocks.push({ block, skip: false });
    }
    up[l] = { blocks };
  }
  return {
    config: c,
    time: { sinusoidDim: c.baseChannels, embedDim: c.timeEmbedDim },
    stem: { inChannels: c.inChannels, outChannels: c.baseChannels, size: c.imageSize },
    down,
    mid,
    up,
    out: { inChannels: ch, outChannels: c.outChannels, size: c.imageSize },
    skips,
  };
}
