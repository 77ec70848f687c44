import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { JsonValue, StageSampler, manualSeed, seededNormalBatch } from '@diffpress/core';
import { DiffusionMethod, DiffusionStageContext, DiffusionStageResult, PipelineModel } from '../models/pipeline-model';
import { SamplerConfig, sample, samplerTimes } from '../sampling/sampler';
import { scheduleFromConfig } from '../schedule/schedule';
import { UNetConfig } from '../unet/config';
import { UNet } from '../unet/unet';

/** The UNet of {@link tinyPipelineModel}: 8×8 single-channel images, two levels, attention at 4×4 (about 21 k parameters). */
export const TINY_UNET: UNetConfig = {
  inChannels: 1,
  outChannels: 1,
  imageSize: 8,
  baseChannels: 8,
  channelMult: [1, 2],
  numResBlocks: 1,
  attentionResolutions: [4],
  heads: 2,
  groups: 4,
  dropout: 0,
};

/**
 * A tiny ε-prediction model with seeded random weights (linear β, T = 1000): what method tests apply their
 * methods to, so that they run in seconds.
 */
export function tinyPipelineModel(seed = 0): PipelineModel {
  manualSeed(seed);
  const unet = new UNet(TINY_UNET);
  unet.eval();
  return { id: 'tiny', unet, schedule: scheduleFromConfig({ type: 'linear-beta', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 }), prediction: 'eps' };
}

/**
 * A stage context for method tests: the given model (default {@link tinyPipelineModel} with seed 1), no history,
 * seed 0, DDIM with 4 steps, a silent log.
 */
export function tinyStageContext(model: PipelineModel = tinyPipelineModel(1), workDir = '.'): DiffusionStageContext {
  return { model, history: [], seed: 0, sampler: { kind: 'ddim', steps: 4 }, workDir, log: () => undefined };
}

/** Options of {@link checkMethodContract}. */
export interface MethodContractOptions {
  /** Raw configs to check (default: `[{}]`, the method's defaults). */
  configs?: Record<string, unknown>[];
  /** Builds the model the method is applied to (default {@link tinyPipelineModel}); called several times. */
  model?: () => PipelineModel;
  /** The sampler of the stage context (default DDIM with 4 steps). */
  sampler?: StageSampler;
  /** Seed of the stage context (default 0). */
  seed?: number;
}

function same(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

/**
 * What the contract compares: the network output on fixed inputs at the sampler's first and last step, called as
 * the sampler calls it (through the step's policy, when it sets one — per-step methods are only defined at the
 * sampler's times), and the samples when the step sets a policy.
 */
function signature(m: PipelineModel, result: DiffusionStageResult, sampler: StageSampler): Float32Array[] {
  const model = result.model ?? m;
  const times = samplerTimes(model.schedule, sampler as SamplerConfig);
  const x = seededNormalBatch([8, 8, 1], { seed: 7, stream: 'contract', indices: [0, 1] });
  const values: Float32Array[] = [];
  for (const stepIndex of [0, times.length - 1]) {
    const t = times[stepIndex];
    const modelTime = tf.fill([2], model.schedule.modelTime(t));
    const out = tf.tidy(() =>
      result.policy
        ? result.policy.call({ model: model.unet, z: x, t, modelTime, stepIndex, times, indices: [0, 1], schedule: model.schedule })
        : model.unet.forward(x, modelTime),
    );
    values.push(out.dataSync() as Float32Array);
    tf.dispose([modelTime, out]);
  }
  x.dispose();
  if (result.policy) {
    const s = sample({ model: model.unet, schedule: model.schedule, prediction: model.prediction, shape: [8, 8, 1], count: 2, seed: 3, sampler: sampler as SamplerConfig, policy: result.policy });
    if (s) {
      values.push(s.dataSync() as Float32Array);
      s.dispose();
    }
  }
  return values;
}

function disposeResult(parent: PipelineModel, result: DiffusionStageResult): void {
  if (result.model && result.model.unet !== parent.unet) result.model.unet.dispose();
}

/**
 * The contract every compression method must keep (architecture guide §6), as one call for the method's own spec:
 *
 * Outputs are compared at the sampler's first and last step, called through the step's policy when it sets one.
 *
 * 1. **Config round trip**: parsing a config, writing it as JSON and parsing it again gives the same config.
 * 2. **Determinism**: applying the method twice to the same model with the same seed gives bit-identical outputs.
 * 3. **Save → load → same output**: the output weights and the JSON state, given to `restore` on a fresh parent,
 *    reproduce the applied model's outputs (and samples, when the step sets a sampler policy) exactly.
 * 4. **No tensor growth**: repeated calls of the result do not grow `tf.memory().numTensors`, and after the result
 *    is disposed no tensor made by `apply` or `restore` is left.
 *
 * @throws Error naming the broken rule and the config.
 * @example
 * ```ts
 * it('keeps the method contract', () => checkMethodContract(myMethod, { configs: [{}, { bits: 4 }] }), 60_000);
 * ```
 */
export async function checkMethodContract<C>(method: DiffusionMethod<C>, options: MethodContractOptions = {}): Promise<void> {
  const makeModel = options.model ?? (() => tinyPipelineModel(0));
  const sampler: StageSampler = options.sampler ?? { kind: 'ddim', steps: 4 };
  const seed = options.seed ?? 0;
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), `contract-${method.id}-`));
  const context = (model: PipelineModel, name: string): DiffusionStageContext => {
    const workDir = path.join(workRoot, name);
    fs.mkdirSync(workDir, { recursive: true });
    return { model, history: [], seed, sampler, workDir, log: () => undefined };
  };
  try {
    for (const [k, raw] of (options.configs ?? [{}]).entries()) {
      const where = `${method.id} config ${JSON.stringify(raw)}`;
      const config = method.config.parse(raw);
      const again = method.config.parse(JSON.parse(JSON.stringify(config)));
      if (JSON.stringify(again) !== JSON.stringify(config)) throw new Error(`${where}: the config does not survive a JSON round trip (${JSON.stringify(config)} → ${JSON.stringify(again)})`);

      // Determinism, and no tensors left behind by apply.
      const parentA = makeModel();
      const baseline = tf.memory().numTensors;
      const a = await method.apply(context(parentA, `a${k}`), config);
      const sigA = signature(parentA, a, sampler);
      const afterOne = tf.memory().numTensors;
      const sigA2 = signature(parentA, a, sampler);
      if (tf.memory().numTensors !== afterOne) throw new Error(`${where}: calling the result grows the tensor count (${afterOne} → ${tf.memory().numTensors})`);
      if (!sigA.every((s, i) => same(s, sigA2[i]))) throw new Error(`${where}: two calls of the result on the same input differ`);
      const parentB = makeModel();
      const b = await method.apply(context(parentB, `b${k}`), config);
      const sigB = signature(parentB, b, sampler);
      if (!sigA.every((s, i) => same(s, sigB[i]))) throw new Error(`${where}: applying twice with seed ${seed} gives different outputs (not deterministic)`);
      disposeResult(parentB, b);
      parentB.unet.dispose();

      // Save → load: weights and JSON state into restore() on a fresh parent.
      const weights = new Map((a.model ?? parentA).unet.stateDict());
      const saved = new Map([...weights].map(([name, v]) => [name, tf.tensor(v.dataSync() as Float32Array, v.shape, v.dtype)] as [string, tf.Tensor]));
      const state = JSON.parse(JSON.stringify(a.state ?? null)) as JsonValue;
      const parentC = makeModel();
      const c = await method.restore(context(parentC, `c${k}`), config, state);
      if (Boolean(c.model) !== Boolean(a.model) || Boolean(c.policy) !== Boolean(a.policy)) {
        throw new Error(`${where}: restore returns ${c.model ? 'a model' : 'no model'} and ${c.policy ? 'a policy' : 'no policy'}, apply ${a.model ? 'a model' : 'no model'} and ${a.policy ? 'a policy' : 'no policy'}`);
      }
      if (c.model) c.model.unet.loadStateDict(saved, { strict: true, source: `${method.id} saved weights` });
      tf.dispose([...saved.values()]);
      const sigC = signature(parentC, c, sampler);
      if (!sigA.every((s, i) => same(s, sigC[i]))) throw new Error(`${where}: restore + saved weights do not reproduce the applied model's output`);
      disposeResult(parentC, c);
      parentC.unet.dispose();

      disposeResult(parentA, a);
      if (tf.memory().numTensors !== baseline) throw new Error(`${where}: ${tf.memory().numTensors - baseline} tensors are left after disposing the result (apply or restore leaks)`);
      parentA.unet.dispose();
    }
  } finally {
    fs.rmSync(workRoot, { recursive: true, force: true });
  }
}
