import { ChannelRange } from './ranges';

/**
 * Running minima and maxima over calibration batches, per slot (the per-step parameter sets of TFMQ's FSC; slot 0
 * otherwise): `ema` mixes each batch in with `momentum` (spec: 0.95, TFMQ's EMA min-max), `minmax` keeps the
 * extremes seen.
 */
export class RangeTracker {
  private readonly min = new Map<number, Float32Array>();
  private readonly max = new Map<number, Float32Array>();

  /**
   * @param kind - `ema` or `minmax`.
   * @param momentum - EMA momentum (weight of the running value).
   */
  constructor(
    readonly kind: 'ema' | 'minmax',
    readonly momentum = 0.95,
  ) {
    if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`RangeTracker: momentum must be in [0, 1), got ${momentum}`);
  }

  /** Folds one batch's range into slot `slot` and returns the slot's current range. */
  observe(range: ChannelRange, slot = 0): ChannelRange {
    const mn = this.min.get(slot);
    const mx = this.max.get(slot);
    if (!mn || !mx) {
      this.min.set(slot, Float32Array.from(range.min));
      this.max.set(slot, Float32Array.from(range.max));
    } else {
      const m = this.momentum;
      for (let c = 0; c < mn.length; c++) {
        if (this.kind === 'ema') {
          mn[c] = m * mn[c] + (1 - m) * range.min[c];
          mx[c] = m * mx[c] + (1 - m) * range.max[c];
        } else {
          mn[c] = Math.min(mn[c], range.min[c]);
          mx[c] = Math.max(mx[c], range.max[c]);
        }
      }
    }
    return { min: this.min.get(slot) as Float32Array, max: this.max.get(slot) as Float32Array };
  }

  /** Slots observed so far. */
  slots(): number[] {
    return [...this.min.keys()].sort((a, b) => a - b);
  }
}
