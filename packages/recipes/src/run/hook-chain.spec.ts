import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@diffpress/core';
import { PipelineModel, SamplingHook, loadDiffusionModel, sample, shippedModelsDir, tinyStageContext } from '@diffpress/diffusion';
import { jsonDigest, readCachedSamples } from '@diffpress/eval';
import { builtinRegistry } from '../registry/registry';
import { ValidatedRecipe } from '../recipe/validate';
import { ArtifactStore } from '../store/store';
import { validRecipe } from '../testing/valid-recipe';
import { toyCacheHook, toyCacheMethod } from '../testing/fixture-methods';
import { memoryLog } from './progress';
import { runRecipe } from './runner';

const registry = builtinRegistry().register(toyCacheMethod);

const TFMQ_CONFIG = { weightBits: 8, activationBits: 8, tiar: false, calibration: { perStep: 2 }, weights: { iters: 0 }, diagnostics: { trajectories: 0 } };
const CACHE_CONFIG = { branch: 2, interval: 2 };

const CHAIN = `name: chain
model: unet-mnist-s-eps
sample: { kind: ddim, steps: 4, batchSize: 8 }
pipeline:
  - method: tfmq
    config: ${JSON.stringify(TFMQ_CONFIG)}
  - method: toy-cache
    config: ${JSON.stringify(CACHE_CONFIG)}
eval: { samples: 4, metrics: [class-entropy], positions: [after:0, final], grid: 0, latency: false, floor: false }
`;

function recipe(text: string): ValidatedRecipe {
  return validRecipe(text, registry);
}

describe('sampling hooks chain across pipeline steps', () => {
  let tmp: string;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-chain-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('TFMQ (per-step quantizers) followed by a caching hook samples like the hand-composed chain, under a key naming both', async () => {
    const store = new ArtifactStore(path.join(tmp, 'store'));
    const summary = await runRecipe(recipe(CHAIN), { store, log: memoryLog() });
    expect(summary.failed).toEqual([]);
    const [afterTfmq, final] = summary.results[0].positions;
    const tfmq = registry.require('tfmq');
    const tfmqKey = `tfmq@${tfmq.version}:${jsonDigest(tfmq.config.parse(TFMQ_CONFIG))}`;
    expect(afterTfmq.policyKey).toBe(tfmqKey);
    expect(final.policyKey).toBe(`${tfmqKey}+toy-cache@${toyCacheMethod.version}:${jsonDigest(toyCacheMethod.config.parse(CACHE_CONFIG))}`);

    // The reference: TFMQ applied by hand (deterministic under the seed), sampled through its hook with the cache
    // hook written under it, as the pipeline order says.
    const loaded = loadDiffusionModel(path.join(shippedModelsDir(), 'unet-mnist-s-eps', 'model.safetensors'));
    const fp: PipelineModel = { ...loaded, id: 'unet-mnist-s-eps' };
    const ctx = tinyStageContext(fp, { workDir: path.join(tmp, 'by-hand'), sampler: { kind: 'ddim', steps: 4 } });
    const applied = await tfmq.apply({ ...ctx, cacheDir: store.root }, tfmq.config.parse(TFMQ_CONFIG));
    const quant = applied.model as PipelineModel;
    const hooks = [applied.hook as SamplingHook, toyCacheHook(CACHE_CONFIG.branch, CACHE_CONFIG.interval)];
    const byHand = sample({ model: quant.unet, schedule: quant.schedule, prediction: quant.prediction, shape: [28, 28, 1], count: 4, seed: 0, sampler: { kind: 'ddim', steps: 4 }, batchSize: 8, hooks }) as tf.Tensor;
    const stored = readCachedSamples(store.root, final.sampleKey, 4, [28, 28, 1]);
    expect(Array.from(stored)).toEqual(Array.from(byHand.dataSync()));
    // The cache really changes the samples (the comparison is not between two plain TFMQ runs).
    expect(Array.from(readCachedSamples(store.root, afterTfmq.sampleKey, 4, [28, 28, 1]))).not.toEqual(Array.from(stored));
    byHand.dispose();
    quant.unet.dispose();
    fp.unet.dispose();
  }, 300_000);
});
