/**
 * diffpress binarization: 1-bit diffusion UNets trained quantization-aware from the FP model (binarization spec).
 *
 * - **Methods** — {@link binarydm} (BinaryDM) and the baselines the binarization papers compare with: {@link xnor},
 *   {@link xnorLearnableK}, {@link dorefa}, {@link xnorpp} (XNOR-Net++), {@link reactnet} and the multi-bit {@link lsq};
 *   registered for recipes through {@link methods}.
 * - **Quantizers** — weight binarizers ({@link SignWeightQuantizer}, {@link MultiBasisWeightQuantizer}),
 *   {@link LsqWeightQuantizer}, and activation quantizers ({@link LsqActivationQuantizer}, {@link SignActivation}).
 * - **Layers** — {@link BinaryLayer} (a conv or linear with its quantizers and output transforms: XNOR-Net's
 *   {@link ActivationScaleMap}, XNOR++'s {@link StaticScale}, ReActNet's {@link RPReLU}), {@link LsqAttention}, and
 *   {@link binarizeUNet}, which puts them into a UNet.
 * - **QAT** — {@link runQat}: training from the FP teacher with feature distillation ({@link FeatureDistiller}:
 *   BinaryDM's low-rank representation mimicking or plain MSE), checkpoints, resume and training curves.
 *
 * @packageDocumentation
 */
import { DiffusionMethod } from '@diffpress/diffusion';
import { registerBinarizationExportRules } from './export-rules';
export * from './quantizers/init-flag';
export * from './quantizers/weight-quantizers';
export * from './quantizers/activation-quantizers';
export * from './layers/output-scales';
export * from './layers/binary-layer';
export * from './layers/lsq-attention';
export * from './layers/binarize-unet';
export * from './qat/feature-distillation';
export * from './qat/qat';
export * from './qat/config';
export * from './qat/stage';
export * from './qat/shipped-student';
export * from './binarydm/config';
export * from './binarydm/binarydm';
export * from './baselines/baselines';
export * from './export-rules';
import { binarydm } from './binarydm/binarydm';
import { dorefa, lsq, reactnet, xnor, xnorLearnableK, xnorpp } from './baselines/baselines';
// tools:method inserts one import per method above this line.

/** The methods of this package, registered by the recipes package (one line each). */
export const methods: DiffusionMethod<unknown>[] = [
  binarydm as DiffusionMethod<unknown>,
  xnor as DiffusionMethod<unknown>,
  xnorLearnableK as DiffusionMethod<unknown>,
  dorefa as DiffusionMethod<unknown>,
  xnorpp as DiffusionMethod<unknown>,
  reactnet as DiffusionMethod<unknown>,
  lsq as DiffusionMethod<unknown>,
  // tools:method inserts one entry per method above this line.
];

// The binarized layers export to ONNX (core's exporter) as soon as the package is loaded.
registerBinarizationExportRules();
