import * as tf from '@tensorflow/tfjs';
import { Module, initEngine } from '@diffpress/core';
import { loadMnist } from '../data/mnist';
import { sample } from '../sampling/sampler';
import { Denoiser, diffusionLoss, heldOutLoss } from '../train/diffusion-loss';
import { DiffusionModel, loadDiffusionModel, shippedModelSpec } from './shipped';

// The committed checkpoints under models/: every compression result is measured against them, so a broken export
// (wrong weights, metadata or parameterization) must fail here rather than as a bad FID three issues later.
beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

/** The trivial denoiser (output 0): the loss it gets is what "learned nothing" looks like. */
class ZeroDenoiser extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  forward(z: tf.Tensor): tf.Tensor {
    return tf.zerosLike(z);
  }
}

const test = loadMnist({ split: 'test' });

describe.each(['unet-mnist-s-eps', 'unet-mnist-s-v'])('shipped checkpoint %s', (id) => {
  const spec = shippedModelSpec(id);
  let model: DiffusionModel;
  // Loaded after the engine is up, so the weights live on wasm from the start.
  beforeAll(() => {
    model = loadDiffusionModel(id);
  });
  afterAll(() => model.unet.dispose());

  it('is the network, schedule and parameterization its spec trains', () => {
    expect(model.id).toBe(id);
    expect(model.prediction).toBe(spec.prediction);
    expect(model.schedule.toConfig()).toEqual(spec.schedule);
    expect(model.unet.training).toBe(false);
  });

  it('denoises held-out digits far better than the trivial predictor', () => {
    // 64 test digits, t and ε keyed as in the model card's held-out loss.
    const indices = Array.from({ length: 64 }, (_, i) => i * 31);
    const loss = diffusionLoss({ schedule: model.schedule, prediction: spec.prediction, weighting: spec.weighting });
    const lossOf = (m: Denoiser): number => heldOutLoss(loss, m, test, { indices, batchSize: 64 });
    const learned = lossOf(model.unet);
    const trivial = lossOf(new ZeroDenoiser());
    // Measured on the shipped weights: ε-model 0.020 against 0.998, v-model 0.115 against 0.967.
    expect(learned).toBeLessThan(0.25 * trivial);
    expect(learned).toBeLessThan(spec.prediction === 'eps' ? 0.06 : 0.25);
  });

  it('samples images on the MNIST background: mostly black, with some ink', () => {
    const x = sample({ model: model.unet, schedule: model.schedule, prediction: spec.prediction, shape: [28, 28, 1], count: 8, seed: 0, sampler: { kind: 'ddim', steps: 10 } }) as tf.Tensor;
    const px = x.dataSync();
    x.dispose();
    const black = px.filter((v) => v < -0.9).length / px.length;
    const ink = px.filter((v) => v > 0.5).length / px.length;
    // MNIST test digits: 82 % of pixels below −0.9 and 11 % above 0.5; the shipped models: 80–84 % and 7–8 %.
    expect(black).toBeGreaterThan(0.65);
    expect(ink).toBeGreaterThan(0.05);
    expect(ink).toBeLessThan(0.3);
  });
});
