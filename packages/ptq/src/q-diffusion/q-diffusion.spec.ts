import { initEngine } from '@diffpress/core';
import { ResBlock, checkMethodContract, tinyStageContext } from '@diffpress/diffusion';
import { ptqNaive } from '../ptq-naive/ptq-naive';
import { SplitQuantConv2d } from '../quant/layers';
import { qDiffusion } from './q-diffusion';
import { calibrationBatch, calibrationSet } from '../calibration/calibration-set';
import { calibrationSpec } from '../common/config';
import { captureRows } from '../recon/capture';

/** Small budgets: the tiny model has 8×8 inputs, so every unit takes milliseconds per step. */
const small = { calibration: { steps: 4, perStep: 8 }, weights: { iters: 40, batchSize: 16 }, activations: { iters: 20, batchSize: 16, initRows: 16 }, diagnostics: { trajectories: 4 } };

function meanEpsMse(diagnostics: { id: string; rows: Array<Array<string | number | null>> }[] | undefined, id: string): number {
  const table = diagnostics?.find((d) => d.id === `${id}.eps-mse-per-step`);
  if (!table) throw new Error('no ε-MSE table');
  return table.rows.reduce((s, r) => s + (r[2] as number), 0) / table.rows.length;
}

describe('q-diffusion', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('keeps the method contract', async () => {
    await checkMethodContract(qDiffusion, {
      configs: [
        { ...small, weights: { iters: 6, batchSize: 8 }, activations: { iters: 4, batchSize: 8, initRows: 8 }, diagnostics: { trajectories: 2 } },
        { ...small, activationBits: 32, split: false, weights: { iters: 6, batchSize: 8, init: 'minmax' }, diagnostics: { trajectories: 0 } },
      ],
    });
  }, 180_000);

  it('reconstruction beats round-to-nearest: lower ε-MSE than ptq-naive at W3A32 and at W3A8', async () => {
    const ctx = tinyStageContext();
    for (const activationBits of [32, 8]) {
      const naive = await ptqNaive.apply(ctx, ptqNaive.config.parse({ weightBits: 3, activationBits, diagnostics: { trajectories: 4 } }));
      // Same min-max grid as the baseline, so only the reconstruction differs; a larger α learning rate makes up for
      // the 60 steps (the α's must move by ~0.5 to flip a rounding).
      const qd = await qDiffusion.apply(ctx, qDiffusion.config.parse({ ...small, weightBits: 3, activationBits, weights: { init: 'minmax', iters: 60, batchSize: 16, lr: 1e-2 } }));
      const [n, q] = [meanEpsMse(naive.diagnostics, 'ptq-naive'), meanEpsMse(qd.diagnostics, 'q-diffusion')];
      expect(q).toBeLessThan(n);
      // Most units' hard-rounded loss on the held-out rows fell below round-to-nearest's.
      const recon = qd.diagnostics?.find((d) => d.id === 'q-diffusion.reconstruction-weights');
      if (!recon) throw new Error('no reconstruction table');
      expect(recon.rows.length).toBeGreaterThan(5);
      const [before, after] = ['held-out loss before', 'held-out loss after'].map((c) => recon.columns.indexOf(c));
      const improved = recon.rows.filter((r) => (r[after] as number) < (r[before] as number)).length;
      expect(improved).toBeGreaterThanOrEqual(Math.ceil(0.8 * recon.rows.length));
      naive.model?.unet.dispose();
      qd.model?.unet.dispose();
    }
    ctx.model.unet.dispose();
  }, 180_000);

  it('splits the decoder shortcuts and reports the ranges of their two input halves as measured on the FP network', async () => {
    const ctx = tinyStageContext();
    const config = qDiffusion.config.parse({ ...small, weights: { iters: 0 }, activations: { learn: false, initRows: 16 } });
    const r = await qDiffusion.apply(ctx, config);
    const unet = r.model?.unet;
    if (!unet) throw new Error('no model');
    const blocks = unet.resBlockNames().filter((n) => n.startsWith('up.'));
    blocks.forEach((n) => expect(unet.getModule(`${n}.shortcut`)).toBeInstanceOf(SplitQuantConv2d));
    const table = r.diagnostics?.find((d) => d.id === 'q-diffusion.shortcut-range-ratio');
    expect(table?.rows.map((row) => row[0])).toEqual(blocks.map((n) => `${n}.shortcut`));
    // The reference: each shortcut's input captured on the FP parent over the whole calibration set (the table probes
    // up to 64 rows; this set has 32), split at the block's concatSplit, ranges taken by hand.
    const set = calibrationSet({ model: ctx.model, sampler: ctx.sampler, spec: calibrationSpec(config.calibration), seed: ctx.seed });
    expect(set.rows).toBeLessThanOrEqual(64);
    blocks.forEach((n, i) => {
      const split = (ctx.model.unet.getModule(n) as ResBlock).concatSplit as number;
      const [input] = captureRows(ctx.model.unet, `${n}.shortcut`, set.rows, (idx) => calibrationBatch(set, idx), 'inputs', 16);
      const channels = input.shape[input.shape.length - 1];
      const lo = [Infinity, Infinity];
      const hi = [-Infinity, -Infinity];
      input.data.forEach((v, k) => {
        const half = k % channels < split ? 0 : 1;
        lo[half] = Math.min(lo[half], v);
        hi[half] = Math.max(hi[half], v);
      });
      const [deep, skip] = [hi[0] - lo[0], hi[1] - lo[1]];
      const row = table?.rows[i] ?? [];
      expect(row[1]).toBeCloseTo(deep, 5);
      expect(row[2]).toBeCloseTo(skip, 5);
      expect(row[3]).toBeCloseTo(deep / skip, 5);
    });
    unet.dispose();
    ctx.model.unet.dispose();
  }, 60_000);
});
