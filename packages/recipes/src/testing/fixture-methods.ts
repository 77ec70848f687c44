import { z } from 'zod';
import * as tf from '@tensorflow/tfjs';
import { DiffusionMethod, SamplerConfig, SamplingHook, UNet } from '@diffpress/diffusion';
import { MethodRegistry, RegisteredMethod } from '../registry/registry';

/**
 * Methods for the recipes package's own tests: they exercise configs and ordering rules. Their `apply` leaves the
 * model as it is (the runner's tests check the plumbing, not an algorithm).
 */
function fixture<C>(m: Omit<DiffusionMethod<C>, 'apply' | 'restore' | 'version' | 'description'>): RegisteredMethod {
  return {
    ...m,
    version: '0.0.0',
    description: `test fixture ${m.id}`,
    apply: async () => ({}),
    restore: async () => ({}),
  } as RegisteredMethod;
}

/** A registry with a quantizer-like, a distillation-like and a sampler-like fixture method. */
export function fixtureRegistry(): MethodRegistry {
  return new MethodRegistry().register(
    fixture({
      id: 'fake-quant',
      family: 'ptq',
      config: z.strictObject({
        bits: z.number().int().min(2).max(8).default(8),
        calibration: z.strictObject({ samples: z.number().int().min(1).default(16) }).default({ samples: 16 }),
      }),
    }),
    fixture({ id: 'fake-distill', family: 'distillation', config: z.strictObject({ rounds: z.number().int().min(1).default(1) }) }),
    fixture({
      id: 'fake-cache',
      family: 'encoder-propagation',
      config: z.strictObject({ interval: z.number().int().min(1).default(2) }),
      compatibility: { mustFollow: ['fake-distill'], conflictsWith: ['fake-quant'] },
    }),
  );
}

/**
 * A method that really transforms the model: a new UNet whose output convolution weights are `factor` × the
 * parent's (the parent is left untouched), recorded as 8-bit in the bit-width map. Its `restore` rebuilds the same
 * structure without the weights, which the runner then loads — the save → load path of the contract.
 */
export const scaleOutMethod: RegisteredMethod = {
  id: 'scale-out',
  family: 'ptq',
  version: '0.0.1',
  description: 'test fixture: scales the output convolution weights',
  config: z.strictObject({ factor: z.number().positive().default(0.5) }),
  apply: async (ctx, config) => {
    const { factor } = config as { factor: number };
    const unet = new UNet(ctx.model.unet.plan.config);
    const state = ctx.model.unet.stateDict();
    const scaled = new Map([...state].map(([k, v]) => [k, k === 'out.conv.weight' ? tf.mul(v, factor) : v.clone()] as [string, tf.Tensor]));
    unet.loadStateDict(scaled, { strict: true });
    tf.dispose([...scaled.values()]);
    unet.eval();
    return { model: { ...ctx.model, id: `${ctx.model.id}+scale-out`, unet }, bitWidths: { 'out.conv': { weightBits: 8, activationBits: 8 } }, state: { factor } };
  },
  restore: async (ctx) => {
    const unet = new UNet(ctx.model.unet.plan.config);
    unet.eval();
    return { model: { ...ctx.model, id: `${ctx.model.id}+scale-out`, unet } };
  },
};

/** A method that always fails (the runner must record the unit as failed and go on). */
export const failingMethod: RegisteredMethod = {
  id: 'always-fails',
  family: 'ptq',
  version: '0.0.1',
  description: 'test fixture: throws',
  config: z.strictObject({}),
  apply: async () => {
    throw new Error('this method always fails');
  },
  restore: async () => {
    throw new Error('this method always fails');
  },
};

/** Calls of {@link studentMethod}'s `apply`, so tests can see whether a step was recomputed. */
export const studentApplyCalls = { count: 0 };

/** The re-noising sampler {@link studentMethod} declares for `steps` (times of a 1000-step schedule, noisiest first). */
export function fixtureStudentSampler(steps: number): SamplerConfig {
  return { kind: 'renoise', steps, times: Array.from({ length: steps }, (_, i) => 999 - Math.round((i * 1000) / steps)) };
}

/** The 2-step sampler of {@link studentMethod} with its default config: times 999 and 499. */
export const FIXTURE_STUDENT_SAMPLER: SamplerConfig = fixtureStudentSampler(2);

/**
 * A distillation-like step that keeps the weights and returns a `steps`-step re-noising student sampler (default 2).
 * It reads no recipe input, so an ablation over the sampler must not recompute it.
 */
export const studentMethod: RegisteredMethod = {
  id: 'fake-student',
  family: 'distillation',
  version: '0.0.1',
  description: 'test fixture: returns a re-noising student sampler',
  config: z.strictObject({ steps: z.number().int().min(1).default(2) }),
  reads: [],
  studentSampler: (config) => fixtureStudentSampler((config as { steps: number }).steps),
  apply: async (_ctx, config) => {
    studentApplyCalls.count++;
    return { sampler: fixtureStudentSampler((config as { steps: number }).steps) };
  },
  restore: async (_ctx, config) => ({ sampler: fixtureStudentSampler((config as { steps: number }).steps) }),
};

/**
 * A DeepCache-like sampling hook (test fixture, not the method): at every `interval`-th step it runs the whole UNet
 * and caches the deep decoder feature at skip `branch`; at the other steps it runs only the shallow path on the
 * cached feature. Every network call goes through `c.run`, so per-step layers see the rows' steps.
 */
export function toyCacheHook(branch: number, interval: number): SamplingHook {
  let deep: tf.Tensor | null = null;
  const drop = (): void => {
    deep?.dispose();
    deep = null;
  };
  return {
    name: 'toy-cache',
    call: (c) => {
      const unet = c.unet;
      if (!unet) throw new Error('toy-cache needs a UNet');
      if (c.stepIndex % interval === 0 || !deep) {
        return c.run(() => {
          const temb = unet.timeEmbedding(c.modelTime);
          const { skips, mid } = unet.encode(c.z, temb);
          drop();
          deep = tf.keep(unet.decodeDeep(skips, mid, temb, branch));
          return unet.decodeShallow(deep, skips, temb, branch);
        });
      }
      const cached = deep;
      return c.run(() => {
        const temb = unet.timeEmbedding(c.modelTime);
        return unet.decodeShallow(cached, unet.encodeShallow(c.z, temb, branch), temb, branch);
      });
    },
    endSample: drop,
  };
}

function toyCacheResult(config: unknown): { hook: SamplingHook } {
  const { branch, interval } = config as { branch: number; interval: number };
  return { hook: toyCacheHook(branch, interval) };
}

/** A sampling-time step contributing {@link toyCacheHook}. */
export const toyCacheMethod: RegisteredMethod = {
  id: 'toy-cache',
  family: 'encoder-propagation',
  version: '0.0.1',
  description: 'test fixture: caches the deep decoder feature between full steps',
  config: z.strictObject({ branch: z.number().int().min(0).default(1), interval: z.number().int().min(1).default(2) }),
  apply: async (_ctx, config) => toyCacheResult(config),
  restore: async (_ctx, config) => toyCacheResult(config),
};
