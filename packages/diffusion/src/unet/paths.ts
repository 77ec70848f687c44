import * as tf from '@tensorflow/tfjs';
import { UNetPlan } from './config';
import { EncoderOutput, UNet } from './unet';

/**
 * The views of a UNet that sampling hooks call (encoder propagation, feature caches): implemented by {@link UNet}
 * itself and by runtimes that run its exported graphs (the ONNX runtime's `OnnxUNet`). See the UNet's methods of
 * the same names for the contracts.
 */
export interface UNetPaths {
  /** The block structure. */
  readonly plan: UNetPlan;
  /** The time embedding `h(t)` of model times `[n]` → `[n, E]`. */
  timeEmbedding(t: tf.Tensor): tf.Tensor;
  /** Stem, encoder and middle block: skips (shallow → deep) and the middle output. */
  encode(x: tf.Tensor, temb: tf.Tensor): EncoderOutput;
  /** Decoder and output head. */
  decode(skips: readonly tf.Tensor[], mid: tf.Tensor, temb: tf.Tensor): tf.Tensor;
  /** Encoder up to skip `branch`: skips `0 … branch`. */
  encodeShallow(x: tf.Tensor, temb: tf.Tensor, branch: number | string): tf.Tensor[];
  /** Decoder blocks before skip `branch` is concatenated: the deep feature. */
  decodeDeep(skips: readonly tf.Tensor[], mid: tf.Tensor, temb: tf.Tensor, branch: number | string): tf.Tensor;
  /** Decoder from the block that concatenates skip `branch`, and the output head. */
  decodeShallow(h: tf.Tensor, skips: readonly tf.Tensor[], temb: tf.Tensor, branch: number | string): tf.Tensor;
  /** Index of a skip branch given by index or by the name of the block that pushes it. */
  skipIndex(branch: number | string): number;
}

/** Marks objects other than {@link UNet} that implement {@link UNetPaths} (a runtime's UNet). */
export const UNET_PATHS: unique symbol = Symbol.for('diffpress.unet-paths');

/** The model as {@link UNetPaths} when it is a UNet or a runtime's UNet, else `null`. */
export function unetPaths(model: unknown): UNetPaths | null {
  if (model instanceof UNet) return model;
  if (typeof model === 'object' && model !== null && (model as { [UNET_PATHS]?: boolean })[UNET_PATHS] === true) return model as UNetPaths;
  return null;
}
