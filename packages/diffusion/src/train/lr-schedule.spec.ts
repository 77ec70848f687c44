import * as tf from '@tensorflow/tfjs';
import { LrScheduleConfig, learningRate } from './lr-schedule';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

describe('learningRate', () => {
  it('is constant by default', () => {
    for (const step of [0, 1, 10, 1e6]) expect(learningRate({ lr: 3e-4 }, step)).toBe(3e-4);
  });

  it('warms up linearly as lr·(step + 1)/W, then holds lr', () => {
    const c: LrScheduleConfig = { lr: 1e-3, warmupSteps: 4 };
    // (step + 1)/4 · 1e-3 = 0.25e-3, 0.5e-3, 0.75e-3, 1e-3; the first update already gets a non-zero rate.
    expect(learningRate(c, 0)).toBeCloseTo(2.5e-4, 15);
    expect(learningRate(c, 1)).toBeCloseTo(5e-4, 15);
    expect(learningRate(c, 2)).toBeCloseTo(7.5e-4, 15);
    expect(learningRate(c, 3)).toBeCloseTo(1e-3, 15);
    expect(learningRate(c, 4)).toBe(1e-3);
    expect(learningRate(c, 100)).toBe(1e-3);
  });

  describe('cosine', () => {
    const c: LrScheduleConfig = { lr: 1e-3, decay: 'cosine', warmupSteps: 100, totalSteps: 1000 };

    it('follows the half cosine from lr to 0 after warm-up', () => {
      // Warm-up end: (99 + 1)/100·lr = lr, and progress 0 at step 100 gives lr too: continuous.
      expect(learningRate(c, 99)).toBeCloseTo(1e-3, 15);
      expect(learningRate(c, 100)).toBeCloseTo(1e-3, 15);
      // Midpoint: progress (550 − 100)/900 = 0.5 → 0.5·(1 + cos(π/2)) = 0.5 → 5e-4 (the JSDoc example).
      expect(learningRate(c, 550)).toBeCloseTo(5e-4, 15);
      // progress 0.25 (step 325): 0.5·(1 + cos(π/4)) = 0.5·(1 + 0.7071068) = 0.8535534 → 8.535534e-4.
      expect(learningRate(c, 325)).toBeCloseTo(8.535534e-4, 10);
      // End and beyond: progress clamped to 1 → 0.
      expect(learningRate(c, 1000)).toBeCloseTo(0, 15);
      expect(learningRate(c, 5000)).toBeCloseTo(0, 15);
    });

    it('is monotone non-increasing after warm-up', () => {
      let prev = Infinity;
      for (let step = 100; step <= 1100; step += 7) {
        const lr = learningRate(c, step);
        expect(lr).toBeLessThanOrEqual(prev);
        prev = lr;
      }
    });

    it('decays to the minLr floor', () => {
      const f: LrScheduleConfig = { ...c, minLr: 1e-4 };
      // minLr + (lr − minLr)·0.5·(1 + cos(π·p)): p = 0 → 1e-3; p = 0.5 → 1e-4 + 9e-4·0.5 = 5.5e-4;
      // p = 0.25 → 1e-4 + 9e-4·0.8535534 = 8.681981e-4; p = 1 → 1e-4.
      expect(learningRate(f, 100)).toBeCloseTo(1e-3, 15);
      expect(learningRate(f, 550)).toBeCloseTo(5.5e-4, 15);
      expect(learningRate(f, 325)).toBeCloseTo(8.681981e-4, 10);
      expect(learningRate(f, 1000)).toBeCloseTo(1e-4, 15);
      expect(learningRate(f, 99999)).toBeCloseTo(1e-4, 15);
      // Warm-up is not affected by the floor: it starts from lr/W.
      expect(learningRate(f, 0)).toBeCloseTo(1e-5, 15);
    });

    it('works without warm-up', () => {
      const nw: LrScheduleConfig = { lr: 2, decay: 'cosine', totalSteps: 4 };
      // p = step/4: 2·0.5·(1 + cos(π·p)) = 2, 1.7071068, 1, 0.2928932, 0.
      [2, 1.7071068, 1, 0.2928932, 0].forEach((v, step) => expect(learningRate(nw, step)).toBeCloseTo(v, 7));
    });
  });

  describe('linear', () => {
    it('goes straight to 0 at totalSteps', () => {
      const c: LrScheduleConfig = { lr: 1e-3, decay: 'linear', totalSteps: 100 };
      // lr·(1 − step/100): 1e-3, 7.5e-4 at 25, 5e-4 at 50, 0 at 100 and after.
      expect(learningRate(c, 0)).toBe(1e-3);
      expect(learningRate(c, 25)).toBeCloseTo(7.5e-4, 15);
      expect(learningRate(c, 50)).toBeCloseTo(5e-4, 15);
      expect(learningRate(c, 99)).toBeCloseTo(1e-5, 15);
      expect(learningRate(c, 100)).toBe(0);
      expect(learningRate(c, 150)).toBe(0);
    });

    it('starts after warm-up and ignores minLr', () => {
      const c: LrScheduleConfig = { lr: 1e-3, decay: 'linear', warmupSteps: 10, totalSteps: 110, minLr: 5e-4 };
      // Warm-up: (4 + 1)/10·1e-3 = 5e-4. Decay: progress (60 − 10)/100 = 0.5 → 5e-4; (100 − 10)/100 → 1e-4; end → 0.
      expect(learningRate(c, 4)).toBeCloseTo(5e-4, 15);
      expect(learningRate(c, 10)).toBe(1e-3);
      expect(learningRate(c, 60)).toBeCloseTo(5e-4, 15);
      expect(learningRate(c, 100)).toBeCloseTo(1e-4, 15);
      expect(learningRate(c, 110)).toBe(0);
    });
  });

  describe('errors', () => {
    it.each([0, -1e-3, NaN])('rejects lr = %p', (lr) => {
      expect(() => learningRate({ lr }, 0)).toThrow(`learning rate must be positive, got ${lr}`);
    });

    it('needs totalSteps > warmupSteps for cosine and linear decay', () => {
      expect(() => learningRate({ lr: 1, decay: 'cosine' }, 0)).toThrow("'cosine' learning-rate decay needs totalSteps > warmupSteps, got undefined");
      expect(() => learningRate({ lr: 1, decay: 'linear', warmupSteps: 10, totalSteps: 10 }, 20)).toThrow(
        "'linear' learning-rate decay needs totalSteps > warmupSteps, got 10",
      );
      expect(() => learningRate({ lr: 1, decay: 'linear', totalSteps: 0 }, 0)).toThrow(RangeError);
    });

    it('rejects an unknown decay', () => {
      expect(() => learningRate({ lr: 1, decay: 'step' as never, totalSteps: 10 }, 3)).toThrow(
        "unknown learning-rate decay 'step' (expected constant, cosine or linear)",
      );
    });
  });
});
