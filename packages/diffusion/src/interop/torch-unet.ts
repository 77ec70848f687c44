import * as tf from '@tensorflow/tfjs';
import { Conv2d, GroupNorm, Linear, RawTensor, TensorFileContent, decodeTensorFile, rawToFloat32, readTensorFile } from '@diffpress/core';
import { Prediction } from '../schedule/parameterization';
import { ScheduleConfig } from '../schedule/schedule';
import { UNetConfig, resolveUNetConfig } from '../unet/config';
import { UNet } from '../unet/unet';

/**
 * Parameter layouts of PyTorch UNets that {@link importTorchUNet} maps onto diffpress's {@link UNet}:
 *
 * - `ddim`: the `Model` of the official DDIM code (and of `pytorch_diffusion`, the PyTorch port of DDPM's released
 *   checkpoints): `temb.dense.{0,1}`, `conv_in`, `down.{i}.block.{j}`, `down.{i}.attn.{j}` (1×1-conv q/k/v/proj_out),
 *   `down.{i}.downsample.conv`, `mid.{block_1,attn_1,block_2}`, `up.{i}.block.{j}`, `up.{i}.attn.{j}`,
 *   `up.{i}.upsample.conv`, `norm_out`, `conv_out`.
 * - `diffusers`: diffusers' `UNet2DModel` with `DownBlock2D`/`AttnDownBlock2D`/`UpBlock2D`/`AttnUpBlock2D` blocks:
 *   `time_embedding.linear_{1,2}`, `conv_in`, `down_blocks.{i}.resnets.{j}`, `down_blocks.{i}.attentions.{j}`
 *   (Linear `to_q/to_k/to_v/to_out.0`, or the older `query/key/value/proj_attn`), `down_blocks.{i}.downsamplers.0.conv`,
 *   `mid_block.{resnets.{0,1},attentions.0}`, `up_blocks.{i}…` (numbered deepest level first), `conv_norm_out`,
 *   `conv_out`.
 */
export type TorchUNetLayout = 'ddim' | 'diffusers';

/**
 * A PyTorch UNet described in diffpress terms: its parameter layout, the {@link UNetConfig} that computes the same
 * function, and the conventions the weights must be adapted to. Made by `unetConfigFromDdimConfig` and
 * `unetConfigFromDiffusersConfig`, or by hand.
 */
export interface TorchUNetArchitecture {
  /** Parameter layout of the checkpoint. */
  layout: TorchUNetLayout;
  /** Our architecture of the same network. */
  unet: UNetConfig;
  /**
   * diffusers' `flip_sin_to_cos`: the sinusoid is `[cos, sin]` rather than our `[sin, cos]`; absorbed by permuting
   * the input rows of `time.linear1`. Required for the `diffusers` layout (DDPM conversions use `false`, diffusers'
   * own default is `true`); must be absent or `false` for `ddim`.
   */
  flipSinToCos?: boolean;
  /** The noise schedule, when the source config states one we can express. */
  schedule?: ScheduleConfig;
  /** The parameterization, when the source config states it. */
  prediction?: Prediction;
  /** What the config conversion assumed or left out (shown in reports). */
  notes?: string[];
}

/** Options of {@link importTorchUNet}. */
export interface ImportTorchUNetOptions {
  /** Parameter layout; `'auto'` (default) tells them apart by their key names. */
  layout?: TorchUNetLayout | 'auto';
  /** Our architecture of the checkpoint's network (see `unetConfigFromDdimConfig`/`unetConfigFromDiffusersConfig`). */
  unet: UNetConfig;
  /** diffusers' `flip_sin_to_cos`; see {@link TorchUNetArchitecture.flipSinToCos}. */
  flipSinToCos?: boolean;
  /** For `torch.save` files: the entry holding the state dict (`'ema'`, `'model'`, `'0'`, …; default: found). */
  entry?: string;
  /** Names the bytes in messages when `source` is bytes rather than a path. */
  sourceName?: string;
}

/** One of our tensors and where it came from. */
export interface TorchUNetMappedTensor {
  /** Our state-dict name, e.g. `down.0.res.0.conv1.weight`. */
  to: string;
  /** The checkpoint's name (after prefix stripping), e.g. `down.0.block.0.conv1.weight`. */
  from: string;
  /** How the values were rearranged: `conv OIHW→HWIO`, `linear [out,in]→[in,out]`, `1×1 conv→linear`, `copy`, … */
  transform: string;
}

/** What {@link importTorchUNet} did. */
export interface TorchUNetImportReport {
  /** The file path, or the given source name. */
  source: string;
  /** File format. */
  format: 'safetensors' | 'torch';
  /** `torch.save` files: the entry the state dict came from (`null`: the saved object itself). */
  entry: string | null;
  /** `torch.save` files: other entries that are dicts of tensors too (e.g. `model` when `ema` was used). */
  otherEntries: string[];
  /** The layout used. */
  layout: TorchUNetLayout;
  /** Whether the layout was detected from the key names (`layout: 'auto'`). */
  layoutDetected: boolean;
  /** A prefix removed from every key (`module.` of `nn.DataParallel`), or `null`. */
  strippedPrefix: string | null;
  /** Our tensors, each with its source and transform, in our state-dict order. */
  mapped: TorchUNetMappedTensor[];
  /** Checkpoint tensors deliberately not used (e.g. DDIM's `logvar` of its `bayesian` model type). */
  ignored: string[];
  /** Parameters of the imported UNet. */
  parameters: number;
  /** Adaptations and assumptions worth knowing (sinusoid permutation, GroupNorm settings, …). */
  notes: string[];
}

/** The imported network and the report of the mapping. */
export interface ImportedTorchUNet {
  /** The UNet with the checkpoint's weights, in eval mode. */
  unet: UNet;
  /** What was mapped from where. */
  report: TorchUNetImportReport;
}

/** Keys whose presence identifies a layout. */
const LAYOUT_MARKERS: Record<TorchUNetLayout, RegExp> = {
  ddim: /^(temb\.dense\.0\.weight$|down\.\d+\.block\.)/,
  diffusers: /^(time_embedding\.linear_1\.weight$|down_blocks\.\d+\.resnets\.)/,
};

/** Tensors of a layout that are not part of the network function and are skipped. */
const IGNORED: Record<TorchUNetLayout, RegExp> = {
  ddim: /^logvar$/,
  diffusers: /^$/,
};

/**
 * Which layout the tensor names are in, or `undefined` when neither.
 *
 * @param names - State-dict keys (after any `module.` prefix is removed).
 */
export function detectTorchUNetLayout(names: Iterable<string>): TorchUNetLayout | undefined {
  const all = [...names];
  for (const layout of ['ddim', 'diffusers'] as const) if (all.some((n) => LAYOUT_MARKERS[layout].test(n))) return layout;
  return undefined;
}

const RES_DDIM: Record<string, string> = { norm1: 'norm1', conv1: 'conv1', emb: 'temb_proj', norm2: 'norm2', conv2: 'conv2', shortcut: 'nin_shortcut' };
const RES_DIFFUSERS: Record<string, string> = { norm1: 'norm1', conv1: 'conv1', emb: 'time_emb_proj', norm2: 'norm2', conv2: 'conv2', shortcut: 'conv_shortcut' };
const ATTN_DDIM: Record<string, string> = { norm: 'norm', q: 'q', k: 'k', v: 'v', proj: 'proj_out' };
const ATTN_DIFFUSERS: Record<string, string> = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj: 'to_out.0' };
const ATTN_DIFFUSERS_LEGACY: Record<string, string> = { norm: 'group_norm', q: 'query', k: 'key', v: 'value', proj: 'proj_attn' };

/**
 * The checkpoint module paths our module `path` may come from, preferred first (diffusers attention blocks have an
 * older naming), or `undefined` for a path this layout has no counterpart for.
 */
function sourceModules(path: string, layout: TorchUNetLayout, levels: number): string[] | undefined {
  const p = path.split('.');
  const leaf = (table: Record<string, string>, name: string): string | undefined => table[name];
  if (layout === 'ddim') {
    const fixed: Record<string, string> = { 'time.linear1': 'temb.dense.0', 'time.linear2': 'temb.dense.1', stem: 'conv_in', 'out.norm': 'norm_out', 'out.conv': 'conv_out' };
    if (fixed[path]) return [fixed[path]];
    const mid: Record<string, string> = { res1: 'block_1', attn: 'attn_1', res2: 'block_2' };
    if (p[0] === 'mid' && mid[p[1]]) {
      const l = leaf(p[1] === 'attn' ? ATTN_DDIM : RES_DDIM, p[2]);
      return l ? [`mid.${mid[p[1]]}.${l}`] : undefined;
    }
    if ((p[0] === 'down' || p[0] === 'up') && p.length === 4 && (p[2] === 'downsample' || p[2] === 'upsample') && p[3] === 'conv') return [path];
    if ((p[0] === 'down' || p[0] === 'up') && p.length === 5) {
      const l = leaf(p[2] === 'attn' ? ATTN_DDIM : RES_DDIM, p[4]);
      if (!l || (p[2] !== 'res' && p[2] !== 'attn')) return undefined;
      return [`${p[0]}.${p[1]}.${p[2] === 'res' ? 'block' : 'attn'}.${p[3]}.${l}`];
    }
    return undefined;
  }
  const fixed: Record<string, string> = {
    'time.linear1': 'time_embedding.linear_1',
    'time.linear2': 'time_embedding.linear_2',
    stem: 'conv_in',
    'out.norm': 'conv_norm_out',
    'out.conv': 'conv_out',
  };
  if (fixed[path]) return [fixed[path]];
  const attention = (prefix: string, name: string): string[] | undefined => {
    const a = leaf(ATTN_DIFFUSERS, name);
    return a ? [`${prefix}.${a}`, `${prefix}.${ATTN_DIFFUSERS_LEGACY[name]}`] : undefined;
  };
  if (p[0] === 'mid') {
    if (p[1] === 'attn') return attention('mid_block.attentions.0', p[2]);
    const l = leaf(RES_DIFFUSERS, p[2]);
    return l && (p[1] === 'res1' || p[1] === 'res2') ? [`mid_block.resnets.${p[1] === 'res1' ? 0 : 1}.${l}`] : undefined;
  }
  if (p[0] === 'down' || p[0] === 'up') {
    // diffusers numbers its up blocks in call order, deepest level first; we number decoder levels by resolution.
    const block = p[0] === 'down' ? `down_blocks.${p[1]}` : `up_blocks.${levels - 1 - Number(p[1])}`;
    if (p.length === 4 && (p[2] === 'downsample' || p[2] === 'upsample') && p[3] === 'conv') return [`${block}.${p[2]}rs.0.conv`];
    if (p.length === 5 && p[2] === 'attn') return attention(`${block}.attentions.${p[3]}`, p[4]);
    if (p.length === 5 && p[2] === 'res') {
      const l = leaf(RES_DIFFUSERS, p[4]);
      return l ? [`${block}.resnets.${p[3]}.${l}`] : undefined;
    }
  }
  return undefined;
}

/** Reorders the elements of a row-major array of `shape` by the axis permutation `perm` (as `tf.transpose`). */
function transposeArray(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((a) => shape[a]);
  const inStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= shape[d];
  }
  const stride = perm.map((a) => inStrides[a]);
  const out = new Float32Array(data.length);
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = data[src];
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      src += stride[d];
      if (index[d] < outShape[d]) break;
      src -= stride[d] * outShape[d];
      index[d] = 0;
    }
  }
  return out;
}

/** Our `[in, out]` sinusoid weight with its input rows reordered from diffusers' `[cos, sin]` to our `[sin, cos]`. */
function unflipSinusoidRows(w: Float32Array, inFeatures: number, outFeatures: number): Float32Array {
  const half = Math.floor(inFeatures / 2);
  const out = new Float32Array(w.length);
  for (let row = 0; row < inFeatures; row++) {
    const from = row < half ? half + row : row < 2 * half ? row - half : row;
    out.set(w.subarray(from * outFeatures, (from + 1) * outFeatures), row * outFeatures);
  }
  return out;
}

const shapeStr = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** The common prefix to strip from every key (`module.` of `nn.DataParallel`), or `null`. */
function commonPrefix(names: string[]): string | null {
  return names.length > 0 && names.every((n) => n.startsWith('module.')) ? 'module.' : null;
}

/** Refusals of architectures a layout cannot have, each naming the config field. */
function layoutProblems(layout: TorchUNetLayout, config: UNetConfig, flipSinToCos: boolean | undefined): string[] {
  const c = resolveUNetConfig(config);
  const problems: string[] = [];
  if (layout === 'ddim') {
    if (c.headChannels !== undefined || (c.heads ?? 1) !== 1) problems.push(`DDIM's attention has one head, the UNet config has ${c.headChannels !== undefined ? `headChannels ${c.headChannels}` : `heads ${c.heads}`}`);
    if (c.scaleShiftNorm) problems.push('DDIM adds the time embedding to the features; the UNet config has scaleShiftNorm: true');
    if (c.resample === 'residual') problems.push("DDIM resamples with convs or pooling; the UNet config has resample: 'residual'");
    if (!c.midAttention) problems.push('DDIM always has attention in the middle block; the UNet config has midAttention: false');
    if (flipSinToCos) problems.push('flipSinToCos is a diffusers setting; DDIM concatenates [sin, cos]');
  } else {
    if (flipSinToCos === undefined) problems.push("give flipSinToCos (the diffusers config's flip_sin_to_cos): the weights cannot tell whether the sinusoid is [cos, sin] or [sin, cos]");
    if (c.resample !== 'conv') problems.push(`diffusers UNet2DModel resamples with convs; the UNet config has resample: '${c.resample}'`);
  }
  return problems;
}

/** Output of {@link mapTorchUNetTensors}. */
export interface MappedTorchUNetTensors {
  /** Our tensors by state-dict name, in our layouts (the caller disposes them). */
  state: Map<string, tf.Tensor>;
  /** Each of our tensors with its source and transform. */
  mapped: TorchUNetMappedTensor[];
  /** Checkpoint tensors left out on purpose (e.g. DDIM's `logvar`). */
  ignored: string[];
}

/**
 * Maps the tensors of a PyTorch UNet state dict onto a {@link UNet} of `architecture.unet`, checking every name and
 * shape: the result has exactly the UNet's state-dict names, in its layouts (conv `[out, in, kh, kw]` →
 * `[kh, kw, in, out]`, Linear `[out, in]` → `[in, out]`, DDIM's 1×1-conv attention projections → Linear, GroupNorm
 * `weight`/`bias` → `gamma`/`beta`, diffusers' flipped sinusoid undone on `time.linear1`).
 *
 * @param unet - The network the tensors are for (its names and shapes are the targets).
 * @param tensors - The checkpoint's tensors (any `module.` prefix already removed).
 * @param layout - Their layout.
 * @param flipSinToCos - diffusers' `flip_sin_to_cos`.
 * @returns Our tensors by name (the caller disposes them), the mapping, and the checkpoint names left unused on purpose.
 * @throws Error listing every problem at once: checkpoint tensors that are missing (with the shape expected), have
 *   the wrong shape (expected vs found) or a non-float dtype, and tensors that were not expected (with their shape).
 */
export function mapTorchUNetTensors(
  unet: UNet,
  tensors: ReadonlyMap<string, RawTensor>,
  layout: TorchUNetLayout,
  flipSinToCos: boolean,
): MappedTorchUNetTensors {
  const levels = unet.plan.down.length;
  const problems: string[] = [];
  const plans: Array<{ to: string; from: string; shape: number[]; expected: number[]; transform: string; perm?: number[]; flip?: boolean }> = [];
  const used = new Set<string>();
  for (const [name, variable] of unet.stateDict()) {
    const cut = name.lastIndexOf('.');
    const path = name.slice(0, cut);
    const param = name.slice(cut + 1);
    const module = unet.getModule(path);
    const candidates = sourceModules(path, layout, levels);
    if (!candidates) {
      problems.push(`our tensor '${name}' has no counterpart in the ${layout} layout`);
      continue;
    }
    const leaf = module instanceof GroupNorm ? (param === 'gamma' ? 'weight' : 'bias') : param;
    const names = candidates.map((m) => `${m}.${leaf}`);
    const from = names.find((n) => tensors.has(n)) ?? names[0];
    const shape = [...variable.shape];
    let expected: number[] = shape;
    let transform = 'copy';
    let perm: number[] | undefined;
    if (module instanceof Conv2d && param === 'weight') {
      expected = [shape[3], shape[2], shape[0], shape[1]];
      transform = 'conv OIHW→HWIO';
      perm = [2, 3, 1, 0];
    } else if (module instanceof Linear && param === 'weight') {
      const oneByOne = layout === 'ddim' && /\.attn(\.\d+|_1)\.(q|k|v|proj_out)$/.test(from.slice(0, -'.weight'.length));
      expected = oneByOne ? [shape[1], shape[0], 1, 1] : [shape[1], shape[0]];
      transform = oneByOne ? '1×1 conv→linear' : 'linear [out,in]→[in,out]';
      perm = [1, 0];
    } else if (module instanceof GroupNorm) {
      transform = `norm ${leaf}→${param}`;
    }
    const flip = flipSinToCos && name === 'time.linear1.weight';
    if (flip) transform += ', rows [cos, sin]→[sin, cos]';
    plans.push({ to: name, from, shape, expected, transform, perm, flip });
  }

  for (const p of plans) {
    const t = tensors.get(p.from);
    if (!t) {
      const alt = sourceModules(p.to.slice(0, p.to.lastIndexOf('.')), layout, levels);
      const also = alt && alt.length > 1 ? ` (or '${alt[1]}.${p.from.slice(p.from.lastIndexOf('.') + 1)}')` : '';
      problems.push(`missing '${p.from}'${also}: expected ${shapeStr(p.expected)}, for our '${p.to}'`);
      continue;
    }
    used.add(p.from);
    if (!['F32', 'F16', 'BF16', 'F64'].includes(t.dtype)) problems.push(`'${p.from}' is ${t.dtype}, expected a float tensor`);
    if (!tf.util.arraysEqual(t.shape, p.expected)) problems.push(`shape of '${p.from}': expected ${shapeStr(p.expected)}, found ${shapeStr(t.shape)} (for our '${p.to}')`);
  }
  const ignored: string[] = [];
  for (const [name, t] of tensors) {
    if (used.has(name)) continue;
    if (IGNORED[layout].test(name)) ignored.push(name);
    else problems.push(`unexpected '${name}' ${shapeStr(t.shape)}`);
  }
  if (problems.length > 0) {
    throw new Error(`${problems.length} problem(s) mapping the ${layout} layout onto the UNet config:\n  - ${problems.join('\n  - ')}`);
  }

  const state = new Map<string, tf.Tensor>();
  for (const p of plans) {
    const t = tensors.get(p.from) as RawTensor;
    let values = rawToFloat32(t);
    if (p.perm) {
      const source = p.expected.length === 4 && p.perm.length === 2 ? [p.expected[0], p.expected[1]] : p.expected;
      values = transposeArray(values, source, p.perm);
    }
    if (p.flip) values = unflipSinusoidRows(values, p.shape[0], p.shape[1]);
    state.set(p.to, tf.tensor(values, p.shape, 'float32'));
  }
  return { state, mapped: plans.map(({ to, from, transform }) => ({ to, from, transform })), ignored };
}

/**
 * Imports a PyTorch UNet checkpoint — a `.safetensors` file or a `torch.save` `.pt`/`.pth`/`.ckpt`/`.bin` (read
 * without executing code) in the official DDIM or the diffusers `UNet2DModel` layout — into a diffpress
 * {@link UNet} with the same outputs.
 *
 * The architecture must be given (`unet`; from a DDIM config with `unetConfigFromDdimConfig`, from a diffusers
 * `config.json` with `unetConfigFromDiffusersConfig`, or a preset such as `ddim-cifar10`): GroupNorm groups and
 * epsilon, attention heads and the sinusoid order cannot be read off the weights. A `module.` prefix on every key
 * (`nn.DataParallel`) is removed. Every missing, misshapen or unexpected tensor is reported in one error.
 *
 * @param source - A file path, or the file's bytes.
 * @param options - Layout, architecture, diffusers' `flipSinToCos`, the torch entry.
 * @returns The UNet (eval mode; the caller disposes it) and the mapping report.
 * @throws Error naming the source: unreadable or refused file, unknown layout, an architecture the layout cannot have
 *   (naming the config field), or the list of tensor problems.
 * @example
 * ```ts
 * const arch = unetConfigFromDdimConfig(YAML.parse(fs.readFileSync('cifar10.yml', 'utf8')));
 * const { unet, report } = importTorchUNet('ema_diffusion_cifar10_model/model-790000.ckpt', arch);
 * console.log(`${report.mapped.length} tensors, ${report.parameters} parameters`); // 35,746,307
 * ```
 */
export function importTorchUNet(source: string | Uint8Array, options: ImportTorchUNetOptions): ImportedTorchUNet {
  const name = typeof source === 'string' ? source : (options.sourceName ?? 'checkpoint bytes');
  const fail = (problem: string, cause?: unknown): Error => new Error(`cannot import ${name} as a UNet: ${problem}`, cause === undefined ? undefined : { cause });
  const content: TensorFileContent =
    typeof source === 'string' ? readTensorFile(source, { entry: options.entry }) : decodeTensorFile(source, { source: name, entry: options.entry });

  const keys = [...content.tensors.keys()];
  const strippedPrefix = commonPrefix(keys);
  const tensors = strippedPrefix ? new Map([...content.tensors].map(([k, v]) => [k.slice(strippedPrefix.length), v])) : content.tensors;
  const requested = options.layout ?? 'auto';
  const detected = detectTorchUNetLayout(tensors.keys());
  const layout = requested === 'auto' ? detected : requested;
  if (!layout) {
    const openai = [...tensors.keys()].some((k) => /(^|\.)input_blocks\.\d+\./.test(k));
    throw fail(
      openai
        ? 'its keys (input_blocks.*) are those of an openai/LDM UNetModel, which is not a supported layout (ddim, diffusers)'
        : `its keys are in neither the ddim layout (temb.dense.0.weight, down.0.block.…) nor the diffusers layout (time_embedding.linear_1.weight, down_blocks.…); first keys: ${[...tensors.keys()].slice(0, 5).join(', ')}`,
    );
  }
  const conventions = layoutProblems(layout, options.unet, options.flipSinToCos);
  if (conventions.length > 0) throw fail(conventions.join('; '));

  const unet = new UNet(options.unet);
  let state: Map<string, tf.Tensor> | undefined;
  try {
    const mapping = mapTorchUNetTensors(unet, tensors, layout, options.flipSinToCos ?? false);
    state = mapping.state;
    unet.loadStateDict(state, { strict: true, source: name });
    unet.eval();
    const c = unet.plan.config;
    const notes: string[] = [];
    if (strippedPrefix) notes.push(`removed the prefix '${strippedPrefix}' from every key (a model saved inside nn.DataParallel)`);
    if (options.flipSinToCos) notes.push('flip_sin_to_cos: the rows of time.linear1 were permuted from [cos, sin] to our [sin, cos] order');
    if (layout === 'ddim' && (c.groups !== 32 || c.groupNormEps !== 1e-6)) notes.push(`GroupNorm ${c.groups} groups, eps ${c.groupNormEps} (DDIM's code uses 32 and 1e-6)`);
    if (content.otherEntries.length > 0) notes.push(`the file has other state dicts too: ${content.otherEntries.map((e) => `'${e}'`).join(', ')} (choose with entry)`);
    const parameters = [...unet.stateDict().values()].reduce((s, v) => s + v.size, 0);
    return {
      unet,
      report: {
        source: name,
        format: content.format,
        entry: content.entry,
        otherEntries: content.otherEntries,
        layout,
        layoutDetected: requested === 'auto',
        strippedPrefix,
        mapped: mapping.mapped,
        ignored: mapping.ignored,
        parameters,
        notes,
      },
    };
  } catch (err) {
    unet.dispose();
    throw fail(err instanceof Error ? err.message : String(err), err);
  } finally {
    if (state) tf.dispose([...state.values()]);
  }
}
