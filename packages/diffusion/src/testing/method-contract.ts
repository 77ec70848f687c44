import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { JsonValue, manualSeed, seededNormalBatch, withholdInput } from '@diffpress/core';
import { ArrayDataset } from '../data/dataset';
import { DiffusionMethod, DiffusionStageContext, DiffusionStageResult, PipelineModel } from '../models/pipeline-model';
import { SamplingHook, composeHooks, modelCall } from '../sampling/hooks';
import { sample } from '../sampling/sampler';
import { SamplerConfig, samplerKey, samplerTimes } from '../sampling/samplers';
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

/** What {@link tinyStageContext} may be given besides the model. */
export interface TinyStageOptions {
  /** The step's folder (default `.`); checkpoints go to `<workDir>/checkpoints`. */
  workDir?: string;
  /** The sampler (default DDIM with 4 steps). */
  sampler?: SamplerConfig;
  /** Training data (default none: reading `data` throws). */
  data?: ArrayDataset;
  /** The FP teacher (default: the model itself). */
  teacher?: PipelineModel;
  /** Seed (default 0). */
  seed?: number;
}

/**
 * A stage context for method tests: the given model (default {@link tinyPipelineModel} with seed 1) as parent and
 * teacher, no history or hooks, seed 0, DDIM with 4 steps, a silent log and progress.
 */
export function tinyStageContext(model: PipelineModel = tinyPipelineModel(1), options: TinyStageOptions | string = {}): DiffusionStageContext {
  const o: TinyStageOptions = typeof options === 'string' ? { workDir: options } : options;
  const workDir = o.workDir ?? '.';
  const ctx: DiffusionStageContext = {
    model, teacher: o.teacher ?? model, hooks: [], history: [], seed: o.seed ?? 0, sampler: o.sampler ?? { kind: 'ddim', steps: 4 }, workDir,
    data: o.data as ArrayDataset,
    progress: () => undefined,
    checkpoints: { dir: path.join(workDir, 'checkpoints'), every: 50 },
    log: () => undefined,
  };
  return o.data ? ctx : withholdInput(ctx, 'data', 'tinyStageContext: this test context has no training data (pass options.data)');
}

/** Options of {@link checkMethodContract}. */
export interface MethodContractOptions {
  /** Raw configs to check (default: `[{}]`, the method's defaults). */
  configs?: Record<string, unknown>[];
  /** Builds the model the method is applied to (default {@link tinyPipelineModel}); called several times. */
  model?: () => PipelineModel;
  /** The sampler of the stage context (default DDIM with 4 steps). */
  sampler?: SamplerConfig;
  /** Seed of the stage context (default 0). */
  seed?: number;
  /** Training data of the stage context (methods that read `data`). */
  data?: ArrayDataset;
}

function same(a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

/** Shape `[h, w, c]` of one input of the model's UNet (the contract works on any UNet config). */
function sampleShape(model: PipelineModel): number[] {
  const c = model.unet.plan.config;
  return [c.imageSize[0], c.imageSize[1], c.inChannels];
}

/**
 * What the contract compares: the network output on fixed inputs at the sampler's first and last step, called as
 * the sampler calls it (through the step's hook, when it contributes one — per-step methods are only defined at the
 * sampler's times), and the samples when the step contributes a hook or a sampler. A student sampler the step
 * returns replaces the context's.
 */
function signature(m: PipelineModel, result: DiffusionStageResult, contextSampler: SamplerConfig): Float32Array[] {
  const model = result.model ?? m;
  const sampler = result.sampler ?? contextSampler;
  const times = samplerTimes(model.schedule, sampler);
  const x = seededNormalBatch(sampleShape(model), { seed: 7, stream: 'contract', indices: [0, 1] });
  const hooks = result.hook ? [result.hook] : [];
  const callNetwork = composeHooks(hooks);
  const values: Float32Array[] = [];
  for (const stepIndex of [0, times.length - 1]) {
    const t = times[stepIndex];
    const modelTime = tf.fill([2], model.schedule.modelTime(t));
    for (const h of hooks) h.beginSample?.([0, 1]);
    const out = tf.tidy(() => callNetwork(modelCall({ model: model.unet, z: x, t, modelTime, stepIndex, times, indices: [0, 1], schedule: model.schedule })));
    for (const h of hooks) h.endSample?.();
    values.push(out.dataSync() as Float32Array);
    tf.dispose([modelTime, out]);
  }
  x.dispose();
  if (result.hook || result.sampler) {
    const s = sample({ model: model.unet, schedule: model.schedule, prediction: model.prediction, shape: sampleShape(model), count: 2, seed: 3, sampler, hooks });
    if (s) {
      values.push(s.dataSync() as Float32Array);
      s.dispose();
    }
  }
  return values;
}

/** A step's returned sampler must be the one it declares from its config (validation relies on the declaration). */
function checkStudentSampler<C>(method: DiffusionMethod<C>, config: C, result: DiffusionStageResult, where: string): void {
  const declared = samplerKey(method.studentSampler?.(config));
  const returned = samplerKey(result.sampler);
  if (declared !== returned) throw new Error(`${where}: the step returns sampler ${returned} but studentSampler(config) declares ${declared}`);
}

/**
 * The chaining case: a step's hook must act on the call it is given and return through the chain, whatever came
 * before it in the pipeline. Under a parent hook that reverses the rows of every call (z, times, steps, sample
 * indices) and restores their order in the output, it must sample exactly as it does alone: a hook that works on
 * anything but its call (a z kept from elsewhere, rows assumed in sampler order) gives rows in the wrong order.
 */
function checkChaining(m: PipelineModel, result: DiffusionStageResult, contextSampler: SamplerConfig, where: string): void {
  const hook = result.hook;
  if (!hook) return;
  const model = result.model ?? m;
  const reverseRows: SamplingHook = {
    name: 'contract-reverse-rows',
    call: (c, next) =>
      tf.tidy(() => {
        const z = tf.reverse(c.z, 0);
        const modelTime = tf.reverse(c.modelTime, 0);
        const out = next(modelCall({ ...c, z, modelTime, rowSteps: [...c.rowSteps].reverse(), indices: [...c.indices].reverse() }));
        return tf.reverse(out, 0);
      }),
  };
  const draw = (hooks: SamplingHook[]): Float32Array => {
    const s = sample({ model: model.unet, schedule: model.schedule, prediction: model.prediction, shape: sampleShape(model), count: 2, seed: 5, sampler: result.sampler ?? contextSampler, hooks }) as tf.Tensor;
    const v = s.dataSync() as Float32Array;
    s.dispose();
    return v;
  };
  if (!same(draw([reverseRows, hook]), draw([hook]))) throw new Error(`${where}: the step's hook under a parent hook does not give its output alone (chaining: it must act on the call it is given)`);
}

function disposeResult(parent: PipelineModel, result: DiffusionStageResult): void {
  if (result.model && result.model.unet !== parent.unet) result.model.unet.dispose();
}

/**
 * The contract every compression method must keep (architecture guide §6), as one call for the method's own spec:
 *
 * Outputs are compared at the sampler's first and last step, called through the step's hook when it contributes one.
 *
 * 1. **Config round trip**: parsing a config, writing it as JSON and parsing it again gives the same config.
 * 2. **Determinism**: applying the method twice to the same model with the same seed gives bit-identical outputs.
 * 3. **Save → load → same output**: the output weights and the JSON state, given to `restore` on a fresh parent,
 *    reproduce the applied model's outputs (and samples, when the step contributes a hook or a sampler) exactly; a
 *    returned sampler is the one `studentSampler(config)` declares.
 * 4. **Chaining**: a hook the step contributes samples the same under a parent hook that reverses the rows of every
 *    call (and restores their order), so it acts on the call it is given.
 * 5. **No tensor growth**: repeated calls of the result do not grow `tf.memory().numTensors`, and after the result
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
  const sampler: SamplerConfig = options.sampler ?? { kind: 'ddim', steps: 4 };
  const seed = options.seed ?? 0;
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), `contract-${method.id}-`));
  const context = (model: PipelineModel, name: string): DiffusionStageContext => {
    const workDir = path.join(workRoot, name);
    fs.mkdirSync(workDir, { recursive: true });
    return tinyStageContext(model, { workDir, sampler, seed, data: options.data });
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
      checkStudentSampler(method, config, a, where);
      const sigA = signature(parentA, a, sampler);
      const afterOne = tf.memory().numTensors;
      const sigA2 = signature(parentA, a, sampler);
      checkChaining(parentA, a, sampler, where);
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
      if (Boolean(c.model) !== Boolean(a.model) || Boolean(c.hook) !== Boolean(a.hook)) {
        throw new Error(`${where}: restore returns ${c.model ? 'a model' : 'no model'} and ${c.hook ? 'a hook' : 'no hook'}, apply ${a.model ? 'a model' : 'no model'} and ${a.hook ? 'a hook' : 'no hook'}`);
      }
      checkStudentSampler(method, config, c, `${where} (restore)`);
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
