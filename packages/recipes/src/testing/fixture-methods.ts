import { z } from 'zod';
import { DiffusionMethod } from '@diffpress/diffusion';
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
