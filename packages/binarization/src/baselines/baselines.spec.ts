import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { DiffusionMethod, checkMethodContract, tinyPipelineModel, tinyStageContext } from '@diffpress/diffusion';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ActivationScaleMap, RPReLU, StaticScale } from '../layers/output-scales';
import { BinaryLayer } from '../layers/binary-layer';
import { LsqAttention } from '../layers/lsq-attention';
import { LsqWeightQuantizer, SignWeightQuantizer } from '../quantizers/weight-quantizers';
import { SignActivation } from '../quantizers/activation-quantizers';
import { tinyImages } from '../testing';
import { dorefa, lsq, reactnet, xnor, xnorLearnableK, xnorpp } from './baselines';

const train = { steps: 2, batchSize: 4, lr: 1e-3, monitorEvery: 2, monitorSamples: 4 };

describe('binarization baselines', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it.each([xnor, xnorLearnableK, dorefa, xnorpp, reactnet] as DiffusionMethod<unknown>[])('$id keeps the method contract', async (method) => {
    await checkMethodContract(method, { data: tinyImages(), configs: [{ train }] });
  }, 120_000);

  it('lsq keeps the method contract at W4A4 and W2A32', async () => {
    await checkMethodContract(lsq as DiffusionMethod<unknown>, { data: tinyImages(), configs: [{ train }, { weightBits: 2, activationBits: 32, train }] });
  }, 120_000);

  it('each baseline builds its layers: scales, thresholds, RPReLU, LSQ attention and W1A1 bit-widths', async () => {
    const before = tf.memory().numTensors;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'baselines-'));
    const layerOf = async (method: DiffusionMethod<unknown>, config: Record<string, unknown> = {}) => {
      const parent = tinyPipelineModel(1);
      const r = await method.apply(tinyStageContext(parent, { workDir: path.join(work, method.id), data: tinyImages() }), method.config.parse({ train, ...config }));
      parent.unet.dispose();
      return r;
    };
    try {
      const x = await layerOf(xnor as DiffusionMethod<unknown>);
      const conv = x.model?.unet.getModule('down.0.res.0.conv1') as unknown as BinaryLayer;
      expect(conv.scale).toBeInstanceOf(ActivationScaleMap);
      expect((conv.weightQuant as SignWeightQuantizer).scale).toBe('channel-mean');
      expect(x.bitWidths?.['down.0.res.0.conv1']).toEqual({ weightBits: 1, activationBits: 1 });
      expect(x.bitWidths?.['mid.attn.qk']).toBeUndefined();
      const pp = await layerOf(xnorpp as DiffusionMethod<unknown>);
      const ppConv = pp.model?.unet.getModule('down.1.res.0.conv1') as unknown as BinaryLayer;
      expect(ppConv.scale).toBeInstanceOf(StaticScale);
      expect((ppConv.scale as StaticScale).beta?.shape).toEqual([4]);
      const r = await layerOf(reactnet as DiffusionMethod<unknown>);
      const rConv = r.model?.unet.getModule('down.0.res.0.conv1') as unknown as BinaryLayer;
      expect(rConv.post).toBeInstanceOf(RPReLU);
      expect((rConv.inputQuant as SignActivation).estimator).toBe('approx');
      expect((rConv.inputQuant as SignActivation).threshold?.shape).toEqual([8]);
      const l = await layerOf(lsq as DiffusionMethod<unknown>, { weightBits: 2 });
      expect((l.model?.unet.getModule('down.0.res.0.conv1') as unknown as BinaryLayer).weightQuant).toBeInstanceOf(LsqWeightQuantizer);
      expect(l.model?.unet.getModule('mid.attn.attn')).toBeInstanceOf(LsqAttention);
      expect(l.bitWidths?.['down.0.res.0.conv1']).toEqual({ weightBits: 2, activationBits: 4 });
      for (const m of [x, pp, r, l]) m.model?.unet.dispose();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});
