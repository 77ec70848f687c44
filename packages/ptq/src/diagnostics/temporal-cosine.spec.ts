import * as tf from '@tensorflow/tfjs';
import { initEngine, withCallContext } from '@diffpress/core';
import { UNet, samplerTimes, tinyStageContext } from '@diffpress/diffusion';
import { tfmq } from '../tfmq/tfmq';
import { temporalFeatureCosine } from './temporal-cosine';

/** The temporal feature of `block` at model time `mt`, called at sampler step `step` (host copy). */
function feature(unet: UNet, mt: number, step: number, block: string): number[] {
  return withCallContext({ stepIndices: [step] }, () =>
    tf.tidy(() => {
      const f = unet.temporalFeatures(unet.timeEmbedding(tf.tensor1d([mt])));
      return Array.from(f[block].dataSync());
    }),
  );
}

describe('temporalFeatureCosine', () => {
  beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

  it('reports cos(emb_t,i, êmb_t,i) for every sampler step t and residual block i, and summaries that agree with the grid', async () => {
    const ctx = tinyStageContext();
    // Per-step activation ranges on every quantizer (FSC, scope all), time MLP quantized too: the cosine depends on t.
    const r = await tfmq.apply(ctx, tfmq.config.parse({ weightBits: 3, keepFp: 'none', calibration: { perStep: 6 }, weights: { iters: 0 }, diagnostics: { trajectories: 0 } }));
    const quant = r.model;
    if (!quant) throw new Error('no model');
    const tables = temporalFeatureCosine('x', quant, ctx.model, ctx.sampler);
    const [grid, perStep, perBlock] = ['x.temporal-cosine', 'x.temporal-cosine-per-step', 'x.temporal-cosine-per-block'].map((id) => tables.find((t) => t.id === id));
    if (!grid || !perStep || !perBlock) throw new Error(`missing tables: ${tables.map((t) => t.id).join(', ')}`);
    const blocks = ctx.model.unet.resBlockNames();
    const times = samplerTimes(ctx.model.schedule, ctx.sampler);
    expect(grid.columns).toEqual(['step', 't', ...blocks]);
    expect(grid.rows.map((row) => row.slice(0, 2))).toEqual(times.map((t, s) => [s, t]));
    // Each cell by hand: the block's feature under both networks at that step, and their cosine.
    times.forEach((t, s) => {
      const mt = ctx.model.schedule.modelTime(t);
      blocks.forEach((b, i) => {
        const a = feature(ctx.model.unet, mt, s, b);
        const q = feature(quant.unet, mt, s, b);
        const dot = a.reduce((acc, v, k) => acc + v * q[k], 0);
        const cos = dot / Math.sqrt(a.reduce((acc, v) => acc + v * v, 0) * q.reduce((acc, v) => acc + v * v, 0));
        expect(grid.rows[s][2 + i]).toBeCloseTo(cos, 5);
      });
    });
    const cells = grid.rows.map((row) => row.slice(2) as number[]);
    // Quantization really moves the features, and differently per step.
    expect(Math.min(...cells.flat())).toBeLessThan(0.9999);
    expect(new Set(cells.map((row) => row[0].toFixed(6))).size).toBeGreaterThan(1);
    cells.forEach((row, s) => {
      expect(perStep.rows[s][2]).toBeCloseTo(Math.min(...row), 12);
      expect(perStep.rows[s][3]).toBeCloseTo(row.reduce((a, b) => a + b, 0) / row.length, 12);
    });
    blocks.forEach((b, i) => {
      const col = cells.map((row) => row[i]);
      expect(perBlock.rows[i]).toEqual([b, Math.min(...col), expect.closeTo(col.reduce((a, c) => a + c, 0) / col.length, 12)]);
    });
    quant.unet.dispose();
    ctx.model.unet.dispose();
  }, 60_000);
});
