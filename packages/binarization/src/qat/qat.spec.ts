import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { copyUNet, tinyPipelineModel, tinyStageContext } from '@diffpress/diffusion';
import { binarizeUNet } from '../layers/binarize-unet';
import { LsqActivationQuantizer } from '../quantizers/activation-quantizers';
import { SignWeightQuantizer } from '../quantizers/weight-quantizers';
import { tinyImages } from '../testing';
import { QatTrainConfig, readCurve, runQat } from './qat';

const config: QatTrainConfig = {
  steps: 6, batchSize: 4, lr: 3e-3, weightDecay: 0, warmupSteps: 0, decay: 'cosine', clipGradNorm: 1, monitorEvery: 2, monitorSamples: 8,
};
const lrm = { kind: 'lrm' as const, lambda: 0.1, axis: 'channel' as const, factor: 4 };

describe('runQat', () => {
  let work: string;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'qat-'));
  });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  /** A W1A4 student of the tiny model: its quantizers initialise at the first forward (state that must survive resumes). */
  function student(parent = tinyPipelineModel(1)) {
    const unet = copyUNet(parent.unet);
    binarizeUNet(unet, { parts: ({ layer }) => ({ weight: new SignWeightQuantizer(layer.weight.shape[layer.weight.rank - 1], 'learned'), input: new LsqActivationQuantizer(4) }) });
    return { parent, unet };
  }

  it('a run killed after a checkpoint and resumed ends with the same weights as an uninterrupted one', async () => {
    const a = student();
    const ctxA = tinyStageContext(a.parent, { workDir: path.join(work, 'a'), data: tinyImages() });
    ctxA.checkpoints.every = 3;
    const ra = await runQat(ctxA, a.unet, config, lrm);
    expect(ra.train.finished).toBe(true);
    expect(ra.curve.map((p) => p.step)).toEqual([2, 4, 6]);
    expect(ra.lrmRanks['mid.res1']).toEqual([16, 4]);

    // Run B: the same up to the checkpoint at update 3, then "killed" (the later checkpoint and log lines dropped).
    const b = student();
    const dirB = path.join(work, 'b');
    fs.cpSync(path.join(work, 'a'), dirB, { recursive: true });
    // The trainer's folder is the step's checkpoints folder, with its checkpoints in a sub-folder of it.
    const trainerDir = path.join(dirB, 'checkpoints');
    fs.rmSync(path.join(trainerDir, 'checkpoints', 'step-0000006'), { recursive: true });
    fs.writeFileSync(path.join(trainerDir, 'latest.json'), JSON.stringify({ step: 3, path: path.join('checkpoints', 'step-0000003') }));
    const ctxB = tinyStageContext(b.parent, { workDir: dirB, data: tinyImages() });
    ctxB.checkpoints.every = 3;
    const rb = await runQat(ctxB, b.unet, config, lrm);
    expect(rb.train.resumedFrom).toBe(3);
    const wa = a.unet.stateDict();
    for (const [name, v] of b.unet.stateDict()) expect([name, tf.tidy(() => tf.max(tf.abs(tf.sub(v, wa.get(name) as tf.Tensor))).dataSync()[0])]).toEqual([name, 0]);
    // The curves agree (the heap column is the process's, not the run's).
    const losses = (c: typeof ra.curve) => c.map(({ heapMiB: _h, ...rest }) => rest);
    expect(losses(rb.curve)).toEqual(losses(ra.curve));
    expect(ra.curve.every((p) => (p.heapMiB as number) > 0)).toBe(true);
    [a, b].forEach((s) => {
      s.unet.dispose();
      s.parent.unet.dispose();
    });
  }, 120_000);

  it('lowers the monitor loss of a binarized student and records the curve in the log', async () => {
    const s = student();
    const ctx = tinyStageContext(s.parent, { workDir: work, data: tinyImages(64) });
    const r = await runQat(ctx, s.unet, { ...config, steps: 40, monitorEvery: 10, monitorSamples: 32, batchSize: 8 }, { ...lrm, kind: 'none' });
    const curve = readCurve(path.join(work, 'checkpoints', 'log.jsonl'));
    expect(curve).toEqual(r.curve);
    expect(curve.map((p) => p.monitorDistill)).toEqual([0, 0, 0, 0]);
    expect(curve[3].monitorLoss).toBeLessThan(curve[0].monitorLoss);
    expect(r.secondsPerUpdate).toBeGreaterThan(0);
    expect(r.heapBytes).toBeGreaterThan(0);
    s.unet.dispose();
    s.parent.unet.dispose();
  }, 120_000);
});
