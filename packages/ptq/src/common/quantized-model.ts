import { PipelineModel } from '@diffpress/diffusion';
import { QuantizedUNet, releaseFpWeights } from '../quant/quantize-unet';

/** The pipeline model around a quantized network. */
export function quantizedPipelineModel(parent: PipelineModel, q: QuantizedUNet, methodId: string): PipelineModel {
  return { ...parent, id: `${parent.id}+${methodId}`, unet: q.unet };
}

/**
 * Runs the calibration `f` of a freshly built quantized network and frees the network if `f` throws, so that a
 * failed step leaves no tensors behind in a long-running process.
 */
export function freeOnError<T>(q: QuantizedUNet, f: () => T): T {
  try {
    return f();
  } catch (err) {
    releaseFpWeights(q);
    q.unet.dispose();
    throw err;
  }
}
