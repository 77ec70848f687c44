import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { checkMethodContract, tinyStageContext, unetLayerInventory } from '@diffpress/diffusion';
import { accountEfficiency } from '@diffpress/eval';
import { QuantLayer } from '../quant/layers';
import { ptqNaive } from './ptq-naive';

describe('ptq-naive', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('keeps the method contract', async () => {
    await checkMethodContract(ptqNaive, { configs: [{ diagnostics: { trajectories: 2 } }, { weightBits: 4, activationBits: 32, keepFp: 'tfmq', diagnostics: { trajectories: 0 } }] });
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

  it('W8A8 stays close to FP and W2A4 does not (teacher-forced ε-MSE table)', async () => {
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
    expect(tf.memory().numTensors).toBeLessThan(10_000);
  }, 60_000);

  it('refuses a parent whose layers were already replaced, naming an entry it does not know', async () => {
    const ctx = tinyStageContext();
    const once = await ptqNaive.apply(ctx, ptqNaive.config.parse({ activationBits: 32, diagnostics: { trajectories: 0 } }));
    if (!once.model) throw new Error('no model');
    await expect(ptqNaive.apply(tinyStageContext(once.model), ptqNaive.config.parse({ activationBits: 32, diagnostics: { trajectories: 0 } }))).rejects.toThrow(
      /quantization needs a plain UNet, but the model has \d+ entries a UNet does not \(e\.g\. '.*(layer|Quant).*'\): was it already compressed/,
    );
    once.model.unet.dispose();
    ctx.model.unet.dispose();
  }, 60_000);
});
