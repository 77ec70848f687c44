import type { CompressionMethod, StageContext, StageResult } from '@diffpress/core';
import { Prediction } from '../schedule/parameterization';
import { NoiseSchedule } from '../schedule/schedule';
import { ModelCallPolicy } from '../sampling/sampler';
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

/** A compression method on diffusion models: what the method packages implement and the recipes package runs. */
export type DiffusionMethod<C> = CompressionMethod<C, PipelineModel, ModelCallPolicy>;

/** The context a {@link DiffusionMethod} step sees. */
export type DiffusionStageContext = StageContext<PipelineModel, ModelCallPolicy>;

/** What a {@link DiffusionMethod} step returns. */
export type DiffusionStageResult = StageResult<PipelineModel, ModelCallPolicy>;
