import * as tf from '@tensorflow/tfjs';
import { Module, Rng } from '@diffpress/core';
import { CosineLogSnrSchedule, LinearBetaSchedule, NoiseSchedule } from '../schedule/schedule';
import { Prediction } from '../schedule/parameterization';
import { Oracle } from '../testing/oracle';
import { HELD_OUT_SEED, diffusionLoss, heldOutLoss } from './diffusion-loss';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const ctx = (step: number) => ({ step, seed: 3, rng: new Rng(3, `train/step-${step}`) });

describe('diffusionLoss', () => {
  it.each([
    ['eps', new LinearBetaSchedule()],
    ['v', new CosineLogSnrSchedule()],
    ['x', new CosineLogSnrSchedule()],
  ] as Array<[Prediction, NoiseSchedule]>)('is ~0 for a perfect %s denoiser and positive for a wrong one', (prediction, schedule) => {
    const x0 = tf.tensor([0.5, -0.5, 1, -1], [1, 2, 2, 1]);
    const batch = { x: tf.broadcastTo(x0, [4, 2, 2, 1]), indices: [0, 1, 2, 3] };
    const loss = diffusionLoss({ schedule, prediction, weighting: 'constant' });
    expect(loss(new Oracle(x0, schedule, prediction), batch, ctx(0)).dataSync()[0]).toBeLessThan(1e-8);
    expect(loss(new Oracle(x0, schedule, prediction, 0.5), batch, ctx(0)).dataSync()[0]).toBeGreaterThan(1e-4);
  });

  it('with ε-prediction and SNR weighting it is DDPM’s ‖ε − ε̂‖², with noise keyed by (seed, sample index)', () => {
    const schedule = new LinearBetaSchedule();
    const x0 = tf.zeros([1, 2, 2, 1]);
    // A network predicting 0 has ε-MSE = mean(ε²) of the drawn noise.
    const zero = new (class extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
      forward(z: tf.Tensor): tf.Tensor {
        return tf.zerosLike(z);
      }
    })();
    const loss = diffusionLoss({ schedule, prediction: 'eps' });
    const batch = { x: tf.broadcastTo(x0, [3, 2, 2, 1]), indices: [7, 8, 9] };
    const a = loss(zero, batch, ctx(0)).dataSync()[0];
    expect(loss(zero, batch, ctx(5)).dataSync()[0]).toBe(a); // the step does not matter, the indices do
    expect(loss(zero, { ...batch, indices: [1, 2, 3] }, ctx(0)).dataSync()[0]).not.toBe(a);
    expect(a).toBeGreaterThan(0.1);
    expect(a).toBeLessThan(4);
  });
});

describe('heldOutLoss', () => {
  const schedule = new CosineLogSnrSchedule();
  const data = { name: 'five', sampleShape: [2, 2, 1], size: 5, data: Float32Array.from({ length: 20 }, (_, i) => Math.sin(i)) };
  const loss = diffusionLoss({ schedule, prediction: 'v' });
  // A denoiser with a known error, built once the backend is set.
  let model: Oracle;
  beforeAll(() => {
    model = new Oracle(tf.tensor([0.5, -0.5, 1, -1], [1, 2, 2, 1]), schedule, 'v', 0.5);
  });

  it('is the loss over all samples with t and ε keyed by HELD_OUT_SEED, whatever the batch size', () => {
    const direct = loss(model, { x: tf.tensor(data.data, [5, 2, 2, 1]), indices: [0, 1, 2, 3, 4] }, ctx(0)).dataSync()[0];
    const keyed = loss(model, { x: tf.tensor(data.data, [5, 2, 2, 1]), indices: [0, 1, 2, 3, 4] }, { step: 0, seed: HELD_OUT_SEED, rng: new Rng(HELD_OUT_SEED, 'held-out') }).dataSync()[0];
    expect(heldOutLoss(loss, model, data, { batchSize: 5 })).toBeCloseTo(keyed, 6);
    expect(heldOutLoss(loss, model, data, { batchSize: 2 })).toBeCloseTo(keyed, 6);
    expect(heldOutLoss(loss, model, data, { seed: 3 })).toBeCloseTo(direct, 6);
    expect(keyed).not.toBeCloseTo(direct, 6);
  });

  it('evaluates the given indices, reports progress and rejects an empty selection', () => {
    const seen: number[] = [];
    const sub = heldOutLoss(loss, model, data, { indices: [1, 3], batchSize: 1, onProgress: (done) => seen.push(done) });
    const direct = loss(model, { x: tf.tensor([...data.data.subarray(4, 8), ...data.data.subarray(12, 16)], [2, 2, 2, 1]), indices: [1, 3] }, { step: 0, seed: HELD_OUT_SEED, rng: new Rng(HELD_OUT_SEED, 'held-out') }).dataSync()[0];
    expect(sub).toBeCloseTo(direct, 6);
    expect(seen).toEqual([1, 2]);
    expect(() => heldOutLoss(loss, model, data, { indices: [] })).toThrow(/no samples/);
  });
});
