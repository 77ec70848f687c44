import * as tf from '@tensorflow/tfjs';
import { ExplicitPadding, KernelCalls } from './kernel-calls';

type Pads = [number, number, number, number];

function convInfoOf(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: { strides: [number, number] | number; pad: unknown; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad as 'same' | 'valid' | number | ExplicitPadding,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * Inserts `s − 1` zeros between the rows (and columns) of an NHWC tensor. The result has `(h·sh, w·sw)` rows and
 * columns: `sh − 1` and `sw − 1` surplus trailing zeros that callers crop through negative padding.
 */
function dilateSpatial(k: KernelCalls, x: tf.TensorInfo, sh: number, sw: number): tf.TensorInfo {
  const [n, h, w, c] = x.shape;
  const r6 = k.reshape(x, [n, h, 1, w, 1, c]);
  const padded = k.pad(r6, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  const out = k.reshape(padded, [n, h * sh, w * sw, c]);
  k.release(r6, padded);
  return out;
}

/**
 * Input gradient of an NHWC `Conv2D`, built from the forward convolution:
 * `dx = conv(pad(dilate(dy, stride)), flip(W)ᵀ)` with stride 1, where the kernel is flipped in both spatial axes
 * and its channel axes swapped, and `dy` is padded by `k − 1 − padBefore` so that the correlation is "full".
 *
 * @param k kernel access on the active backend.
 * @param dy output gradient `[n, outH, outW, outC]`.
 * @param filter forward kernel `[kh, kw, inC, outC]`.
 * @param inputShape forward input shape `[n, h, w, inC]`.
 * @param attrs forward `strides`, `pad` and `dimRoundingMode` (dilations must be 1, as tfjs requires for gradients).
 */
export function conv2dInputGrad(
  k: KernelCalls,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  inputShape: [number, number, number, number],
  attrs: { strides: [number, number] | number; pad: unknown; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
): tf.TensorInfo {
  const info = convInfoOf(inputShape, filter.shape as [number, number, number, number], attrs);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const flipped = k.reverse(filter, [0, 1]);
  const wT = k.transpose(flipped, [0, 1, 3, 2]);
  k.release(flipped);

  const strided = sh > 1 || sw > 1;
  const dyD = strided ? dilateSpatial(k, dy, sh, sw) : dy;
  const hd = (info.outHeight - 1) * sh + 1;
  const wd = (info.outWidth - 1) * sw + 1;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  // The dilated tensor carries (s − 1) surplus trailing rows/columns beyond hd/wd: subtract them here.
  const bottom = info.inHeight + kh - 1 - hd - top - (dyD.shape[1] - hd);
  const right = info.inWidth + kw - 1 - wd - left - (dyD.shape[2] - wd);
  const fit = k.cropNegative(dyD, [top, bottom, left, right] as Pads);
  const dx = k.conv2d(fit.x, wT, [1, 1], [1, 1], fit.pads);
  if (fit.cropped) k.release(fit.x);
  if (strided) k.release(dyD);
  k.release(wT);
  return dx;
}

/**
 * Filter gradient of an NHWC `Conv2D`, built from the forward convolution with batch and channels swapped:
 * `dW[a, b, i, o] = Σₙ Σₚ,q xpad[n, p·sh + a, q·sw + b, i] · dy[n, p, q, o]` is a stride-1 convolution of
 * `xpadᵀ [inC, H, W, n]` with the kernel `dyᵀ [outH, outW, n, outC]` at dilation `(sh, sw)`.
 *
 * @param k kernel access on the active backend.
 * @param x forward input `[n, h, w, inC]`.
 * @param dy output gradient `[n, outH, outW, outC]`.
 * @param filterShape `[kh, kw, inC, outC]`.
 * @param attrs forward `strides`, `pad` and `dimRoundingMode`.
 */
export function conv2dFilterGrad(
  k: KernelCalls,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: [number, number, number, number],
  attrs: { strides: [number, number] | number; pad: unknown; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
): tf.TensorInfo {
  const info = convInfoOf(x.shape as [number, number, number, number], filterShape, attrs);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Only the rows the forward pass reached matter: pad (or crop) the far side to exactly kh + (outH − 1)·sh.
  const bottom = kh + (info.outHeight - 1) * sh - info.inHeight - top;
  const right = kw + (info.outWidth - 1) * sw - info.inWidth - left;
  const xT = k.transpose(x, [3, 1, 2, 0]);
  const fit = k.cropNegative(xT, [top, bottom, left, right]);
  const dyT = k.transpose(dy, [1, 2, 0, 3]);
  const out = k.conv2d(fit.x, dyT, [1, 1], [sh, sw], fit.pads);
  const dw = k.transpose(out, [1, 2, 0, 3]);
  if (fit.cropped) k.release(fit.x);
  k.release(xT, dyT, out);
  return dw;
}
