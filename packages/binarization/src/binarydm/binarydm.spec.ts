import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, stateToRaw, writeSafetensorsFile } from '@diffpress/core';
import { checkMethodContract, loadDiffusionModel, tinyPipelineModel, tinyStageContext } from '@diffpress/diffusion';
import { BinaryLayer } from '../layers/binary-layer';
import { LsqAttention } from '../layers/lsq-attention';
import { MultiBasisWeightQuantizer, SignWeightQuantizer } from '../quantizers/weight-quantizers';
import { tinyImages } from '../testing';
import { binarydm, ebbRegularizer, progressiveOrder, progressiveSchedule } from './binarydm';

const train = { steps: 6, batchSize: 4, lr: 1e-3, monitorEvery: 3, monitorSamples: 8 };

describe('binarydm', () => {
  let work: string;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'binarydm-'));
  });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  it('keeps the method contract (vanilla W1A32, LMB W1A4 with LRM and progressive initialisation, EBB with MSE distillation)', async () => {
    await checkMethodContract(binarydm, {
      data: tinyImages(),
      configs: [
        { basis: 'vanilla', distill: { kind: 'none' }, train },
        { basis: 'lmb', activationBits: 4, distill: { lambda: 0.1 }, train },
        { basis: 'ebb', activationBits: 8, distill: { kind: 'mse', lambda: 0.1 }, train },
      ],
    });
  }, 240_000);

  it('puts the multi-basis binarizer in levels 0–1 only, LSQ inputs and attention quantizers at W1A4', async () => {
    const parent = tinyPipelineModel(1);
    const r = await binarydm.apply(tinyStageContext(parent, { workDir: work, data: tinyImages() }), binarydm.config.parse({ activationBits: 4, multiBasis: { levels: [0] }, train }));
    const unet = r.model?.unet;
    if (!unet) throw new Error('no model');
    const at = (p: string): BinaryLayer => unet.getModule(p) as unknown as BinaryLayer;
    expect(at('down.0.res.0.conv1').weightQuant).toBeInstanceOf(MultiBasisWeightQuantizer);
    expect(at('up.0.res.1.conv2').weightQuant).toBeInstanceOf(MultiBasisWeightQuantizer);
    expect(at('down.1.res.0.conv1').weightQuant).toBeInstanceOf(SignWeightQuantizer);
    expect(at('mid.res1.emb').weightQuant).toBeInstanceOf(SignWeightQuantizer);
    expect(unet.getModule('stem')).not.toBeInstanceOf(BinaryLayer);
    expect(unet.getModule('time.linear1')).not.toBeInstanceOf(BinaryLayer);
    expect(unet.getModule('mid.attn.attn')).toBeInstanceOf(LsqAttention);
    expect(r.bitWidths?.['down.0.res.0.conv1']).toEqual({ weightBits: 2, activationBits: 4 });
    expect(r.bitWidths?.['down.1.res.0.conv1']).toEqual({ weightBits: 1, activationBits: 4 });
    const curve = r.diagnostics?.find((d) => d.id === 'binarydm.training-curve');
    expect(curve?.rows.map((row) => row[0])).toEqual([3, 6]);
    const cost = r.diagnostics?.find((d) => d.id === 'binarydm.training-cost');
    expect(cost?.rows[0][0]).toBe(6);
    expect(cost?.rows[0][4]).toBe('lrm (channel, K = 4)');
    unet.dispose();
    parent.unet.dispose();
  }, 60_000);

  it('progressive initialisation binarizes the middle block first, then the levels outward, attention last', () => {
    expect(progressiveOrder([0, 'mid', 1, 2, 1])).toEqual(['mid', 2, 1, 0]);
    const parent = tinyPipelineModel(1);
    const layer = (g: string) => ({ binarized: true, g });
    const parts = {
      layers: new Map([['down.0.res.0.conv1', layer('0')], ['up.1.res.0.conv1', layer('1')], ['mid.res1.conv1', layer('mid')]] as const),
      attention: new Map([['mid.attn.attn', { quantized: true }]]),
    } as unknown as Parameters<typeof progressiveSchedule>[0];
    const schedule = progressiveSchedule(parts, 2);
    const state = (): boolean[] => [...parts.layers.values()].map((l) => l.binarized).concat([...parts.attention.values()].map((a) => a.quantized));
    schedule(0);
    expect(state()).toEqual([false, false, true, false]);
    schedule(3);
    expect(state()).toEqual([false, true, true, false]);
    schedule(5);
    expect(state()).toEqual([true, true, true, false]);
    schedule(6);
    expect(state()).toEqual([true, true, true, true]);
    parent.unet.dispose();
  });

  it('EBB removes the second basis after training (one bit per weight)', async () => {
    const parent = tinyPipelineModel(1);
    const config = binarydm.config.parse({ basis: 'ebb', distill: { kind: 'none' }, train: { ...train, steps: 4, lr: 1e-2, monitorEvery: 2 } });
    const r = await binarydm.apply(tinyStageContext(parent, { workDir: work, data: tinyImages() }), config);
    const unet = r.model?.unet;
    if (!unet) throw new Error('no model');
    const q = (unet.getModule('down.0.res.0.conv1') as unknown as BinaryLayer).weightQuant as MultiBasisWeightQuantizer;
    expect(q.useSecondBasis).toBe(false);
    expect(r.bitWidths?.['down.0.res.0.conv1']).toEqual({ weightBits: 1, activationBits: 32 });
    unet.dispose();
    parent.unet.dispose();
  }, 60_000);

  it('a shipped student is loaded instead of trained: same outputs, its recorded config, a parent check', async () => {
    const parent = tinyPipelineModel(1);
    const config = binarydm.config.parse({ basis: 'ebb', activationBits: 4, train });
    const trained = await binarydm.apply(tinyStageContext(parent, { workDir: path.join(work, 'train'), data: tinyImages() }), config);
    const unet = trained.model?.unet;
    if (!unet) throw new Error('no model');
    const dir = path.join(work, 'shipped');
    fs.mkdirSync(dir);
    writeSafetensorsFile(path.join(dir, 'model.safetensors'), stateToRaw(unet));
    const history = [{ method: 'binarydm', version: binarydm.version, config: JSON.parse(JSON.stringify(config)), state: trained.state ?? null }];
    fs.writeFileSync(path.join(dir, 'compression-state.json'), JSON.stringify({ format: 1, base: 'file:x', history, bitWidths: trained.bitWidths }));
    fs.writeFileSync(path.join(dir, 'student.json'), JSON.stringify({ base: 'tiny', recipe: 'test', cell: 'ebb W1A4', seed: 0, diagnostics: trained.diagnostics }));
    // The row's other fields are ignored: the recorded config defines the student.
    const loaded = await binarydm.apply(tinyStageContext(tinyPipelineModel(1), { workDir: path.join(work, 'load') }), binarydm.config.parse({ pretrained: dir }));
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 9);
    const t = tf.tensor1d([20, 700]);
    const [a, b] = [unet.forward(x, t), loaded.model?.unet.forward(x, t) as tf.Tensor];
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])).toBe(0);
    expect(loaded.bitWidths).toEqual(trained.bitWidths);
    expect(loaded.diagnostics?.map((d) => d.id)).toEqual(trained.diagnostics?.map((d) => d.id));
    const other = { ...tinyPipelineModel(1), id: 'other' };
    await expect(binarydm.apply(tinyStageContext(other, { workDir: path.join(work, 'x') }), binarydm.config.parse({ pretrained: dir }))).rejects.toThrow(/trained from tiny, but this step's parent is other/);
    tf.dispose([x, t, a, b]);
    [unet, loaded.model?.unet, parent.unet, other.unet].forEach((u) => u?.dispose());
  }, 60_000);

  it('the shipped W1A4 student (models/unet-mnist-s-eps-binarydm-w1a4) loads onto its FP model and runs', async () => {
    const fp = { ...loadDiffusionModel('unet-mnist-s-eps'), id: 'unet-mnist-s-eps' };
    const r = await binarydm.apply(tinyStageContext(fp, { workDir: path.join(work, 'shipped') }), binarydm.config.parse({ pretrained: 'unet-mnist-s-eps-binarydm-w1a4' }));
    const unet = r.model?.unet;
    if (!unet) throw new Error('no model');
    expect(Object.values(r.bitWidths ?? {}).filter((b) => b.weightBits === 1 && b.activationBits === 4)).toHaveLength(89);
    expect(r.diagnostics?.map((d) => d.id)).toEqual(['binarydm.training-curve', 'binarydm.training-cost']);
    const total = tf.tidy(() => tf.sum(tf.abs(unet.forward(tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 3), tf.tensor1d([500, 20])))).dataSync()[0]);
    expect(Number.isFinite(total) && total > 0).toBe(true);
    unet.dispose();
    fp.unet.dispose();
  }, 60_000);

  it("EBB's regulariser is τ·mean_layers(mean_c α₂) and its gradient is τ/(L·C_l) on every α₂ entry", () => {
    const a = new MultiBasisWeightQuantizer(2);
    const b = new MultiBasisWeightQuantizer(4);
    a.alpha2.assign(tf.tensor1d([1, 3]));
    b.alpha2.assign(tf.tensor1d([0, 0, 4, 4]));
    const { value, grads } = tf.variableGrads(() => ebbRegularizer([a, b], 0.09), [a.alpha2, b.alpha2]);
    // τ·((1 + 3)/2 + 8/4)/2 = 0.09·2.
    expect(value.dataSync()[0]).toBeCloseTo(0.18, 6);
    Array.from(grads[a.alpha2.name].dataSync()).forEach((g) => expect(g).toBeCloseTo(0.09 / 2 / 2, 7));
    Array.from(grads[b.alpha2.name].dataSync()).forEach((g) => expect(g).toBeCloseTo(0.09 / 2 / 4, 7));
    tf.dispose([value, ...Object.values(grads)]);
    [a, b].forEach((m) => m.dispose());
  }, 60_000);
});
