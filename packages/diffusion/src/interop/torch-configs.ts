import { Prediction } from '../schedule/parameterization';
import { ScheduleConfig } from '../schedule/schedule';
import { UNetConfig } from '../unet/config';
import { TorchUNetArchitecture } from './torch-unet';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Collects every problem of a config before failing, so a user fixes them in one pass. */
class Problems {
  readonly list: string[] = [];

  constructor(private readonly what: string) {}

  add(problem: string): void {
    this.list.push(problem);
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new Error(`${this.what}: ${this.list.length} problem(s):\n  - ${this.list.join('\n  - ')}`);
  }
}

function int(obj: Json, key: string, problems: Problems, fallback?: number): number {
  const v = obj[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    problems.add(`${key} must be a non-negative integer, got ${JSON.stringify(v) ?? 'nothing'}`);
    return 0;
  }
  return v;
}

function ints(obj: Json, key: string, problems: Problems, fallback?: number[]): number[] {
  const v = obj[key] ?? fallback;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
    problems.add(`${key} must be a list of non-negative integers, got ${JSON.stringify(v) ?? 'nothing'}`);
    return [];
  }
  return v as number[];
}

function num(obj: Json, key: string, problems: Problems, fallback?: number): number {
  const v = obj[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    problems.add(`${key} must be a number, got ${JSON.stringify(v) ?? 'nothing'}`);
    return 0;
  }
  return v;
}

/**
 * Our architecture of a DDIM model, from its config: the YAML of the official DDIM code (`configs/cifar10.yml`:
 * `data.image_size`, `model.{in_channels, out_ch, ch, ch_mult, num_res_blocks, attn_resolutions, dropout,
 * resamp_with_conv}`, `diffusion.{beta_schedule, beta_start, beta_end, num_diffusion_timesteps}`), parsed, or the
 * keyword arguments of `pytorch_diffusion`'s `Model` (`resolution`, `in_channels`, `out_ch`, `ch`, …, flat).
 *
 * DDIM's network has GroupNorm with 32 groups and epsilon 1e-6, one attention head, `4·ch` time-embedding channels
 * and the `[sin, cos]` sinusoid our UNet uses. `model.num_groups` (not a DDIM field) lowers the group count for
 * models built smaller than DDIM allows, like the importer's test fixtures. A `linear` β schedule is returned as our
 * `linear-beta` schedule; DDIM's other schedules (`quad`, `const`, `jsd`, `sigmoid`) have no counterpart and are
 * left out with a note. The prediction is ε.
 *
 * @param config - The parsed YAML/JSON.
 * @throws Error listing every missing or invalid field.
 * @example
 * ```ts
 * const arch = unetConfigFromDdimConfig(YAML.parse(fs.readFileSync('configs/cifar10.yml', 'utf8')));
 * arch.unet; // { inChannels: 3, outChannels: 3, imageSize: 32, baseChannels: 128, channelMult: [1, 2, 2, 2], … }
 * ```
 */
export function unetConfigFromDdimConfig(config: unknown): TorchUNetArchitecture {
  const problems = new Problems('DDIM config');
  if (!isObject(config)) throw new Error(`DDIM config: expected an object, got ${JSON.stringify(config)}`);
  const nested = isObject(config.model);
  const model = nested ? (config.model as Json) : config;
  const data = isObject(config.data) ? config.data : {};
  const diffusion = isObject(config.diffusion) ? config.diffusion : undefined;
  const resolution = data.image_size ?? model.resolution;
  if (resolution === undefined) problems.add(nested ? 'data.image_size is missing' : 'resolution is missing');
  const unet: UNetConfig = {
    inChannels: int(model, 'in_channels', problems),
    outChannels: int(model, 'out_ch', problems),
    imageSize: typeof resolution === 'number' ? resolution : 0,
    baseChannels: int(model, 'ch', problems),
    channelMult: ints(model, 'ch_mult', problems),
    numResBlocks: int(model, 'num_res_blocks', problems),
    attentionResolutions: ints(model, 'attn_resolutions', problems),
    dropout: num(model, 'dropout', problems, 0),
    heads: 1,
    groups: int(model, 'num_groups', problems, 32),
    groupNormEps: 1e-6,
    resample: model.resamp_with_conv === false ? 'pool' : 'conv',
    midAttention: true,
  };
  if (model.type !== undefined && model.type !== 'simple' && model.type !== 'bayesian') problems.add(`model.type '${String(model.type)}' is not DDIM's 'simple' or 'bayesian'`);
  problems.throwIfAny();
  const notes: string[] = [];
  let schedule: ScheduleConfig | undefined;
  if (diffusion) {
    if (diffusion.beta_schedule === 'linear') {
      const p = new Problems('DDIM config, diffusion section');
      schedule = {
        type: 'linear-beta',
        timesteps: int(diffusion, 'num_diffusion_timesteps', p),
        betaStart: num(diffusion, 'beta_start', p),
        betaEnd: num(diffusion, 'beta_end', p),
      };
      p.throwIfAny();
    } else notes.push(`diffusion.beta_schedule '${String(diffusion.beta_schedule)}' has no diffpress schedule; give one yourself`);
  }
  if (model.type === 'bayesian') notes.push("model.type 'bayesian': its logvar parameter is not part of the network and is skipped");
  return { layout: 'ddim', unet, schedule, prediction: 'eps', notes };
}

const DIFFUSERS_DOWN = new Set(['DownBlock2D', 'UNetResDownBlock2D', 'AttnDownBlock2D']);
const DIFFUSERS_UP = new Set(['UpBlock2D', 'UNetResUpBlock2D', 'AttnUpBlock2D']);

/** Options of {@link unetConfigFromDiffusersConfig}. */
export interface DiffusersConfigOptions {
  /** Input size, for configs whose `sample_size` is null. */
  imageSize?: number | [number, number];
}

/**
 * Our architecture of a diffusers `UNet2DModel`, from its `config.json` (parsed).
 *
 * Accepted: `DownBlock2D`/`AttnDownBlock2D` and `UpBlock2D`/`AttnUpBlock2D` blocks (attention levels mirrored),
 * `UNetMidBlock2D`, positional time embedding, `freq_shift` 1 (the DDPM frequency ladder, `exp(−k·ln(10000)/(half −
 * 1))`), either `flip_sin_to_cos` (returned, and absorbed by permuting the rows of `time.linear1`),
 * `downsample_padding` 0 (the `(0, 1, 0, 1)` pad of DDPM, which is our stride-2 'same' padding), `attention_head_dim`
 * (heads of that many channels; null: one head), `norm_num_groups`, `norm_eps`, `resnet_time_scale_shift`
 * `default`/`scale_shift`, `add_attention`, `dropout`, `block_out_channels` that are multiples of the first.
 *
 * Refused, each naming its field: `freq_shift` other than 1 (diffusers' own default 0 gives frequencies
 * `exp(−k·ln(10000)/half)`, a ladder our sinusoid cannot express), `downsample_padding` 1 (a symmetric pad samples
 * other pixels than ours; no weight mapping can move a stride-2 grid), `center_input_sample`, class embeddings,
 * other time-embedding types, activations or block types, `mid_block_scale_factor` ≠ 1, `downsample_type`/
 * `upsample_type` other than `conv`, `attn_norm_num_groups` different from `norm_num_groups` (or, with
 * `scale_shift`, absent: the middle attention then has no GroupNorm).
 *
 * The schedule is not in this file (see {@link scheduleFromDiffusersConfig}).
 *
 * @param config - The parsed `config.json`.
 * @param options - Input size when `sample_size` is null.
 * @throws Error listing every field that is missing, invalid or cannot be expressed.
 * @example
 * ```ts
 * const arch = unetConfigFromDiffusersConfig(JSON.parse(fs.readFileSync('ddpm-cifar10-32/unet/config.json', 'utf8')));
 * const { unet } = importTorchUNet('ddpm-cifar10-32/unet/diffusion_pytorch_model.safetensors', arch);
 * ```
 */
export function unetConfigFromDiffusersConfig(config: unknown, options: DiffusersConfigOptions = {}): TorchUNetArchitecture {
  const problems = new Problems('diffusers UNet2DModel config');
  if (!isObject(config)) throw new Error(`diffusers UNet2DModel config: expected an object, got ${JSON.stringify(config)}`);
  const c = config;
  const expect = (key: string, ok: (v: unknown) => boolean, fallback: unknown, why: string): void => {
    const v = c[key] === undefined ? fallback : c[key];
    if (!ok(v)) problems.add(`${key} ${JSON.stringify(v)}: ${why}`);
  };
  if (c._class_name !== undefined && c._class_name !== 'UNet2DModel') problems.add(`_class_name '${String(c._class_name)}': only UNet2DModel is supported`);
  const channels = ints(c, 'block_out_channels', problems, [224, 448, 672, 896]);
  const base = channels[0] ?? 0;
  const down = Array.isArray(c.down_block_types) ? (c.down_block_types as unknown[]) : ['DownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D'];
  const up = Array.isArray(c.up_block_types) ? (c.up_block_types as unknown[]) : ['AttnUpBlock2D', 'AttnUpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'];
  if (down.length !== channels.length || up.length !== channels.length) {
    problems.add(`down_block_types (${down.length}), up_block_types (${up.length}) and block_out_channels (${channels.length}) must have the same length`);
  }
  channels.forEach((ch, i) => {
    if (base > 0 && ch % base !== 0) problems.add(`block_out_channels[${i}] ${ch} is not a multiple of block_out_channels[0] ${base}`);
  });
  down.forEach((t, i) => {
    if (typeof t !== 'string' || !DIFFUSERS_DOWN.has(t)) problems.add(`down_block_types[${i}] ${JSON.stringify(t)}: only ${[...DIFFUSERS_DOWN].join(', ')} are supported`);
  });
  up.forEach((t, i) => {
    if (typeof t !== 'string' || !DIFFUSERS_UP.has(t)) problems.add(`up_block_types[${i}] ${JSON.stringify(t)}: only ${[...DIFFUSERS_UP].join(', ')} are supported`);
  });
  const attnLevels = down.map((t) => t === 'AttnDownBlock2D');
  up.forEach((t, i) => {
    const level = up.length - 1 - i;
    if (typeof t === 'string' && DIFFUSERS_UP.has(t) && (t === 'AttnUpBlock2D') !== attnLevels[level]) {
      problems.add(`up_block_types[${i}] ${t} does not mirror down_block_types[${level}] ${String(down[level])}: our UNet has attention on both sides of a level or neither`);
    }
  });

  let imageSize: number | [number, number] | undefined = options.imageSize;
  if (imageSize === undefined) {
    const s = c.sample_size;
    if (typeof s === 'number') imageSize = s;
    else if (Array.isArray(s) && s.length === 2 && s.every((x) => typeof x === 'number')) imageSize = [s[0] as number, s[1] as number];
    else problems.add(`sample_size ${JSON.stringify(s) ?? 'is missing'}: give the input size (imageSize)`);
  }
  const size = typeof imageSize === 'number' ? [imageSize, imageSize] : (imageSize ?? [0, 0]);
  const attentionResolutions = attnLevels.flatMap((a, l) => (a ? [Math.max(size[0], size[1]) / 2 ** l] : []));

  expect('time_embedding_type', (v) => v === 'positional', 'positional', "only the 'positional' (sinusoidal) time embedding is supported");
  expect('freq_shift', (v) => v === 1, 0, 'our sinusoid has frequencies exp(−k·ln(10000)/(half − 1)), i.e. freq_shift 1 (DDPM conversions); other shifts give a frequency ladder it cannot express');
  expect('flip_sin_to_cos', (v) => typeof v === 'boolean', true, 'must be true or false');
  expect('downsample_padding', (v) => v === 0, 1, "our stride-2 down-sampling conv pads bottom/right by one (DDPM's (0, 1, 0, 1) pad, downsample_padding 0); a symmetric pad samples a shifted pixel grid that no weight mapping can reproduce");
  expect('downsample_type', (v) => v === 'conv', 'conv', "only 'conv' down-sampling is supported");
  expect('upsample_type', (v) => v === 'conv', 'conv', "only 'conv' up-sampling is supported");
  expect('center_input_sample', (v) => v === false, false, 'the 2x − 1 input rescaling has no counterpart (zero padding would differ); rescale the data instead');
  expect('class_embed_type', (v) => v === null, null, 'class conditioning is not supported');
  expect('num_class_embeds', (v) => v === null, null, 'class conditioning is not supported');
  expect('act_fn', (v) => v === 'silu' || v === 'swish', 'silu', 'only SiLU is supported');
  expect('mid_block_scale_factor', (v) => v === 1, 1, 'residual outputs divided by a scale factor have no counterpart');
  expect('mid_block_type', (v) => v === 'UNetMidBlock2D', 'UNetMidBlock2D', 'only UNetMidBlock2D is supported');
  expect('attention_legacy_order', (v) => v === false, false, 'only the standard q/k/v head order is supported');
  expect('resnet_time_scale_shift', (v) => v === 'default' || v === 'scale_shift', 'default', "only 'default' and 'scale_shift' are supported");
  const groups = int(c, 'norm_num_groups', problems, 32);
  const scaleShift = c.resnet_time_scale_shift === 'scale_shift';
  const addAttention = c.add_attention === undefined ? true : c.add_attention === true;
  const attnGroups = c.attn_norm_num_groups;
  if (attnGroups !== undefined && attnGroups !== null && attnGroups !== groups) problems.add(`attn_norm_num_groups ${JSON.stringify(attnGroups)} differs from norm_num_groups ${groups}; our attention uses the same groups as the residual blocks`);
  if ((attnGroups === undefined || attnGroups === null) && scaleShift && addAttention) problems.add('attn_norm_num_groups is null with resnet_time_scale_shift scale_shift: the middle attention then has no GroupNorm, ours always has one');
  const headDim = c.attention_head_dim === undefined ? 8 : c.attention_head_dim;
  if (headDim !== null && (typeof headDim !== 'number' || !Number.isInteger(headDim) || headDim < 1)) problems.add(`attention_head_dim ${JSON.stringify(headDim)} must be a positive integer or null`);
  const timeEmbedDim = c.time_embedding_dim === undefined || c.time_embedding_dim === null ? 4 * base : int(c, 'time_embedding_dim', problems);
  problems.throwIfAny();

  const unet: UNetConfig = {
    inChannels: int(c, 'in_channels', problems, 3),
    outChannels: int(c, 'out_channels', problems, 3),
    imageSize: imageSize as number | [number, number],
    baseChannels: base,
    channelMult: channels.map((ch) => ch / base),
    numResBlocks: int(c, 'layers_per_block', problems, 2),
    attentionResolutions,
    groups,
    groupNormEps: num(c, 'norm_eps', problems, 1e-5),
    dropout: num(c, 'dropout', problems, 0),
    timeEmbedDim,
    resample: 'conv',
    scaleShiftNorm: scaleShift,
    midAttention: addAttention,
  };
  if (headDim === null) unet.heads = 1;
  else unet.headChannels = headDim as number;
  problems.throwIfAny();
  return { layout: 'diffusers', unet, flipSinToCos: c.flip_sin_to_cos === undefined ? true : (c.flip_sin_to_cos as boolean), notes: [] };
}

/** What a diffusers scheduler config says about the model: its schedule and parameterization. */
export interface DiffusersScheduleInfo {
  /** The noise schedule. */
  schedule: ScheduleConfig;
  /** What the network predicts. */
  prediction: Prediction;
}

/**
 * The noise schedule and parameterization of a diffusers scheduler config (`scheduler/scheduler_config.json` of a
 * pipeline; DDPM/DDIM schedulers): `beta_schedule` `linear` (`linspace(beta_start, beta_end, num_train_timesteps)`,
 * our `linear-beta`) and `prediction_type` `epsilon`/`v_prediction`/`sample`.
 *
 * @param config - The parsed scheduler config.
 * @throws Error naming a `beta_schedule` or `prediction_type` without a diffpress counterpart, or missing fields.
 * @example
 * ```ts
 * const { schedule, prediction } = scheduleFromDiffusersConfig(JSON.parse(fs.readFileSync('scheduler_config.json', 'utf8')));
 * ```
 */
export function scheduleFromDiffusersConfig(config: unknown): DiffusersScheduleInfo {
  const problems = new Problems('diffusers scheduler config');
  if (!isObject(config)) throw new Error(`diffusers scheduler config: expected an object, got ${JSON.stringify(config)}`);
  const kind = config.beta_schedule ?? 'linear';
  if (kind !== 'linear') problems.add(`beta_schedule ${JSON.stringify(kind)}: only 'linear' has a diffpress schedule`);
  if (config.trained_betas !== undefined && config.trained_betas !== null) problems.add('trained_betas: explicit betas are not supported');
  const predictions: Record<string, Prediction> = { epsilon: 'eps', v_prediction: 'v', sample: 'x' };
  const type = config.prediction_type ?? 'epsilon';
  const prediction = typeof type === 'string' ? predictions[type] : undefined;
  if (!prediction) problems.add(`prediction_type ${JSON.stringify(type)}: expected epsilon, v_prediction or sample`);
  const schedule: ScheduleConfig = {
    type: 'linear-beta',
    timesteps: int(config, 'num_train_timesteps', problems, 1000),
    betaStart: num(config, 'beta_start', problems, 0.0001),
    betaEnd: num(config, 'beta_end', problems, 0.02),
  };
  problems.throwIfAny();
  return { schedule, prediction: prediction as Prediction };
}
