import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module';
import { QuantLevels, QuantMode, fakeQuantize, quantLevels } from './fake-quant';
import { RangeTracker } from './range-tracker';
import { MseSearchOptions, QuantParams, RangeInit, channelRange, minmaxParams, mseSearchParams } from './ranges';
import { QuantizerSteps, callRowSteps, gatherPerEntry, leadingSteps } from './step-slots';

/** Options of {@link UniformQuantizer}. */
export interface UniformQuantizerOptions {
  /** Bits (1…16). */
  bits: number;
  /** Grid (default `asymmetric`). */
  mode?: QuantMode;
  /** Per-channel on the last axis with this many channels (weights); omitted: one Δ, z for the tensor. */
  channels?: number;
  /**
   * Per-step parameters (TFMQ-DM's FSC): one per-tensor (Δ, z) for each of these sampler steps, picked per row of
   * every call (see {@link callRowSteps}). Not combinable with `channels`.
   */
  perStep?: QuantizerSteps;
}

/** Options of {@link UniformQuantizer.beginCalibration}. */
export interface CalibrationOptions {
  /** How ranges are set from the data seen (default `minmax`). */
  init?: RangeInit;
  /** EMA momentum (default 0.95). */
  momentum?: number;
  /** Settings of the MSE search (`init: 'mse'`; the first batch of each slot is searched). */
  mse?: Omit<MseSearchOptions, 'perChannel'>;
}

/**
 * Uniform affine fake quantizer (ptq spec §1) as a module: `delta` and `zero` are persistent buffers (saved with
 * the weights), per output channel of the last axis, per tensor, or per sampler step (TFMQ-DM's FSC). A per-step
 * quantizer reads the step of every batch row from core's call context, so one call may mix rows of several steps
 * (each row is quantized with its own step's parameters).
 *
 * Ranges are set with {@link UniformQuantizer.setParams} (weights) or from data flowing through it between
 * {@link UniformQuantizer.beginCalibration} and {@link UniformQuantizer.endCalibration} (activations): each batch
 * updates the range of the current slot and is then quantized with it, so later layers calibrate on the quantized
 * outputs of earlier ones, as in the reference code. A trainable step size is `delta` with its `trainable` flag set
 * by the reconstruction (the gradient is LSQ's, see {@link fakeQuantize}).
 *
 * @example
 * ```ts
 * const q = new UniformQuantizer({ bits: 4, channels: 64 });
 * q.setParams(minmaxParams(min, max, 4, 'asymmetric'));
 * const wq = q.forward(conv.weight);
 * ```
 */
export class UniformQuantizer extends Module {
  /** Step sizes `[channels]`, `[steps]` or `[1]`. */
  readonly delta: tf.Variable;
  /** Zero points, same shape. */
  readonly zero: tf.Variable;
  /** Bits. */
  readonly bits: number;
  /** Grid. */
  readonly mode: QuantMode;
  /** Integer levels of the grid. */
  readonly levels: QuantLevels;
  /** Channels when per-channel. */
  readonly channels?: number;
  /** Steps when per-step. */
  readonly steps?: number;
  /** When false, `forward` is the identity (FP reference passes, weight-only phases). */
  enabled = true;
  // A plain field, so that the model's content digest covers the calibrated times a direct call looks steps up by.
  private readonly stepLookup?: QuantizerSteps;
  private calibration: { options: CalibrationOptions; tracker: RangeTracker; searched: Set<number> } | null = null;

  /** @param options - Bits, grid, and per-channel or per-step layout. */
  constructor(options: UniformQuantizerOptions) {
    super();
    this.bits = options.bits;
    this.mode = options.mode ?? 'asymmetric';
    this.levels = quantLevels(this.bits, this.mode);
    const perStep = options.perStep;
    if (options.channels != null && perStep) throw new Error('UniformQuantizer: per-channel and per-step parameters cannot be combined');
    if (perStep && perStep.modelTimes.length === 0) throw new Error('UniformQuantizer: a per-step quantizer needs at least one step');
    this.channels = options.channels;
    this.steps = perStep?.modelTimes.length;
    if (perStep) this.stepLookup = { modelTimes: [...perStep.modelTimes], label: perStep.label };
    const size = options.channels ?? this.steps ?? 1;
    this.delta = this.registerBuffer('delta', tf.ones([size]));
    this.zero = this.registerBuffer('zero', tf.zeros([size]));
  }

  /** Number of parameter sets (channels, steps or 1). */
  get size(): number {
    return this.delta.shape[0];
  }

  /**
   * The parameter slot of every entry of the leading axis of `x`: the row's step for per-step quantizers (see
   * {@link callRowSteps} and {@link leadingSteps}), else 0.
   */
  slots(x: tf.Tensor): number[] {
    if (!this.stepLookup) return new Array<number>(x.shape[0] ?? 1).fill(0);
    return leadingSteps(callRowSteps(this.stepLookup), x.shape[0] ?? 1);
  }

  /** Sets Δ and z of every channel (or of one slot with `slot`). */
  setParams(params: QuantParams, slot?: number): void {
    if (slot == null) {
      if (params.delta.length !== this.size) throw new Error(`UniformQuantizer.setParams: ${params.delta.length} values for ${this.size} parameter sets`);
      // Inside tidy: assign shares the new tensor's data, and the temporary itself must still be freed.
      tf.tidy(() => {
        this.delta.assign(tf.tensor1d(params.delta));
        this.zero.assign(tf.tensor1d(params.zero));
      });
      return;
    }
    if (params.delta.length !== 1) throw new Error('UniformQuantizer.setParams: a slot takes one (Δ, z)');
    const d = this.delta.dataSync().slice();
    const z = this.zero.dataSync().slice();
    d[slot] = params.delta[0];
    z[slot] = params.zero[0];
    tf.tidy(() => {
      this.delta.assign(tf.tensor1d(d));
      this.zero.assign(tf.tensor1d(z));
    });
  }

  /** Starts setting ranges from the data passed through {@link UniformQuantizer.forward}. */
  beginCalibration(options: CalibrationOptions = {}): void {
    const init = options.init ?? 'minmax';
    this.calibration = { options: { ...options, init }, tracker: new RangeTracker(init === 'ema' ? 'ema' : 'minmax', options.momentum ?? 0.95), searched: new Set() };
  }

  /** Stops calibrating; returns the slots that saw data. */
  endCalibration(): number[] {
    const seen = this.calibration ? [...this.calibration.tracker.slots(), ...this.calibration.searched] : [];
    this.calibration = null;
    return [...new Set(seen)].sort((a, b) => a - b);
  }

  /** Whether the quantizer is between begin- and endCalibration. */
  get calibrating(): boolean {
    return this.calibration != null;
  }

  private observe(x: tf.Tensor, slot: number): void {
    const cal = this.calibration;
    if (!cal) return;
    const perChannel = this.channels != null;
    const perSlot = this.steps != null;
    if (cal.options.init === 'mse') {
      if (cal.searched.has(slot)) return;
      cal.searched.add(slot);
      this.setParams(mseSearchParams(x, this.bits, this.mode, { ...cal.options.mse, perChannel }), perSlot ? slot : undefined);
      return;
    }
    const r = cal.tracker.observe(channelRange(x, perChannel), slot);
    this.setParams(minmaxParams(r.min, r.max, this.bits, this.mode), perSlot ? slot : undefined);
  }

  /** `x → x̂` (the identity when disabled). */
  forward(x: tf.Tensor): tf.Tensor {
    if (!this.enabled) return x;
    if (this.steps == null) {
      this.observe(x, 0);
      return tf.tidy(() => fakeQuantize(x, this.delta, this.zero, this.levels));
    }
    const slots = this.slots(x);
    const distinct = [...new Set(slots)].sort((a, b) => a - b);
    if (distinct.length === 1) {
      this.observe(x, distinct[0]);
      return tf.tidy(() => {
        const idx = tf.tensor1d(distinct, 'int32');
        return fakeQuantize(x, tf.gather(this.delta, idx), tf.gather(this.zero, idx), this.levels);
      });
    }
    // Rows of several steps: each step's range sees only its own rows, and each row is quantized with its step's.
    if (this.calibration) {
      for (const s of distinct) {
        const own = tf.tidy(() => tf.gather(x, tf.tensor1d(slots.flatMap((v, i) => (v === s ? [i] : [])), 'int32')));
        this.observe(own, s);
        own.dispose();
      }
    }
    return tf.tidy(() => fakeQuantize(x, gatherPerEntry(this.delta, slots, x), gatherPerEntry(this.zero, slots, x), this.levels));
  }
}
