/**
 * diffpress ptq: post-training quantization of diffusion UNets (ptq spec).
 *
 * - **Methods** — {@link ptqNaive} (the "Linear Quant" baseline), {@link qDiffusion} (Q-Diffusion) and {@link tfmq}
 *   (TFMQ-DM), registered for recipes through {@link methods}.
 * - **Quantized layers** — {@link AdaRound}; the layer wrappers {@link QuantLayer}, {@link SplitQuantConv2d} and
 *   {@link QuantScaledDotProductAttention} (over core's uniform quantizer primitives); {@link quantizeUNet} builds a
 *   quantized copy of a UNet, also of one whose layers earlier methods wrapped; their ONNX export rules
 *   ({@link registerPtqExportRules}, registered when the package is loaded) write them as QDQ graphs.
 * - **Calibration** — {@link calibrationSet}: cached `(x_t, t)` sets from the FP sampler with the uniform / all /
 *   first / last / single strategies.
 * - **Reconstruction** — {@link reconstructUnit}: BRECQ block reconstruction with bounded memory;
 *   {@link reconstructTib}: TFMQ-DM's temporal information aware reconstruction.
 *
 * @packageDocumentation
 */
import { DiffusionMethod } from '@diffpress/diffusion';
import { registerPtqExportRules } from './quant/export-rules';
export * from './quant/adaround';
export * from './quant/layers';
export * from './quant/quantize-unet';
export * from './quant/export-rules';
export * from './calibration/calibration-set';
export * from './recon/units';
export * from './recon/capture';
export * from './recon/reconstruct';
export * from './calibration/stage-calibration-set';
export * from './common/config';
export * from './common/calibrate';
export * from './common/phase-timer';
export * from './common/phases';
export * from './common/quantized-model';
export * from './diagnostics/eps-mse';
export * from './diagnostics/temporal-cosine';
export * from './diagnostics/shortcut-ranges';
export * from './diagnostics/timing';
export * from './diagnostics/standard';
export * from './tfmq/tiar';
export * from './tfmq/step-hook';
export * from './ptq-naive/config';
export * from './ptq-naive/ptq-naive';
export * from './q-diffusion/config';
export * from './q-diffusion/q-diffusion';
export * from './tfmq/config';
export * from './tfmq/tfmq';
import { ptqNaive } from './ptq-naive/ptq-naive';
import { qDiffusion } from './q-diffusion/q-diffusion';
import { tfmq } from './tfmq/tfmq';
// tools:method inserts one import per method above this line.

/** The methods of this package, registered by the recipes package (one line each). */
export const methods: DiffusionMethod<unknown>[] = [
  ptqNaive as DiffusionMethod<unknown>,
  qDiffusion as DiffusionMethod<unknown>,
  tfmq as DiffusionMethod<unknown>,
  // tools:method inserts one entry per method above this line.
];

// The quantized layers export to ONNX (core's exporter) as soon as the package is loaded.
registerPtqExportRules();
