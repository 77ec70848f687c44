/**
 * diffpress diffusion: the UNet (with the encoder/decoder, temporal-feature and block-output views compression
 * methods need) and its presets, noise schedules and parameterizations, samplers, the resumable trainer, datasets
 * and the shipped MNIST models.
 *
 * @packageDocumentation
 */
export * from './schedule/schedule';
export * from './schedule/parameterization';
export * from './unet/timestep-embedding';
export * from './unet/config';
export * from './unet/inventory';
export * from './unet/blocks';
export * from './unet/unet';
export * from './unet/paths';
export * from './unet/presets';
export * from './sampling/sampler';
export * from './sampling/samplers';
export * from './sampling/hooks';
export * from './train/optimizer';
export * from './train/lr-schedule';
export * from './train/ema';
export * from './train/trainer';
export * from './train/stage-trainer';
export * from './train/diffusion-loss';
export * from './train/train-spec';
export * from './data/dataset';
export * from './data/batches';
export * from './data/mnist';
export * from './data/png';
export * from './data/png-folder';
export * from './data/cifar10';
export * from './data/split';
export * from './data/transform';
export * from './data/toy2d';
export * from './models/mlp-denoiser';
export * from './models/shipped';
export * from './models/pipeline-model';
export * from './interop/torch-unet';
export * from './interop/torch-configs';
export * from './testing/method-contract';
export * from './runtime/unet-export';
export * from './runtime/onnx-unet';
