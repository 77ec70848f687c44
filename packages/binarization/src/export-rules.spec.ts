import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { DiffusionMethod, OnnxUNet, tinyPipelineModel, tinyStageContext } from '@diffpress/diffusion';
import { dorefa, lsq, reactnet, xnor, xnorLearnableK, xnorpp } from './baselines/baselines';
import { binarydm } from './binarydm/binarydm';
import { registerBinarizationExportRules } from './export-rules';
import { tinyImages } from './testing';

const train = { steps: 2, batchSize: 4, lr: 1e-2, monitorEvery: 2, monitorSamples: 4 };

/** Max |a − b| relative to max |a|. */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1e-12, tf.max(tf.abs(a)).dataSync()[0]));
}

describe('binarization ONNX export', () => {
  let work: string;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
    registerBinarizationExportRules();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'bin-export-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  // Each trained briefly so that the learned parameters (α, thresholds, K filters, Γ, RPReLU, LSQ steps) are off
  // their initial values. Sign activations make the comparison sensitive to rounding: a pre-activation within ~1e-7
  // of 0 may flip; none does on these inputs, so the outputs agree to float rounding. A dynamic LSQ step is a mean
  // over the batch, summed in another order by onnxruntime than by tfjs: its last bits differ, a few values then
  // round to the neighbouring level, and the output differs by about one 8-bit level (measured 1.3e-2 relative).
  it.each([
    ['binarydm lmb W1A4', binarydm, { basis: 'lmb', activationBits: 4 }],
    ['binarydm ebb W1A8 (dynamic LSQ)', binarydm, { basis: 'ebb', activationBits: 8, dynamicActivationInit: true }],
    ['binarydm vanilla W1A32', binarydm, { basis: 'vanilla', distill: { kind: 'none' } }],
    ['xnor', xnor, {}],
    ['xnor-learnable-k', xnorLearnableK, {}],
    ['dorefa', dorefa, {}],
    ['xnorpp', xnorpp, {}],
    ['reactnet', reactnet, {}],
    ['lsq W2A4', lsq, { weightBits: 2 }],
  ] as Array<[string, DiffusionMethod<unknown>, Record<string, unknown>]>)('%s: onnxruntime equals the tfjs forward', async (name, method, config) => {
    const tolerance = config.dynamicActivationInit ? 5e-2 : 1e-4;
    const parent = tinyPipelineModel(1);
    const r = await method.apply(tinyStageContext(parent, { workDir: path.join(work, name.replace(/\W+/g, '-')), data: tinyImages() }), method.config.parse({ ...config, train }));
    const unet = r.model?.unet;
    if (!unet) throw new Error('no model');
    const x = tf.randomNormal([3, 8, 8, 1], 0, 1, 'float32', 5);
    const t = tf.tensor1d([999, 3, 500]);
    const ref = unet.forward(x, t);
    const ort = new OnnxUNet(unet);
    const got = ort.forward(x, t);
    expect(relDiff(ref, got)).toBeLessThan(tolerance);
    ort.dispose();
    tf.dispose([x, t, ref, got]);
    unet.dispose();
    parent.unet.dispose();
  }, 60_000);
});
