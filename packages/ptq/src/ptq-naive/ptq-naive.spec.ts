import * as tf from '@tensorflow/tfjs';
import { AnyModule, Conv2d, UniformQuantizer, WeightLayer, WeightLayerWrapper, channelRange, fakeQuantize, initEngine } from '@diffpress/core';
import { PipelineModel, checkMethodContract, tinyPipelineModel, tinyStageContext, unetLayerInventory } from '@diffpress/diffusion';
import { accountEfficiency } from '@diffpress/eval';
import { QuantLayer, QuantScaledDotProductAttention } from '../quant/layers';
import { ptqNaive } from './ptq-naive';

/** Another method's wrapper of a conv: its output plus a per-channel shift. */
class ShiftedConv extends WeightLayerWrapper {
  readonly shift = this.registerBuffer('shift', tf.linspace(-0.5, 0.5, this.weight.shape[3] as number));

  forwardWith(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(this.inner.forwardWith(x, w), this.shift));
  }

  protected rewrap(inner: WeightLayer & AnyModule): ShiftedConv {
    return new ShiftedConv(inner);
  }
}

const WRAPPED = 'down.0.res.0.conv1';

/** The tiny model with {@link WRAPPED} wrapped in a {@link ShiftedConv}, as an earlier method would leave it. */
function wrappedModel(): PipelineModel {
  const m = tinyPipelineModel(1);
  m.unet.replace(WRAPPED, new ShiftedConv(m.unet.getModule(WRAPPED) as unknown as WeightLayer & AnyModule) as unknown as AnyModule);
  return m;
}

describe('ptq-naive', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('keeps the method contract', async () => {
    await checkMethodContract(ptqNaive, {
      configs: [
        { diagnostics: { trajectories: 2 } },
        { weightBits: 4, activationBits: 32, keepFp: 'tfmq', diagnostics: { trajectories: 0 } },
        // softmaxBits 32: the softmax output stays FP (no quantizer), through validation, apply, restore and export.
        { weightBits: 8, activationBits: 8, softmaxBits: 32, diagnostics: { trajectories: 0 } },
      ],
    });
  }, 120_000);

  it('rounds every weight channel to its min-max grid and reports the bit-widths of every quantized layer', async () => {
    const ctx = tinyStageContext();
    const result = await ptqNaive.apply(ctx, ptqNaive.config.parse({ weightBits: 2, activationBits: 8, diagnostics: { trajectories: 0 } }));
    const unet = result.model?.unet;
    if (!unet) throw new Error('no model');
    const layer = unet.getModule('down.0.res.0.conv1');
    expect(layer).toBeInstanceOf(QuantLayer);
    const ql = layer as QuantLayer;
    const w = ql.effectiveWeight();
    const values = w.dataSync();
    const out = w.shape[3] as number;
    const fpw = ql.layer.weight.dataSync();
    for (let c = 0; c < out; c++) {
      const levels = new Set<number>();
      let mn = Infinity;
      let mx = -Infinity;
      for (let i = c; i < values.length; i += out) {
        levels.add(Math.round(values[i] * 1e6));
        mn = Math.min(mn, fpw[i]);
        mx = Math.max(mx, fpw[i]);
      }
      expect(levels.size).toBeLessThanOrEqual(4);
      // Min-max: the grid reaches both ends of the (0-widened) range to within half a step.
      const step = (Math.max(mx, 0) - Math.min(mn, 0)) / 3;
      expect(Math.max(...Array.from({ length: values.length / out }, (_, k) => values[c + k * out]))).toBeGreaterThan(mx - step / 2 - 1e-6);
    }
    expect(result.bitWidths?.['down.0.res.0.conv1']).toEqual({ weightBits: 2, activationBits: 8 });
    expect(result.bitWidths?.['stem']).toEqual({ weightBits: 2, activationBits: 8 });
    expect(result.bitWidths?.['down.1.attn.0.qk']).toEqual({ weightBits: 8, activationBits: 8 });
    // Every bit-width entry names a layer of the accounting inventory, so each one is priced.
    const inventory = new Set(unetLayerInventory(unet.plan).map((l) => l.path));
    Object.keys(result.bitWidths ?? {}).forEach((k) => expect(inventory).toContain(k));
    const fp = accountEfficiency(unetLayerInventory(unet.plan), {});
    const q = accountEfficiency(unetLayerInventory(unet.plan), { bits: new Map(Object.entries(result.bitWidths ?? {})) });
    expect(q.sizeBytes).toBeLessThan(fp.sizeBytes / 4);
    expect(q.ops).toBeLessThan(fp.ops);
    // The parent is untouched.
    expect(ctx.model.unet.getModule('down.0.res.0.conv1')).not.toBeInstanceOf(QuantLayer);
    w.dispose();
    unet.dispose();
    ctx.model.unet.dispose();
  }, 60_000);

  it('W8A8 stays close to FP and W2A4 does not (teacher-forced ε-MSE table), leaving no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const ctx = tinyStageContext();
    const mse = async (raw: Record<string, unknown>): Promise<number> => {
      const r = await ptqNaive.apply(ctx, ptqNaive.config.parse({ ...raw, diagnostics: { trajectories: 4 } }));
      const table = r.diagnostics?.find((d) => d.id === 'ptq-naive.eps-mse-per-step');
      r.model?.unet.dispose();
      if (!table) throw new Error('no ε-MSE table');
      expect(table.rows).toHaveLength(4);
      return table.rows.reduce((s, row) => s + (row[2] as number), 0) / table.rows.length;
    };
    const w8 = await mse({ weightBits: 8, activationBits: 8 });
    const w2 = await mse({ weightBits: 2, activationBits: 4 });
    expect(w8).toBeLessThan(w2 / 10);
    ctx.model.unet.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('softmaxBits 32 leaves the attention probabilities unquantized (no softmax quantizer, FP in the accounting)', async () => {
    const ctx = tinyStageContext();
    const result = await ptqNaive.apply(ctx, ptqNaive.config.parse({ weightBits: 8, activationBits: 8, softmaxBits: 32, diagnostics: { trajectories: 0 } }));
    const unet = result.model?.unet;
    if (!unet) throw new Error('no model');
    const attentions = unet.namedModules().filter((e): e is [string, QuantScaledDotProductAttention] => e[1] instanceof QuantScaledDotProductAttention);
    expect(attentions.length).toBeGreaterThan(0);
    for (const [, a] of attentions) {
      expect(a.softmaxQuant).toBeNull();
      // q, k, v are calibrated (Δ moved off its unset value 1).
      expect(a.queryQuant.delta.dataSync()[0]).not.toBe(1);
    }
    expect(result.bitWidths?.['down.1.attn.0.av']).toEqual({ weightBits: 32, activationBits: 8 });
    unet.dispose();
    ctx.model.unet.dispose();
  }, 60_000);

  it('quantizes a conv another method wrapped: the output is the wrapper around the quantized conv (hand-composed)', async () => {
    const ctx = tinyStageContext(wrappedModel());
    const result = await ptqNaive.apply(ctx, ptqNaive.config.parse({ weightBits: 4, activationBits: 8, diagnostics: { trajectories: 0 } }));
    const unet = result.model?.unet;
    if (!unet) throw new Error('no model');
    const q = unet.getModule(WRAPPED) as unknown as QuantLayer;
    expect(q).toBeInstanceOf(QuantLayer);
    expect(q.layer).toBeInstanceOf(ShiftedConv);
    const parentWrapper = ctx.model.unet.getModule(WRAPPED) as unknown as ShiftedConv;
    // A copy: the parent keeps its own wrapper and variables.
    expect(q.layer).not.toBe(parentWrapper);
    expect(q.layer.weight).not.toBe(parentWrapper.weight);
    expect(result.bitWidths?.[WRAPPED]).toEqual({ weightBits: 4, activationBits: 8 });
    // The weight grid is the inner conv's per-channel min-max range.
    const wq = q.weightQuant as UniformQuantizer;
    const range = channelRange(parentWrapper.weight, true);
    const levels = wq.levels.hi;
    Array.from(wq.delta.dataSync()).forEach((d, c) => expect(d).toBeCloseTo((Math.max(range.max[c], 0) - Math.min(range.min[c], 0)) / levels, 6));
    const x = tf.randomNormal([2, 8, 8, 8], 0, 1, 'float32', 11);
    const y = q.forward(x);
    const reference = tf.tidy(() => {
      const iq = q.inputQuant as UniformQuantizer;
      const xq = fakeQuantize(x, iq.delta, iq.zero, iq.levels);
      const w = fakeQuantize(parentWrapper.weight, wq.delta, wq.zero, wq.levels);
      const conv = parentWrapper.inner as unknown as Conv2d;
      return tf.add(tf.add(tf.conv2d(xq as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), conv.bias as tf.Tensor), parentWrapper.shift);
    });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(y, reference))).dataSync()[0])).toBeLessThan(1e-5);
    tf.dispose([x, y, reference]);
    unet.dispose();
    ctx.model.unet.dispose();
  }, 60_000);

  it('keeps the method contract on a model whose layer another method wrapped', async () => {
    await checkMethodContract(ptqNaive, { model: wrappedModel, configs: [{ weightBits: 4, activationBits: 8, diagnostics: { trajectories: 0 } }] });
  }, 120_000);

  it('refuses a parent whose replaced layers cannot be copied, naming one', async () => {
    const ctx = tinyStageContext();
    const once = await ptqNaive.apply(ctx, ptqNaive.config.parse({ activationBits: 32, diagnostics: { trajectories: 0 } }));
    if (!once.model) throw new Error('no model');
    await expect(ptqNaive.apply(tinyStageContext(once.model), ptqNaive.config.parse({ activationBits: 32, diagnostics: { trajectories: 0 } }))).rejects.toThrow(
      /cannot copy '[\w.]+' \(QuantLayer\): it replaced a (Conv2d|Linear).*copyModule\(\)/,
    );
    once.model.unet.dispose();
    ctx.model.unet.dispose();
  }, 60_000);
});
