import { initEngine } from '@diffpress/core';
import { checkMethodContract, tinyStageContext } from '@diffpress/diffusion';
import { ptqNaive } from '../ptq-naive/ptq-naive';
import { SplitQuantConv2d } from '../quant/layers';
import { qDiffusion } from './q-diffusion';

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
      // Every unit's reconstruction loss fell.
      const recon = qd.diagnostics?.find((d) => d.id === 'q-diffusion.reconstruction-weights');
      expect(recon?.rows.length).toBeGreaterThan(5);
      const improved = (recon?.rows ?? []).filter((r) => (r[2] as number) <= (r[1] as number)).length;
      expect(improved).toBeGreaterThanOrEqual(Math.ceil(0.8 * (recon?.rows.length ?? 0)));
      naive.model?.unet.dispose();
      qd.model?.unet.dispose();
    }
    ctx.model.unet.dispose();
  }, 180_000);

  it('splits the decoder shortcuts and reports their measured range ratio', async () => {
    const ctx = tinyStageContext();
    const r = await qDiffusion.apply(ctx, qDiffusion.config.parse({ ...small, weights: { iters: 0 }, activations: { learn: false, initRows: 16 } }));
    const unet = r.model?.unet;
    if (!unet) throw new Error('no model');
    const shortcuts = unet.resBlockNames().filter((n) => n.startsWith('up.')).map((n) => unet.getModule(`${n}.shortcut`));
    expect(shortcuts.length).toBeGreaterThan(0);
    shortcuts.forEach((s) => expect(s).toBeInstanceOf(SplitQuantConv2d));
    const ratios = r.diagnostics?.find((d) => d.id === 'q-diffusion.shortcut-range-ratio');
    expect(ratios?.rows).toHaveLength(shortcuts.length);
    ratios?.rows.forEach((row) => expect(row[3]).toBeCloseTo((row[1] as number) / (row[2] as number), 6));
    unet.dispose();
    ctx.model.unet.dispose();
  }, 60_000);
});
