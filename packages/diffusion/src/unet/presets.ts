import { UNetConfig } from './config';

/** Name of a UNet preset (see {@link unetPresets}). */
export type UNetPresetName = 'unet-mnist-s' | 'ddim-cifar10' | 'ldm4-bedrooms' | 'ldm8-churches';

/**
 * Named UNet architectures.
 *
 * - `unet-mnist-s`: the project's default model for 28×28 MNIST, sized to train in a few hours on two CPU cores
 *   (levels 28/14/7 px, attention at 7 px and in the middle). The shipped checkpoints `unet-mnist-s-eps` and
 *   `unet-mnist-s-v` use it.
 * - `ddim-cifar10`: DDIM/DDPM's CIFAR-10 model (35,746,307 parameters).
 * - `ldm4-bedrooms`, `ldm8-churches`: the latent-diffusion UNets of LDM-4 LSUN-Bedrooms and LDM-8 LSUN-Churches
 *   (274.06 M and 294.97 M parameters), used architecture-only for efficiency accounting.
 *
 * @example
 * ```ts
 * const unet = new UNet(unetPresets['unet-mnist-s']);
 * ```
 */
export const unetPresets: Readonly<Record<UNetPresetName, UNetConfig>> = {
  'unet-mnist-s': {
    inChannels: 1,
    outChannels: 1,
    imageSize: 28,
    baseChannels: 32,
    channelMult: [1, 2, 2],
    numResBlocks: 2,
    attentionResolutions: [7],
    heads: 4,
    groups: 8,
    // Dropout 0: a few hours of updates are about 15 epochs of the 8 000 training digits, far from overfitting.
    dropout: 0,
  },
  'ddim-cifar10': {
    inChannels: 3,
    outChannels: 3,
    imageSize: 32,
    baseChannels: 128,
    channelMult: [1, 2, 2, 2],
    numResBlocks: 2,
    attentionResolutions: [16],
    dropout: 0.1,
  },
  'ldm4-bedrooms': {
    inChannels: 3,
    outChannels: 3,
    imageSize: 64,
    baseChannels: 224,
    channelMult: [1, 2, 3, 4],
    numResBlocks: 2,
    attentionResolutions: [32, 16, 8],
    headChannels: 32,
    timeEmbedDim: 896,
    groupNormEps: 1e-5,
  },
  'ldm8-churches': {
    inChannels: 4,
    outChannels: 4,
    imageSize: 32,
    baseChannels: 192,
    channelMult: [1, 2, 2, 4, 4],
    numResBlocks: 2,
    attentionResolutions: [32, 16, 8, 4],
    heads: 8,
    scaleShiftNorm: true,
    resample: 'residual',
    groupNormEps: 1e-5,
  },
};

/**
 * The preset's config (a copy, so callers can modify it).
 *
 * @throws Error naming the available presets when `name` is unknown.
 */
export function unetPreset(name: string): UNetConfig {
  const p = (unetPresets as Record<string, UNetConfig>)[name];
  if (!p) throw new Error(`unknown UNet preset '${name}' (available: ${Object.keys(unetPresets).join(', ')})`);
  return structuredClone(p);
}
