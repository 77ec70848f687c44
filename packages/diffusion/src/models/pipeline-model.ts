import type { CompressionMethod, StageContext, StageResult } from '@diffpress/core';
import { ArrayDataset } from '../data/dataset';
import { Prediction } from '../schedule/parameterization';
import { NoiseSchedule } from '../schedule/schedule';
import { SamplingHook } from '../sampling/hooks';
import { SamplerConfig } from '../sampling/samplers';
import { UNet } from '../unet/unet';

/** A diffusion model as it flows through a compression pipeline: the network with its schedule and parameterization. */
export interface PipelineModel {
  /** Name for logs and result rows (shipped id, or the base id plus the applied method ids). */
  id: string;
  /** The network (its layers may have been replaced by compression steps). */
  unet: UNet;
  /** Noise schedule. */
  schedule: NoiseSchedule;
  /** Parameterization. */
  prediction: Prediction;
}

/**
 * The diffusion domain of the method contract: pipeline models, sampling hooks, sampler configs, and the recipe's
 * training split as data.
 */
export interface DiffusionDomain {
  /** See {@link PipelineModel}. */
  model: PipelineModel;
  /** See {@link SamplingHook}. */
  hook: SamplingHook;
  /** See {@link SamplerConfig}. */
  sampler: SamplerConfig;
  /** The recipe's training split (batches: `datasetBatches`). */
  data: ArrayDataset;
}

/** A compression method on diffusion models: what the method packages implement and the recipes package runs. */
export type DiffusionMethod<C> = CompressionMethod<C, DiffusionDomain>;

/** The context a {@link DiffusionMethod} step sees. */
export type DiffusionStageContext = StageContext<DiffusionDomain>;

/** What a {@link DiffusionMethod} step returns. */
export type DiffusionStageResult = StageResult<DiffusionDomain>;
