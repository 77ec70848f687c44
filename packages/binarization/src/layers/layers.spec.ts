import * as tf from '@tensorflow/tfjs';
import { AnyModule, Conv2d, Linear, Rng, initEngine } from '@diffpress/core';
import { TINY_UNET, UNet, copyUNet } from '@diffpress/diffusion';
import { LsqActivationQuantizer, SignActivation } from '../quantizers/activation-quantizers';
import { MultiBasisWeightQuantizer, SignWeightQuantizer } from '../quantizers/weight-quantizers';
import { DEFAULT_KEEP_FP, binarizableLayers, binarizeUNet, binarizedBitWidths, resolutionGroup } from './binarize-unet';
import { BinaryLayer } from './binary-layer';
import { LsqAttention } from './lsq-attention';
import { ActivationScaleMap, RPReLU, StaticScale } from './output-scales';

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('binary layers', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it("XNOR-Net's K map: mean_c|x| through a 1/9 box filter with the conv's zero padding, on a hand-computed 3×3 case", () => {
    const conv = new Conv2d(2, 1, 3, { rng: new Rng(1, 't') });
    const k = new ActivationScaleMap(conv, false);
    // A = mean_c |x| = [[1, 2, 3], [4, 5, 6], [7, 8, 9]] (channels (a, −a)).
    const a = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const x = tf.tensor4d(a.flatMap((v) => [v, -v]), [1, 3, 3, 2]);
    const map = k.scaleMap(x);
    // Corner (0,0): (1 + 2 + 4 + 5)/9; edge (0,1): (1 + 2 + 3 + 4 + 5 + 6)/9; centre: 45/9.
    const m = map.dataSync();
    expect(map.shape).toEqual([1, 3, 3, 1]);
    expect(m[0]).toBeCloseTo(12 / 9, 6);
    expect(m[1]).toBeCloseTo(21 / 9, 6);
    expect(m[4]).toBeCloseTo(5, 6);
    expect(m[8]).toBeCloseTo((5 + 6 + 8 + 9) / 9, 6);
    expect(k.storedValues).toBe(0);
    const learnable = new ActivationScaleMap(conv, true);
    expect(learnable.kernel?.shape).toEqual([3, 3, 1, 1]);
    expect(maxDiff(learnable.scaleMap(x), map)).toBeLessThan(1e-6);
    expect(learnable.storedValues).toBe(10);
    tf.dispose([x, map]);
    [conv, k, learnable].forEach((mod) => mod.dispose());
  });

  it('an XNOR binary conv computes conv(sign x, α·sign W) ⊙ K + b', () => {
    const conv = new Conv2d(3, 4, 3, { rng: new Rng(2, 't') });
    const layer = new BinaryLayer(conv, (inner) => ({
      weight: new SignWeightQuantizer(4, 'channel-mean'),
      input: new SignActivation(),
      scale: new ActivationScaleMap(inner as Conv2d, false),
    }));
    const x = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 3);
    const expected = tf.tidy(() => {
      const alpha = tf.mean(tf.abs(conv.weight), [0, 1, 2]);
      const y = tf.conv2d(tf.sign(x) as tf.Tensor4D, tf.mul(tf.sign(conv.weight), alpha) as tf.Tensor4D, 1, 'same');
      const kmap = tf.conv2d(tf.mean(tf.abs(x), -1, true) as tf.Tensor4D, tf.fill([3, 3, 1, 1], 1 / 9) as tf.Tensor4D, 1, 'same');
      return tf.add(tf.mul(y, kmap), conv.bias as tf.Variable);
    });
    const y = layer.forward(x);
    expect(maxDiff(y, expected)).toBeLessThan(1e-5);
    expect(layer.precision).toEqual({ weightBits: 1, activationBits: 1 });
    layer.binarized = false;
    const fp = layer.forward(x);
    const ref = conv.forward(x);
    expect(maxDiff(fp, ref)).toBe(0);
    tf.dispose([x, expected, y, fp, ref]);
    layer.dispose();
  });

  it("XNOR++'s Γ = α ⊗ β ⊗ γ and ReActNet's RPReLU on hand-computed values", () => {
    const conv = new Conv2d(1, 2, 1, { rng: new Rng(3, 't') });
    conv.weight.assign(tf.tensor4d([0.5, -2], [1, 1, 1, 2]));
    const s = new StaticScale(conv, [2, 3]);
    expect(Array.from(s.alpha.dataSync())).toEqual([0.5, 2]);
    (s.beta as tf.Variable).assign(tf.tensor1d([1, 2]));
    (s.gamma as tf.Variable).assign(tf.tensor1d([1, 10, 100]));
    const y = s.forward(tf.zeros([1, 2, 3, 1]), tf.ones([1, 2, 3, 2]));
    // Γ[h, w, o] = β_h·γ_w·α_o: position (1, 2), channel 1 = 2·100·2.
    expect(y.dataSync()[(1 * 3 + 2) * 2 + 1]).toBeCloseTo(400, 4);
    expect(y.dataSync()[(0 * 3 + 1) * 2 + 0]).toBeCloseTo(5, 5);
    expect(s.storedValues).toBe(2 + 2 + 3);
    expect(() => s.forward(tf.zeros([1, 3, 3, 1]), tf.ones([1, 3, 3, 2]))).toThrow(/2×3/);
    const r = new RPReLU(2);
    r.shiftIn.assign(tf.tensor1d([1, 0]));
    r.slope.assign(tf.tensor1d([0.25, 0.5]));
    r.shiftOut.assign(tf.tensor1d([0, 3]));
    // Channel 0: y = 0 → 0.25·(0 − 1) + 0; y = 3 → 2. Channel 1: y = −2 → 0.5·(−2) + 3; y = 1 → 4.
    expect(Array.from(r.forward(tf.tensor2d([[0, -2], [3, 1]])).dataSync())).toEqual([-0.25, 2, 2, 4]);
    const fresh = new RPReLU(3);
    const v = tf.tensor2d([[-1, 0.5, 2]]);
    expect(maxDiff(fresh.forward(v), v)).toBe(0);
    [conv, s, r, fresh].forEach((m) => m.dispose());
  });

  it('binarizeUNet binarizes every conv and linear outside the FP set, with bit-widths for accounting and copies', () => {
    const unet = new UNet(TINY_UNET, { rng: new Rng(4, 't') });
    const fpPaths = unet.select('**', { where: (m) => m instanceof Conv2d || m instanceof Linear }).map(([p]) => p);
    const sites = binarizableLayers(unet);
    expect(sites.map((s) => s.path)).toEqual(fpPaths.filter((p) => !p.startsWith('time.') && p !== 'stem' && !p.startsWith('out.')));
    expect(DEFAULT_KEEP_FP).toEqual(['time.**', 'stem', 'out.**']);
    expect(resolutionGroup('up.1.res.0.conv1')).toBe(1);
    expect(resolutionGroup('mid.attn.q')).toBe('mid');
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 5);
    const t = tf.tensor1d([10, 900]);
    const fp = unet.forward(x, t);
    const parts = binarizeUNet(unet, {
      parts: ({ layer, group }) => ({
        weight: group === 0 ? new MultiBasisWeightQuantizer(layer.weight.shape[layer.weight.rank - 1]) : new SignWeightQuantizer(layer.weight.shape[layer.weight.rank - 1], 'learned'),
        input: new LsqActivationQuantizer(4),
      }),
      attentionBits: 4,
    });
    expect([...parts.layers.keys()]).toEqual(sites.map((s) => s.path));
    expect([...parts.attention.keys()]).toEqual(['down.1.attn.0.attn', 'mid.attn.attn', 'up.1.attn.0.attn', 'up.1.attn.1.attn']);
    const bits = binarizedBitWidths(parts);
    expect(bits['down.0.res.0.conv1']).toEqual({ weightBits: 2, activationBits: 4 });
    expect(bits['down.1.res.0.conv1']).toEqual({ weightBits: 1, activationBits: 4 });
    expect(bits['mid.attn.qk']).toEqual({ weightBits: 4, activationBits: 4 });
    expect(bits.stem).toBeUndefined();
    const y = unet.forward(x, t);
    expect(maxDiff(y, fp)).toBeGreaterThan(1e-3);
    // A later method's copy has the same structure, state and output (quantizers already initialised).
    const copy = copyUNet(unet);
    expect(copy.getModule('down.0.res.0.conv1')).toBeInstanceOf(BinaryLayer);
    expect(copy.getModule('mid.attn.attn')).toBeInstanceOf(LsqAttention);
    const yc = copy.forward(x, t);
    expect(maxDiff(yc, y)).toBe(0);
    tf.dispose([x, t, fp, y, yc]);
    unet.dispose();
    (copy as unknown as AnyModule).dispose();
  });
});
