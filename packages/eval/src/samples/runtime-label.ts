import * as tf from '@tensorflow/tfjs';
import { engineInfo } from '@diffpress/core';
import { runtimeLabel, runtimeOf } from '@diffpress/diffusion';

/**
 * What runs a model, for result rows and sample chunks: the ONNX runtime's label (version, threads, quantization
 * export) for a model on onnxruntime, else `tfjs-<backend>`.
 */
export function modelRuntimeLabel(model: unknown): string {
  const r = runtimeOf(model);
  return r ? runtimeLabel(r) : `tfjs-${engineInfo()?.backend ?? tf.getBackend()}`;
}
