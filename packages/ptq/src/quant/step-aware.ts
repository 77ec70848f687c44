import * as tf from '@tensorflow/tfjs';
import { SamplingHook, UNet, UNetConfig, UNetOptions } from '@diffpress/diffusion';
import { StepState } from './quantizer';

/**
 * The step state of a model with per-step quantizers. A class rather than a plain object so that content digests
 * of the model (which include modules' plain settings) do not change with the step last visited.
 */
export class StepTracker implements StepState {
  /** See {@link StepState.current}. */
  current: number | null = null;
  /** See {@link StepState.miss}. */
  miss?: string;
  /** Set by the sampling hook for the duration of a call: the time embedding must agree with it. */
  pinned = false;
}

/** The sampler a per-step model was calibrated for. */
export interface CalibratedSteps {
  /** Sampler label, e.g. `ddim-20`. */
  label: string;
  /** Schedule times of its steps, noisiest first. */
  times: number[];
  /** The model times (UNet inputs) of those steps. */
  modelTimes: number[];
}

function sameTime(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a));
}

/**
 * A UNet whose activation quantizers keep one parameter set per sampler step (TFMQ-DM's finite set calibration).
 * Every call that computes the time embedding looks the step up from the model time it is given — so a direct
 * `forward`, `encode`/`decode`, or latency measurement picks the parameters calibrated at exactly that time — and
 * the sampling hook ({@link perStepHook}) pins the step index of the sampler in use and checks the two agree.
 * A time that is not a calibrated step leaves no step selected; the per-step quantizers then refuse to run.
 */
export class StepAwareUNet extends UNet {
  /** Current step, shared with the per-step quantizers. */
  readonly stepState = new StepTracker();

  /**
   * @param config - Architecture.
   * @param steps - The calibrated sampler steps.
   * @param options - Initialisation generator.
   */
  constructor(
    config: UNetConfig,
    readonly steps: CalibratedSteps,
    options: UNetOptions = {},
  ) {
    super(config, options);
    if (steps.modelTimes.length === 0 || steps.modelTimes.length !== steps.times.length) throw new Error('StepAwareUNet: calibrated steps need matching, non-empty times and model times');
  }

  /** The time embedding, after selecting the step of `t` (all rows must share one time). */
  override timeEmbedding(t: tf.Tensor): tf.Tensor {
    const values = t.dataSync();
    const first = values[0];
    const uniform = values.every((v) => sameTime(v, first));
    const index = uniform ? this.steps.modelTimes.findIndex((m) => sameTime(m, first)) : -1;
    const state = this.stepState;
    if (state.pinned) {
      if (index !== state.current) {
        throw new Error(`per-step quantized model: the sampler is at step ${state.current} (model time ${this.steps.modelTimes[state.current ?? 0]}) but the network was called at model time ${uniform ? first : 'mixed'}`);
      }
    } else {
      state.current = index >= 0 ? index : null;
      state.miss = index >= 0 ? undefined
        : uniform ? `model time ${first} is not one of the ${this.steps.modelTimes.length} steps of ${this.steps.label} this model was calibrated for`
          : 'the rows of one call have different times, but per-step parameters need one step per call';
    }
    return super.timeEmbedding(t);
  }
}

/**
 * The sampling hook of a per-step quantized model, named after the method that built it: before each call it checks
 * that the sampler visits exactly the calibrated steps, then pins the step index so every per-step quantizer uses
 * that step's parameters.
 *
 * @throws Error (at the first step) when the sampler's steps differ from the calibrated ones.
 */
export function perStepHook(name: string, unet: StepAwareUNet): SamplingHook {
  const { steps } = unet;
  return {
    name,
    call: (c, next) => {
      const same = c.times.length === steps.times.length && c.times.every((t, i) => sameTime(t, steps.times[i]));
      if (!same) {
        const show = (ts: readonly number[]): string => (ts.length <= 6 ? ts.join(', ') : `${ts.slice(0, 3).join(', ')}, …, ${ts.slice(-2).join(', ')}`);
        throw new Error(
          `this model's activation quantizers were calibrated per step for ${steps.label} (${steps.times.length} steps, t = ${show(steps.times)}), ` +
            `but the sampler in use visits ${c.times.length} steps (t = ${show(c.times)}); calibrate for the sampler you sample with (the recipe's sample section is what tfmq calibrates for)`,
        );
      }
      const state = unet.stepState;
      state.current = c.stepIndex;
      state.pinned = true;
      try {
        return next(c);
      } finally {
        state.pinned = false;
        state.current = null;
      }
    },
  };
}
