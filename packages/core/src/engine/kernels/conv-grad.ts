import * as tf from '@tensorflow/tfjs';
import { ExplicitPadding, KernelCalls } from './kernel-calls';

/** The forward convolution's attributes that both gradient kernels receive. */
export interface ConvGradAttrs {
  /** Forward strides. */
  strides: [number, number] | number;
  /** Forward padding: `'same'`, `'valid'`, a number or explicit pairs. */
  pad: unknown;
  /** Rounding of the output size for non-integral shapes. */
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function convInfoOf(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: ConvGradAttrs,
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
 * Where the taps of one output phase come from, along one spatial axis. Input row `x = s·i + r` receives
 * `dy[p]·w[k]` exactly when `s·p + k − padBefore = x`, i.e. from the taps `k ≡ r + padBefore (mod s)`:
 * `k = k0 + s·m`, `m = 0 … taps − 1`, paired with `p = i + c − m`.
 */
interface Phase {
  /** First tap `k0 = (r + padBefore) mod s`. */
  k0: number;
  /** Number of taps `⌈(k − k0)/s⌉` (0 when the kernel is shorter than the stride reaches). */
  taps: number;
  /** Offset `c = (r + padBefore − k0)/s` of `dy` relative to the phase's output row. */
  c: number;
}

function phaseOf(r: number, s: number, k: number, padBefore: number): Phase {
  const k0 = (r + padBefore) % s;
  return { k0, taps: k0 < k ? Math.ceil((k - k0) / s) : 0, c: (r + padBefore - k0) / s };
}

/**
 * Strided input gradient by polyphase decomposition: for each of the `sh·sw` phases `(rh, rw)` of the input grid,
 * `dx[sh·i + rh, sw·j + rw]` is a stride-1 correlation of `dy` with the phase's taps of the flipped kernel. The
 * phases together do exactly the forward pass's multiply-adds, where convolving a zero-dilated `dy` would do
 * `sh·sw` times as many; they are then interleaved back into `[n, h, w, inC]`.
 */
function conv2dInputGradStrided(
  k: KernelCalls,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info;
  const [n, oh, ow] = dy.shape;
  const inC = info.inChannels;
  const outC = info.outChannels;
  const hc = Math.ceil(h / sh);
  const wc = Math.ceil(w / sw);
  const flipped = k.reverse(filter, [0, 1]);
  const rows: tf.TensorInfo[] = [];
  for (let rh = 0; rh < sh; rh++) {
    const py = phaseOf(rh, sh, kh, info.padInfo.top);
    const cols: tf.TensorInfo[] = [];
    for (let rw = 0; rw < sw; rw++) {
      const px = phaseOf(rw, sw, kw, info.padInfo.left);
      if (py.taps === 0 || px.taps === 0) {
        cols.push(k.zeros([n, hc, wc, 1, inC]));
        continue;
      }
      // Taps k0 + s·m in reverse order are an ascending strided run of the flipped kernel, starting here.
      const by = kh - 1 - py.k0 - sh * (py.taps - 1);
      const bx = kw - 1 - px.k0 - sw * (px.taps - 1);
      const sub = k.stridedSlice(flipped, [by, bx, 0, 0], [by + sh * (py.taps - 1) + 1, bx + sw * (px.taps - 1) + 1, inC, outC], [sh, sw, 1, 1]);
      const subT = k.transpose(sub, [0, 1, 3, 2]);
      const top = py.taps - 1 - py.c;
      const left = px.taps - 1 - px.c;
      // Every phase yields hc × wc rows/columns; those past the input's edge are cropped after interleaving.
      const fit = k.cropNegative(dy, [top, hc + py.taps - 1 - oh - top, left, wc + px.taps - 1 - ow - left]);
      const out = k.conv2d(fit.x, subT, [1, 1], [1, 1], fit.pads);
      cols.push(k.reshape(out, [n, hc, wc, 1, inC]));
      if (fit.cropped) k.release(fit.x);
      k.release(sub, subT, out);
    }
    const row = k.concat(cols, 3);
    rows.push(k.reshape(row, [n, hc, 1, wc * sw, inC]));
    k.release(row, ...cols);
  }
  const grid = k.concat(rows, 2);
  const full = k.reshape(grid, [n, hc * sh, wc * sw, inC]);
  const dx = hc * sh === h && wc * sw === w ? full : k.slice(full, [0, 0, 0, 0], [n, h, w, inC]);
  if (dx !== full) k.release(full);
  k.release(flipped, grid, ...rows);
  return dx;
}

/**
 * Input gradient of an NHWC `Conv2D`, built from the forward convolution. Stride 1:
 * `dx = conv(pad(dy), flip(W)ᵀ)` with the kernel flipped in both spatial axes and its channel axes swapped, and
 * `dy` padded by `k − 1 − padBefore` so that the correlation is "full". Larger strides: the same per phase of the
 * input grid (see the polyphase helper), which avoids convolving the zeros of a dilated `dy`.
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
  attrs: ConvGradAttrs,
): tf.TensorInfo {
  const info = convInfoOf(inputShape, filter.shape as [number, number, number, number], attrs);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  if (sh > 1 || sw > 1) return conv2dInputGradStrided(k, dy, filter, info);
  const flipped = k.reverse(filter, [0, 1]);
  const wT = k.transpose(flipped, [0, 1, 3, 2]);
  k.release(flipped);
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const bottom = info.inHeight + kh - 1 - info.outHeight - top;
  const right = info.inWidth + kw - 1 - info.outWidth - left;
  const fit = k.cropNegative(dy, [top, bottom, left, right]);
  const dx = k.conv2d(fit.x, wT, [1, 1], [1, 1], fit.pads);
  if (fit.cropped) k.release(fit.x);
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
  attrs: ConvGradAttrs,
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
