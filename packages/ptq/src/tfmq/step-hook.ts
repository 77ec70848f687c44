import { QuantizerSteps, sameStepTime } from '@diffpress/core';
import { SamplingHook } from '@diffpress/diffusion';

/**
 * The sampler a per-step (FSC) model was calibrated for — its label and the model times of its steps, which the
 * per-step quantizers keep, and its schedule times, which the hook checks — as a tfmq step's state records it.
 */
export interface CalibratedSteps extends QuantizerSteps {
  /** Schedule times of the steps, noisiest first. */
  times: readonly number[];
}

function show(ts: readonly number[]): string {
  return ts.length <= 6 ? ts.join(', ') : `${ts.slice(0, 3).join(', ')}, …, ${ts.slice(-2).join(', ')}`;
}

/**
 * The sampling hook of a per-step quantized model, named after the method that built it. The per-step quantizers
 * read every row's step from the call context the sampler sets; the hook makes sure those steps mean what they
 * were calibrated for, by checking before each call that the sampler visits exactly the calibrated steps (ptq spec
 * §4.5: sampling with another schedule is an explicit error, not a silent mismatch).
 *
 * @throws Error (at the first step) when the sampler's steps differ from the calibrated ones.
 * @example
 * ```ts
 * sample({ ...options, hooks: [perStepHook('tfmq', steps)] });
 * ```
 */
export function perStepHook(name: string, steps: CalibratedSteps): SamplingHook {
  return {
    name,
    call: (c, next) => {
      const same = c.times.length === steps.times.length && c.times.every((t, i) => sameStepTime(t, steps.times[i]));
      if (!same) {
        throw new Error(
          `this model's activation quantizers were calibrated per step for ${steps.label} (${steps.times.length} steps, t = ${show(steps.times)}), ` +
            `but the sampler in use visits ${c.times.length} steps (t = ${show(c.times)}); calibrate for the sampler you sample with (the recipe's sample section is what tfmq calibrates for)`,
        );
      }
      return next(c);
    },
  };
}
