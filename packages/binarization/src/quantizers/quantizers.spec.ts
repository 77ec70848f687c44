import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { LsqActivationQuantizer, SignActivation } from './activation-quantizers';
import { LsqWeightQuantizer, MultiBasisWeightQuantizer, SignWeightQuantizer } from './weight-quantizers';

/** Value and gradient of `f` at `x` (gradient of sum(f(x)·dy), dy = 1 unless given). */
function valueAndGrad(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, dy?: tf.Tensor): { value: number[]; grad: number[] } {
  const value = tf.tidy(() => Array.from(f(x).dataSync()));
  const grad = tf.tidy(() => Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), dy ?? tf.onesLike(a))))(x).dataSync()));
  return { value, grad };
}

function close(actual: ArrayLike<number>, expected: number[], digits = 5): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits));
}

describe('binarization quantizers', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  // A [2 in, 2 out] linear weight: column 0 = (0.5, −1.5), column 1 = (0, 0.25).
  const w = (): tf.Tensor2D => tf.tensor2d([[0.5, 0], [-1.5, 0.25]]);

  it('learned α₁·sign(W): α₁ starts at mean|W| per output channel, sign(0) = 0, W gets the clipped identity', () => {
    const q = new SignWeightQuantizer(2, 'learned');
    const x = w();
    const { value, grad } = valueAndGrad((a) => q.forward(a), x);
    close(q.alpha?.dataSync() ?? [], [1, 0.125]);
    // α₁ = (mean(0.5, 1.5), mean(0, 0.25)) = (1, 0.125); sign(0) = 0.
    close(value, [1, 0, -1, 0.125]);
    // d/dW = α₁ where |W| ≤ 1, else 0.
    close(grad, [1, 0.125, 0, 0.125]);
    // The initialisation runs once: a new weight does not reset α₁.
    tf.tidy(() => q.forward(tf.mul(x, 4)));
    close(q.alpha?.dataSync() ?? [], [1, 0.125]);
    q.dispose();
    x.dispose();
  });

  it('α₁ is trainable and its gradient is Σ sign(W)·dy per channel', () => {
    const q = new SignWeightQuantizer(2, 'learned');
    const x = w();
    tf.tidy(() => q.forward(x));
    const alpha = q.alpha as tf.Variable;
    const g = tf.tidy(() => Array.from(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.mul(tf.sign(x), a), tf.tensor2d([[1, 2], [3, 4]]))))(alpha).dataSync()));
    const viaModule = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(q.forward(x), tf.tensor2d([[1, 2], [3, 4]]))) as tf.Scalar, [alpha]);
      return Array.from(grads[alpha.name].dataSync());
    });
    // Channel 0: 1·1 + (−1)·3 = −2; channel 1: 0·2 + 1·4 = 4.
    close(viaModule, [-2, 4]);
    close(g, [-2, 4]);
    q.dispose();
    x.dispose();
  });

  it('channel-mean (XNOR-Net) recomputes α, layer-mean (DoReFa) uses E|W| with the identity gradient, none is sign alone', () => {
    const x = w();
    const xnor = new SignWeightQuantizer(2, 'channel-mean');
    close(valueAndGrad((a) => xnor.forward(a), x).value, [1, 0, -1, 0.125]);
    const dorefa = new SignWeightQuantizer(2, 'layer-mean');
    const d = valueAndGrad((a) => dorefa.forward(a), x, tf.tensor2d([[1, 2], [3, 4]]));
    // E|W| = (0.5 + 0 + 1.5 + 0.25)/4 = 0.5625.
    close(d.value, [0.5625, 0, -0.5625, 0.5625]);
    close(d.grad, [1, 2, 3, 4]);
    const none = new SignWeightQuantizer(2, 'none');
    close(valueAndGrad((a) => none.forward(a), x).value, [1, 0, -1, 1]);
    x.dispose();
  });

  it('the multi-basis binarizer adds α₂·sign(R) with R = W − α₁·sign(W), α₂ starting at mean|R|; one basis when removed', () => {
    const q = new MultiBasisWeightQuantizer(2);
    const x = w();
    const value = tf.tidy(() => Array.from(q.forward(x).dataSync()));
    // α₁ = (1, 0.125). R = (0.5 − 1, −1.5 + 1 | 0 − 0, 0.25 − 0.125) = (−0.5, −0.5 | 0, 0.125); α₂ = (0.5, 0.0625).
    close(q.alpha1.dataSync(), [1, 0.125]);
    close(q.alpha2.dataSync(), [0.5, 0.0625]);
    // Wb = α₁ sign W + α₂ sign R = (1 − 0.5, 0 + 0 | −1 − 0.5, 0.125 + 0.0625).
    close(value, [0.5, 0, -1.5, 0.1875]);
    expect(q.bits).toBe(2);
    q.useSecondBasis = false;
    close(tf.tidy(() => Array.from(q.forward(x).dataSync())), [1, 0, -1, 0.125]);
    expect(q.bits).toBe(1);
    // The residual is differentiable: α₁ also learns through the second basis (dWb/dα₁ = sign W − α₂·0 from the STE path).
    q.useSecondBasis = true;
    const { grads } = tf.variableGrads(() => tf.sum(q.forward(x)) as tf.Scalar, [q.alpha1, q.alpha2]);
    // d/dα₂ = Σ sign(R) per channel = (−1 − 1, 0 + 1); d/dα₁ = Σ sign W·(1 − α₂·STE'(R)) with |R| ≤ 1: (1·(1 − 0.5) + (−1)·(1 − 0.5), 0 + 1·(1 − 0.0625)).
    close(grads[q.alpha2.name].dataSync(), [-2, 1]);
    close(grads[q.alpha1.name].dataSync(), [0, 0.9375]);
    tf.dispose(Object.values(grads));
    q.dispose();
    x.dispose();
  });

  it('LSQ weights: s = 2·mean|W|/√Qp once, then round(clamp(W/s))·s', () => {
    const q = new LsqWeightQuantizer(2);
    const x = w();
    const value = tf.tidy(() => Array.from(q.forward(x).dataSync()));
    // 2 bits signed: Qn = −2, Qp = 1; s = 2·0.5625/1 = 1.125. W/s = (0.444, 0, −1.333, 0.222) → (0, 0, −1, 0).
    close(q.step.dataSync(), [1.125]);
    close(value, [0, 0, -1.125, 0]);
    q.dispose();
    x.dispose();
  });

  it('LSQ activations initialise once, or at every forward with dynamic: true (the reference code)', () => {
    const once = new LsqActivationQuantizer(4);
    const dyn = new LsqActivationQuantizer(4, true);
    const a = tf.tensor1d([1, -3]);
    const b = tf.tensor1d([10, -30]);
    tf.tidy(() => [once.forward(a), dyn.forward(a)]);
    // 4 bits: Qp = 7; s = 2·2/√7.
    close(once.step.dataSync(), [4 / Math.sqrt(7)]);
    tf.tidy(() => [once.forward(b), dyn.forward(b)]);
    close(once.step.dataSync(), [4 / Math.sqrt(7)]);
    close(dyn.step.dataSync(), [40 / Math.sqrt(7)], 4);
    // The initialisation flag is state: a restored quantizer does not re-initialise.
    const restored = new LsqActivationQuantizer(4);
    restored.loadStateDict(once.stateDict());
    tf.tidy(() => restored.forward(b));
    close(restored.step.dataSync(), [4 / Math.sqrt(7)]);
    tf.dispose([a, b]);
    [once, dyn, restored].forEach((m) => m.dispose());
  });

  it('sign activations: sign(0) = 0, clipped-identity or ApproxSign gradients, a learnable threshold shifts the input', () => {
    const x = tf.tensor1d([-2, -0.5, 0, 0.25, 0.75, 3]);
    const clipped = valueAndGrad((a) => new SignActivation().forward(a), x);
    close(clipped.value, [-1, -1, 0, 1, 1, 1]);
    close(clipped.grad, [0, 1, 1, 1, 1, 0]);
    // ApproxSign: 2 + 2x on [−1, 0), 2 − 2x on [0, 1), 0 elsewhere.
    close(valueAndGrad((a) => new SignActivation({ estimator: 'approx' }).forward(a), x).grad, [0, 1, 2, 1.5, 0.5, 0]);
    const rsign = new SignActivation({ thresholdChannels: 2 });
    (rsign.threshold as tf.Variable).assign(tf.tensor1d([0.5, -1]));
    const y = tf.tidy(() => Array.from(rsign.forward(tf.tensor2d([[-0.5, 0.5], [0.25, 2]])).dataSync()));
    close(y, [0, -1, 1, 1]);
    x.dispose();
    rsign.dispose();
  });
});
