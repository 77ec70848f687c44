import { z } from 'zod';
import { Conv2d, Linear, PaperRef } from '@diffpress/core';
import { DiffusionMethod, DiffusionStageContext } from '@diffpress/diffusion';
import { LayerSite, binarizedBitWidths } from '../layers/binarize-unet';
import { BinaryLayerParts } from '../layers/binary-layer';
import { ActivationScaleMap, RPReLU, StaticScale } from '../layers/output-scales';
import { LsqActivationQuantizer, SignActivation } from '../quantizers/activation-quantizers';
import { LsqWeightQuantizer, SignWeightQuantizer } from '../quantizers/weight-quantizers';
import { distillSchema, keepFpSchema, qatTrainSchema } from '../qat/config';
import { FeatureDistillOptions } from '../qat/feature-distillation';
import { QatTrainConfig } from '../qat/qat';
import { Student, buildStudent, trainStudent } from '../qat/stage';

/** The config of the 1-bit baselines (W1A1, trained from the FP model like BinaryDM). */
export interface BinaryBaselineConfig {
  /** Block-output distillation (default none: the baselines train on the denoising loss alone). */
  distill: FeatureDistillOptions;
  /** Layers kept FP (module-path globs). */
  keepFp: string[];
  /** QAT settings. */
  train: QatTrainConfig;
}

/** The config of the `lsq` multi-bit reference. */
export interface LsqBaselineConfig extends BinaryBaselineConfig {
  /** Weight bits. */
  weightBits: number;
  /** Input-activation bits (32: weight-only). */
  activationBits: number;
  /** Also quantize attention's q, k, softmax and v at the activation bits. */
  quantizeAttention: boolean;
}

const baseFields = {
  distill: distillSchema({ kind: 'none', lambda: 1e-4 }),
  keepFp: keepFpSchema,
  train: qatTrainSchema,
};

/** Config schema of the W1A1 baselines. */
export const binaryBaselineConfig: z.ZodType<BinaryBaselineConfig> = z.strictObject(baseFields);

/** Config schema of `lsq`. */
export const lsqBaselineConfig: z.ZodType<LsqBaselineConfig> = z.strictObject({
  weightBits: z.number().int().min(2).max(8).default(4).describe('LSQ weight bits (the binarization tables use 2 and 4)'),
  activationBits: z
    .union([z.number().int().min(2).max(8), z.literal(32)])
    .default(4)
    .describe('LSQ input-activation bits; 32 keeps activations FP'),
  quantizeAttention: z.boolean().default(true).describe("also quantize attention's q, k, softmax and v at the activation bits"),
  ...baseFields,
});

function outChannels(site: LayerSite): number {
  return site.layer.weight.shape[site.layer.weight.rank - 1];
}

function inChannels(site: LayerSite): number {
  return site.layer.weight.shape[site.layer.weight.rank - 2];
}

/** The bare conv or linear a scaled baseline needs (it is the first method on the model). */
function bareLayer(site: LayerSite, id: string): Conv2d | Linear {
  if (site.layer instanceof Conv2d || site.layer instanceof Linear) return site.layer;
  throw new Error(`${id}: '${site.path}' is a ${site.layer.constructor.name}; this baseline scales a bare conv or linear output (put it first in the pipeline)`);
}

/** What a baseline method is made of. */
interface BaselineSpec<C extends BinaryBaselineConfig> {
  id: string;
  description: string;
  paper: PaperRef;
  config: z.ZodType<C>;
  parts(site: LayerSite, config: C): BinaryLayerParts;
  attentionBits?(config: C): number | undefined;
}

function baselineMethod<C extends BinaryBaselineConfig>(spec: BaselineSpec<C>): DiffusionMethod<C> {
  const build = (ctx: DiffusionStageContext, config: C): Student =>
    buildStudent(ctx, spec.id, { keepFp: config.keepFp, parts: (site) => spec.parts(site, config), attentionBits: spec.attentionBits?.(config) });
  return {
    id: spec.id,
    family: 'binarization',
    version: '0.1.0',
    description: spec.description,
    paper: spec.paper,
    config: spec.config,
    reads: ['data'],
    apply: async (ctx, config) => {
      const student = build(ctx, config);
      ctx.log(`${student.parts.layers.size} quantized layers, ${student.parts.attention.size} quantized attention products`);
      return trainStudent(ctx, spec.id, student, config.train, config.distill, {});
    },
    restore: async (ctx, config) => {
      const student = build(ctx, config);
      return { model: student.model, bitWidths: binarizedBitWidths(student.parts) };
    },
  };
}

/**
 * XNOR-Net (Rastegari et al., ECCV 2016) at W1A1: weights `α·sign(W)` with α = mean|W| per output channel,
 * activations `sign(x)` (clipped-identity gradient), outputs scaled by the K map of the input's mean magnitude
 * through a fixed `1/k²` box filter.
 */
export const xnor = baselineMethod<BinaryBaselineConfig>({
  id: 'xnor',
  description: 'XNOR-Net baseline (W1A1): α·sign(W), sign(x), outputs scaled by the K map of mean|x|',
  paper: { title: 'XNOR-Net: ImageNet Classification Using Binary Convolutional Neural Networks', arxiv: '1603.05279' },
  config: binaryBaselineConfig,
  parts: (site) => ({
    weight: new SignWeightQuantizer(outChannels(site), 'channel-mean'),
    input: new SignActivation(),
    scale: new ActivationScaleMap(bareLayer(site, 'xnor'), false),
  }),
});

/** {@link xnor} with a learnable K-map filter (initialised to the box filter, bias 0): BiDM's "learnable k" row. */
export const xnorLearnableK = baselineMethod<BinaryBaselineConfig>({
  id: 'xnor-learnable-k',
  description: 'XNOR-Net baseline (W1A1) with a learnable K-map filter',
  paper: { title: 'XNOR-Net: ImageNet Classification Using Binary Convolutional Neural Networks', arxiv: '1603.05279' },
  config: binaryBaselineConfig,
  parts: (site) => ({
    weight: new SignWeightQuantizer(outChannels(site), 'channel-mean'),
    input: new SignActivation(),
    scale: new ActivationScaleMap(bareLayer(site, 'xnor-learnable-k'), true),
  }),
});

/**
 * DoReFa-Net (Zhou et al., 2016) at W1A1 as the binarization tables use it: 1-bit weights `sign(W)·E|W|` (one scale
 * per layer, gradient straight through) and `sign(x)` activations without any activation scaling.
 */
export const dorefa = baselineMethod<BinaryBaselineConfig>({
  id: 'dorefa',
  description: 'DoReFa-Net baseline (W1A1): sign(W)·E|W| per layer, sign(x), no activation scaling',
  paper: { title: 'DoReFa-Net: Training Low Bitwidth Convolutional Neural Networks with Low Bitwidth Gradients', arxiv: '1606.06160' },
  config: binaryBaselineConfig,
  parts: (site) => ({ weight: new SignWeightQuantizer(outChannels(site), 'layer-mean'), input: new SignActivation() }),
});

/**
 * XNOR-Net++ (Bulat & Tzimiropoulos, BMVC 2019) at W1A1: `sign(x) ⊛ sign(W)` scaled by one learned static factor
 * `Γ = α ⊗ β ⊗ γ` (output channel × row × column) in place of XNOR-Net's weight and activation scales.
 */
export const xnorpp = baselineMethod<BinaryBaselineConfig>({
  id: 'xnorpp',
  description: 'XNOR-Net++ baseline (W1A1): sign(x) ⊛ sign(W) scaled by a learned static Γ = α ⊗ β ⊗ γ',
  paper: { title: 'XNOR-Net++: Improved Binary Neural Networks', arxiv: '1909.13863' },
  config: binaryBaselineConfig,
  parts: (site) => ({
    weight: new SignWeightQuantizer(outChannels(site), 'none'),
    input: new SignActivation(),
    scale: new StaticScale(bareLayer(site, 'xnorpp'), site.info.kind === 'conv' ? site.info.outputSize : undefined),
  }),
});

/**
 * ReActNet (Liu et al., ECCV 2020) at W1A1: RSign — `sign(x + b)` with a learnable per-input-channel threshold and
 * the ApproxSign gradient — on the input, `α·sign(W)` (α = mean|W| per output channel) weights, and RPReLU's
 * learnable shifts on the output.
 */
export const reactnet = baselineMethod<BinaryBaselineConfig>({
  id: 'reactnet',
  description: 'ReActNet baseline (W1A1): RSign (learnable thresholds, ApproxSign gradient), α·sign(W), RPReLU',
  paper: { title: 'ReActNet: Towards Precise Binary Neural Network with Generalized Activation Functions', arxiv: '2003.03488' },
  config: binaryBaselineConfig,
  parts: (site) => ({
    weight: new SignWeightQuantizer(outChannels(site), 'channel-mean'),
    input: new SignActivation({ estimator: 'approx', thresholdChannels: inChannels(site) }),
    post: new RPReLU(outChannels(site)),
  }),
});

/**
 * LSQ (Esser et al., ICLR 2020) at `weightBits`/`activationBits` (W2A4, W4A4, …): the multi-bit reference of the
 * binarization tables, trained from the FP model like the binary methods.
 */
export const lsq = baselineMethod<LsqBaselineConfig>({
  id: 'lsq',
  description: 'LSQ multi-bit reference (e.g. W4A4, W2A4): learned step sizes for weights and activations',
  paper: { title: 'Learned Step Size Quantization', arxiv: '1902.08153' },
  config: lsqBaselineConfig,
  parts: (_site, config) => ({
    weight: new LsqWeightQuantizer(config.weightBits),
    input: config.activationBits < 32 ? new LsqActivationQuantizer(config.activationBits) : undefined,
  }),
  attentionBits: (config) => (config.quantizeAttention && config.activationBits < 32 ? config.activationBits : undefined),
});
