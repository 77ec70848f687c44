import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { initEngine } from '@diffpress/core';
import { DiffusionMethod, PipelineModel } from '../models/pipeline-model';
import { SamplingHook } from '../sampling/hooks';
import { SamplerConfig } from '../sampling/samplers';
import { UNet } from '../unet/unet';
import { checkMethodContract, tinyPipelineModel } from './method-contract';

/** A copy of the parent whose output conv weights are scaled (a real, if simple, transformation). */
function scaledCopy(parent: PipelineModel, factor: number, withWeights: boolean): PipelineModel {
  const unet = new UNet(parent.unet.plan.config);
  if (withWeights) {
    const state = new Map([...parent.unet.stateDict()].map(([k, v]) => [k, k === 'out.conv.weight' ? tf.mul(v, factor) : v.clone()] as [string, tf.Tensor]));
    unet.loadStateDict(state, { strict: true });
    tf.dispose([...state.values()]);
  }
  unet.eval();
  return { ...parent, unet };
}

const config = z.strictObject({ factor: z.number().default(0.5) });

const good: DiffusionMethod<z.output<typeof config>> = {
  id: 'good', family: 'ptq', version: '1', description: 'scales the output conv', config,
  apply: async (ctx, c) => ({ model: scaledCopy(ctx.model, c.factor, true), state: { factor: c.factor } }),
  restore: async (ctx) => ({ model: scaledCopy(ctx.model, 1, false) }),
};

describe('checkMethodContract', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('passes a method that keeps the contract, for several configs', async () => {
    await expect(checkMethodContract(good, { configs: [{}, { factor: 2 }] })).resolves.toBeUndefined();
  });

  it('passes a sampling-hook method whose restore rebuilds the hook', async () => {
    const scaling = (scale: number): SamplingHook => ({ name: 'scale', call: (c, next) => tf.tidy(() => tf.mul(next(c), scale)) });
    const hookMethod: DiffusionMethod<{ scale: number }> = {
      id: 'scale', family: 'encoder-propagation', version: '1', description: 'scales the network output', config: z.strictObject({ scale: z.number().default(0.9) }),
      apply: async (_ctx, c) => ({ hook: scaling(c.scale) }),
      restore: async (_ctx, c) => ({ hook: scaling(c.scale) }),
    };
    await expect(checkMethodContract(hookMethod)).resolves.toBeUndefined();
  });

  it('catches a hook that does not act on the call it is given (chaining)', async () => {
    // It samples from the z the sampler passed before the step, not from the call: a parent hook's change is lost.
    const stale = (): SamplingHook => {
      let z: tf.Tensor | null = null;
      return {
        name: 'stale',
        beforeStep: (e) => {
          z?.dispose();
          z = tf.keep(tf.clone(e.z));
        },
        call: (c) => c.run(() => c.model.forward(z ?? c.z, c.modelTime)),
        endSample: () => {
          z?.dispose();
          z = null;
        },
      };
    };
    const staleMethod: DiffusionMethod<Record<string, never>> = {
      id: 'stale', family: 'encoder-propagation', version: '1', description: 'ignores the call', config: z.strictObject({}),
      apply: async () => ({ hook: stale() }),
      restore: async () => ({ hook: stale() }),
    };
    await expect(checkMethodContract(staleMethod)).rejects.toThrow(/does not give its output alone \(chaining: it must act on the call it is given\)/);
  });

  it('passes a hook that injects prior noise before steps and caches between calls (chaining)', async () => {
    // Faster Diffusion's shape: beforeStep adds a multiple of z_T, call reuses the network output of even steps.
    const injecting = (): SamplingHook => {
      let kept: tf.Tensor | null = null;
      return {
        name: 'inject-and-cache',
        beforeStep: (e) => (e.stepIndex >= 2 ? tf.add(e.z, tf.mul(e.zT, 0.003)) : undefined),
        call: (c, next) => {
          if (c.stepIndex % 2 === 0 || !kept) {
            kept?.dispose();
            kept = tf.keep(next(c));
          }
          return tf.clone(kept);
        },
        endSample: () => {
          kept?.dispose();
          kept = null;
        },
      };
    };
    const fd: DiffusionMethod<Record<string, never>> = {
      id: 'inject', family: 'encoder-propagation', version: '1', description: 'prior noise and a cache', config: z.strictObject({}),
      apply: async () => ({ hook: injecting() }),
      restore: async () => ({ hook: injecting() }),
    };
    await expect(checkMethodContract(fd)).resolves.toBeUndefined();
  });

  it('passes a step that returns the student sampler it declares, and catches one that does not', async () => {
    const student: SamplerConfig = { kind: 'renoise', steps: 2, times: [999, 499] };
    const distilled: DiffusionMethod<{ factor: number }> = { ...good, id: 'student', reads: [], studentSampler: () => student,
      apply: async (ctx, c) => ({ ...(await good.apply(ctx, c)), sampler: student }),
      restore: async (ctx, c, state) => ({ ...(await good.restore(ctx, c, state)), sampler: student }),
    };
    await expect(checkMethodContract(distilled)).resolves.toBeUndefined();
    const undeclared = { ...distilled, id: 'undeclared', studentSampler: undefined };
    await expect(checkMethodContract(undeclared)).rejects.toThrow(/returns sampler .*"renoise".* but studentSampler\(config\) declares none/);
  });

  it('catches a leak', async () => {
    const stray: tf.Tensor[] = [];
    const leaky = { ...good, id: 'leaky', apply: async (ctx: Parameters<typeof good.apply>[0], c: { factor: number }) => {
      stray.push(tf.ones([3]));
      return good.apply(ctx, c);
    } };
    await expect(checkMethodContract(leaky)).rejects.toThrow(/leaky config {}: 2 tensors are left after disposing the result \(apply or restore leaks\)/); // one per apply
    tf.dispose(stray);
  });

  it('catches non-determinism', async () => {
    const random = { ...good, id: 'random', apply: async (ctx: Parameters<typeof good.apply>[0]) => good.apply(ctx, { factor: Math.random() }) };
    await expect(checkMethodContract(random)).rejects.toThrow(/not deterministic/);
  });

  it('catches a restore that does not rebuild what apply built', async () => {
    const forgetful = { ...good, id: 'forgetful', restore: async () => ({}) };
    await expect(checkMethodContract(forgetful)).rejects.toThrow(/restore returns no model and no hook, apply a model and no hook/);
  });

  it('catches a config that does not survive JSON', async () => {
    const dated = { ...good, id: 'dated', config: z.strictObject({ factor: z.number().default(0.5), when: z.date().default(new Date(0)) }) } as unknown as typeof good;
    await expect(checkMethodContract(dated)).rejects.toThrow(/does not survive a JSON round trip|Invalid input/);
  });

  it('tinyPipelineModel is seeded', () => {
    const a = tinyPipelineModel(3);
    const b = tinyPipelineModel(3);
    const wa = a.unet.stateDict().get('stem.weight');
    const wb = b.unet.stateDict().get('stem.weight');
    expect(wa?.dataSync()).toEqual(wb?.dataSync());
    a.unet.dispose();
    b.unet.dispose();
  });
});
