import * as tf from '@tensorflow/tfjs';
import { matchesAnyGlob } from '@diffpress/core';
import { DiffusionMethod, DiffusionStageContext } from '@diffpress/diffusion';
import { BinarizedUNet, LayerSite, ResolutionGroup, binarizedBitWidths, resolutionGroup } from '../layers/binarize-unet';
import { BinaryLayerParts } from '../layers/binary-layer';
import { LsqActivationQuantizer } from '../quantizers/activation-quantizers';
import { MultiBasisWeightQuantizer, SignWeightQuantizer } from '../quantizers/weight-quantizers';
import { Student, binarizeAll, buildStudent, trainStudent } from '../qat/stage';
import { ShippedStudent, loadShippedWeights, readShippedStudent } from '../qat/shipped-student';
import { BinarydmConfig, binarydmConfig } from './config';

/** Whether a layer uses BinaryDM's multi-basis binarizer under `config`. */
export function inMultiBasisScope(config: Pick<BinarydmConfig, 'basis' | 'multiBasis'>, site: Pick<LayerSite, 'path' | 'group'>): boolean {
  if (config.basis === 'vanilla') return false;
  return (typeof site.group === 'number' && config.multiBasis.levels.includes(site.group)) || matchesAnyGlob(site.path, config.multiBasis.blocks);
}

/** Progressive initialisation on unless the config says otherwise: on for `lmb` (v1), off for `ebb` (ICLR) and `vanilla`. */
export function progressiveOn(config: Pick<BinarydmConfig, 'basis' | 'progressive'>): boolean {
  return config.progressive ?? config.basis === 'lmb';
}

/**
 * The order BinaryDM's progressive initialisation binarizes resolution groups in: the middle block, then the levels
 * from the deepest outward (the reference code pops its groups middle-first, one per training batch).
 */
export function progressiveOrder(groups: Iterable<ResolutionGroup>): ResolutionGroup[] {
  const levels = [...new Set([...groups].filter((g): g is number => g !== 'mid'))].sort((a, b) => b - a);
  return ['mid', ...levels];
}

/**
 * The schedule of the progressive initialisation: before update `step`, groups `0 … ⌊step/every⌋` of
 * {@link progressiveOrder} are binarized, and the attention quantizers switch on once every group is (as the
 * reference turns on its attention quantizers after the last group).
 */
export function progressiveSchedule(parts: BinarizedUNet, every: number): (step: number) => void {
  const order = progressiveOrder([...parts.layers.keys()].map(resolutionGroup));
  return (step) => {
    const on = Math.floor(step / every) + 1;
    for (const [path, layer] of parts.layers) layer.binarized = order.indexOf(resolutionGroup(path)) < on;
    for (const a of parts.attention.values()) a.quantized = on > order.length;
  };
}

/** EBB's regulariser `τ·mean_layers(mean_channels(α₂))` (binarization spec §1.2), pushing the second basis towards 0 before its removal. */
export function ebbRegularizer(layers: readonly MultiBasisWeightQuantizer[], tau: number): tf.Scalar {
  if (layers.length === 0) throw new Error('ebbRegularizer: no multi-basis layers');
  return tf.tidy(() => tf.mul(tf.addN(layers.map((q) => tf.mean(q.alpha2))), tau / layers.length) as tf.Scalar);
}

function build(ctx: DiffusionStageContext, config: BinarydmConfig): Student {
  const bits = config.activationBits;
  return buildStudent(ctx, 'binarydm', {
    keepFp: config.keepFp,
    attentionBits: config.quantizeAttention && bits < 32 ? bits : undefined,
    dynamicAttention: config.dynamicActivationInit,
    parts: (site): BinaryLayerParts => {
      const out = site.layer.weight.shape[site.layer.weight.rank - 1];
      return {
        weight: inMultiBasisScope(config, site) ? new MultiBasisWeightQuantizer(out) : new SignWeightQuantizer(out, 'learned'),
        input: bits < 32 ? new LsqActivationQuantizer(bits, config.dynamicActivationInit) : undefined,
      };
    },
  });
}

function multiBasisLayers(student: Student): MultiBasisWeightQuantizer[] {
  return [...student.parts.layers.values()].map((l) => l.weightQuant).filter((q): q is MultiBasisWeightQuantizer => q instanceof MultiBasisWeightQuantizer);
}

/** EBB's final state: one basis everywhere. */
function removeSecondBasis(student: Student): void {
  for (const q of multiBasisLayers(student)) q.useSecondBasis = false;
}

/** A shipped student's recorded config, checked against the step's parent. */
function shippedConfig(ctx: DiffusionStageContext, shipped: ShippedStudent): BinarydmConfig {
  if (shipped.base !== ctx.model.id) {
    throw new Error(`binarydm: the shipped student ${shipped.dir} was trained from ${shipped.base}, but this step's parent is ${ctx.model.id}`);
  }
  return binarydmConfig.parse(shipped.config);
}

/** The trained student's final structure: everything binarized, EBB's second basis removed. */
function buildFinal(ctx: DiffusionStageContext, config: BinarydmConfig): Student {
  const student = build(ctx, config);
  binarizeAll(student.parts);
  if (config.basis === 'ebb') removeSecondBasis(student);
  return student;
}

/**
 * BinaryDM (Zheng et al., arXiv 2404.05662 / ICLR 2025; binarization spec §1): 1-bit weights trained
 * quantization-aware from the FP model with the FP model as teacher. Every conv and linear layer outside the FP set
 * gets a learnable per-channel α₁·sign(W); in the multi-basis scope (the two highest-resolution levels by default)
 * the learnable multi-basis binarizer adds α₂·sign(W − α₁·sign W) — kept throughout (`lmb`, reference code) or
 * τ-regularised and removed half-way (`ebb`, ICLR). Low-rank representation mimicking distils every block output
 * through fixed PCA projections of the teacher's first-batch features. Optional LSQ activations (W1A8, W1A4), also
 * on attention's q, k, softmax and v, and the progressive initialisation (middle first).
 */
export const binarydm: DiffusionMethod<BinarydmConfig> = {
  id: 'binarydm',
  family: 'binarization',
  version: '0.1.0',
  description: 'BinaryDM: 1-bit weights by QAT from the FP teacher (learnable multi-basis binarizer, low-rank representation mimicking)',
  paper: { title: 'BinaryDM: Accurate Weight Binarization for Efficient Diffusion Models', arxiv: '2404.05662' },
  config: binarydmConfig,
  reads: ['data'],
  apply: async (ctx, config) => {
    if (config.pretrained) {
      const shipped = readShippedStudent(config.pretrained, 'binarydm');
      const student = buildFinal(ctx, shippedConfig(ctx, shipped));
      loadShippedWeights(shipped, student.model.unet);
      student.model.unet.eval();
      ctx.log(`the shipped student ${shipped.dir} (${shipped.recipe}, ${shipped.cell}, seed ${shipped.seed}); no training`);
      return { model: student.model, bitWidths: binarizedBitWidths(student.parts), state: shipped.state, diagnostics: shipped.diagnostics };
    }
    const student = build(ctx, config);
    const multi = multiBasisLayers(student);
    const progressive = progressiveOn(config) ? progressiveSchedule(student.parts, config.progressiveEvery) : null;
    const ebbEnd = Math.floor(config.ebb.removeAt * config.train.steps);
    const ebb = config.basis === 'ebb';
    ctx.log(
      `${student.parts.layers.size} binarized layers (${multi.length} multi-basis, ${config.basis}), ` +
        `activations ${config.activationBits < 32 ? `${config.activationBits}-bit LSQ` : 'FP'}, ${student.parts.attention.size} quantized attention products, ` +
        `progressive ${progressive ? 'on' : 'off'}, distillation ${config.distill.kind}`,
    );
    return trainStudent(ctx, 'binarydm', student, config.train, config.distill, {
      onStep: (step) => {
        progressive?.(step);
        if (ebb) for (const q of multi) q.useSecondBasis = step < ebbEnd;
      },
      regularizer: (step) => (ebb && step < ebbEnd && multi.length > 0 && config.ebb.tau > 0 ? ebbRegularizer(multi, config.ebb.tau) : null),
      finish: () => {
        if (ebb) removeSecondBasis(student);
      },
      state: { multiBasisLayers: multi.length },
    });
  },
  restore: async (ctx, config) => {
    const student = buildFinal(ctx, config.pretrained ? shippedConfig(ctx, readShippedStudent(config.pretrained, 'binarydm')) : config);
    return { model: student.model, bitWidths: binarizedBitWidths(student.parts) };
  },
};
