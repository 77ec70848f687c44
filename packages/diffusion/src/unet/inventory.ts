import { BlockPlan, UNetConfig, UNetPlan, planUNet } from './config';

/** Where a layer sits, for per-part accounting (encoder propagation skips `encoder` and `middle`). */
export type UNetPart = 'time' | 'encoder' | 'middle' | 'decoder';

/**
 * One layer of a UNet described by shape only: what efficiency accounting needs (params, MACs) without allocating
 * weights. Paths are the module paths of the built {@link UNet} (`down.0.res.1.conv1`, `mid.attn.q`).
 */
export interface LayerInfo {
  /** Module path of the layer (for matmuls: the attention module's path plus `.qk` or `.av`). */
  path: string;
  /** `conv` (Conv2d), `linear`, `norm` (GroupNorm) or `matmul` (attention activation–activation product). */
  kind: 'conv' | 'linear' | 'norm' | 'matmul';
  /** UNet part. */
  part: UNetPart;
  /** Name of the block the layer belongs to (`down.1.res.0`, `stem`, `time`, `out`). */
  block: string;
  /** Role inside its block, e.g. `conv1`, `shortcut`, `emb`, `q`, `qk`. */
  role: string;
  /** Input channels / features (for matmuls: channels of the operands). */
  inChannels: number;
  /** Output channels / features. */
  outChannels: number;
  /** Kernel `[kh, kw]` (convs; `[1, 1]` otherwise). */
  kernel: [number, number];
  /** Positions the layer is applied at per sample: output pixels (conv), tokens (linear on a feature map), 1. */
  positions: number;
  /** Output height and width of a conv (absent for other kinds). */
  outputSize?: [number, number];
  /** Weight count (0 for norms' absent weights and matmuls). */
  weights: number;
  /** Bias / affine count (norm scale + shift live here). */
  biases: number;
  /** Multiply–accumulates per sample. Norms count 0 (they are not conv/linear MACs in any paper's accounting). */
  macs: number;
}

function conv(path: string, part: UNetPart, block: string, role: string, cin: number, cout: number, k: number, size: [number, number]): LayerInfo {
  const positions = size[0] * size[1];
  return { path, kind: 'conv', part, block, role, inChannels: cin, outChannels: cout, kernel: [k, k], positions, outputSize: [size[0], size[1]], weights: k * k * cin * cout, biases: cout, macs: positions * k * k * cin * cout };
}

function linear(path: string, part: UNetPart, block: string, role: string, fin: number, fout: number, positions: number): LayerInfo {
  return { path, kind: 'linear', part, block, role, inChannels: fin, outChannels: fout, kernel: [1, 1], positions, weights: fin * fout, biases: fout, macs: positions * fin * fout };
}

function norm(path: string, part: UNetPart, block: string, role: string, ch: number, size: [number, number]): LayerInfo {
  return { path, kind: 'norm', part, block, role, inChannels: ch, outChannels: ch, kernel: [1, 1], positions: size[0] * size[1], weights: 0, biases: 2 * ch, macs: 0 };
}

function blockLayers(b: BlockPlan, part: UNetPart, plan: UNetPlan): LayerInfo[] {
  const c = plan.config;
  switch (b.kind) {
    case 'res': {
      const inSize: [number, number] = b.resample === 'down' ? [b.size[0] * 2, b.size[1] * 2] : b.resample === 'up' ? [b.size[0] / 2, b.size[1] / 2] : b.size;
      const layers = [
        norm(`${b.name}.norm1`, part, b.name, 'norm1', b.inChannels, inSize),
        conv(`${b.name}.conv1`, part, b.name, 'conv1', b.inChannels, b.outChannels, 3, b.size),
        linear(`${b.name}.emb`, part, b.name, 'emb', c.timeEmbedDim, c.scaleShiftNorm ? 2 * b.outChannels : b.outChannels, 1),
        norm(`${b.name}.norm2`, part, b.name, 'norm2', b.outChannels, b.size),
        conv(`${b.name}.conv2`, part, b.name, 'conv2', b.outChannels, b.outChannels, 3, b.size),
      ];
      if (b.inChannels !== b.outChannels) layers.push(conv(`${b.name}.shortcut`, part, b.name, 'shortcut', b.inChannels, b.outChannels, 1, b.size));
      return layers;
    }
    case 'attn': {
      const tokens = b.size[0] * b.size[1];
      const ch = b.channels;
      const matmul = (role: 'qk' | 'av'): LayerInfo => ({
        path: `${b.name}.${role}`, kind: 'matmul', part, block: b.name, role, inChannels: ch, outChannels: ch, kernel: [1, 1], positions: tokens, weights: 0, biases: 0, macs: tokens * tokens * ch,
      });
      return [
        norm(`${b.name}.norm`, part, b.name, 'norm', ch, b.size),
        ...(['q', 'k', 'v'] as const).map((r) => linear(`${b.name}.${r}`, part, b.name, r, ch, ch, tokens)),
        matmul('qk'),
        matmul('av'),
        linear(`${b.name}.proj`, part, b.name, 'proj', ch, ch, tokens),
      ];
    }
    case 'down':
    case 'up':
      return b.withConv ? [conv(`${b.name}.conv`, part, b.name, 'conv', b.channels, b.channels, 3, b.size)] : [];
    default:
      throw new Error('unknown block kind (internal error)');
  }
}

/**
 * Every conv, linear, norm and attention product of the UNet described by `config` (or an existing plan), in call
 * order, computed from shapes alone. Used for parameter counts and MAC/BOP accounting of models far too large to
 * build here (LDM-4, LDM-8).
 *
 * @example
 * ```ts
 * const layers = unetLayerInventory(presets['ddim-cifar10']);
 * const params = layers.reduce((s, l) => s + l.weights + l.biases, 0); // 35,746,307
 * ```
 */
export function unetLayerInventory(config: UNetConfig | UNetPlan): LayerInfo[] {
  const plan = 'stem' in config ? config : planUNet(config);
  const c = plan.config;
  const out: LayerInfo[] = [
    linear('time.linear1', 'time', 'time', 'linear1', plan.time.sinusoidDim, plan.time.embedDim, 1),
    linear('time.linear2', 'time', 'time', 'linear2', plan.time.embedDim, plan.time.embedDim, 1),
    conv('stem', 'encoder', 'stem', 'conv', plan.stem.inChannels, plan.stem.outChannels, 3, plan.stem.size),
  ];
  for (const level of plan.down) for (const { block } of level.blocks) out.push(...blockLayers(block, 'encoder', plan));
  for (const block of plan.mid) out.push(...blockLayers(block, 'middle', plan));
  for (let l = plan.up.length - 1; l >= 0; l--) for (const { block } of plan.up[l].blocks) out.push(...blockLayers(block, 'decoder', plan));
  out.push(norm('out.norm', 'decoder', 'out', 'norm', plan.out.inChannels, c.imageSize));
  out.push(conv('out.conv', 'decoder', 'out', 'conv', plan.out.inChannels, plan.out.outChannels, 3, plan.out.size));
  return out;
}

/** Total parameter count of a UNet config, from its inventory. */
export function unetParameterCount(config: UNetConfig | UNetPlan): number {
  return unetLayerInventory(config).reduce((s, l) => s + l.weights + l.biases, 0);
}
