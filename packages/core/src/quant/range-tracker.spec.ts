import { RangeTracker } from './range-tracker';

describe('RangeTracker', () => {
  it('mixes batches in with momentum (EMA) or keeps the extremes (minmax)', () => {
    const ema = new RangeTracker('ema', 0.95);
    ema.observe({ min: Float32Array.of(0), max: Float32Array.of(1) });
    const r = ema.observe({ min: Float32Array.of(-1), max: Float32Array.of(3) });
    expect(r.min[0]).toBeCloseTo(-0.05, 6);
    expect(r.max[0]).toBeCloseTo(1.1, 6);
    const mm = new RangeTracker('minmax');
    mm.observe({ min: Float32Array.of(0), max: Float32Array.of(1) });
    const m = mm.observe({ min: Float32Array.of(-1), max: Float32Array.of(0.5) });
    expect([m.min[0], m.max[0]]).toEqual([-1, 1]);
  });

  it('keeps slots apart', () => {
    const t = new RangeTracker('ema');
    t.observe({ min: Float32Array.of(-1), max: Float32Array.of(1) }, 0);
    const s3 = t.observe({ min: Float32Array.of(-5), max: Float32Array.of(5) }, 3);
    expect([s3.min[0], s3.max[0]]).toEqual([-5, 5]);
    expect(t.slots()).toEqual([0, 3]);
  });
});
