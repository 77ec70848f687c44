/**
 * diffpress encoder-propagation: sampling-time methods that reuse UNet features across sampler steps
 * (encoder-propagation spec). They change no weights; each contributes a sampling hook that chains after the hooks
 * of earlier pipeline steps (quantizers, per-step ones included).
 *
 * - **Methods** — {@link fasterDiffusion} (Faster Diffusion: encoder propagation with key steps, parallel decoding
 *   and prior noise injection) and {@link deepcache} (DeepCache: the shallow path on a cached deep feature between
 *   full steps), registered for recipes through {@link methods}.
 * - **Schedules** — {@link resolveKeySteps} (the paper's key-step presets, scaled to any step count),
 *   {@link uniformFullSteps} and {@link nonUniformFullSteps} (DeepCache's, with the reference's complex-power quirk).
 * - **Hooks** — {@link fasterDiffusionHook}, {@link deepCacheHook}, usable with `sample()` directly.
 * - **Diagnostics** — {@link featureChange} (the premise check), {@link costTable} (MACs by part, f_EB, predicted
 *   saving).
 *
 * @packageDocumentation
 */
import { DiffusionMethod } from '@diffpress/diffusion';
export * from './common/cache-stats';
export * from './common/check-call';
export * from './common/cost';
export * from './common/premise';
export * from './common/warnings';
export * from './faster-diffusion/key-steps';
export * from './faster-diffusion/hook';
export * from './deepcache/schedule';
export * from './deepcache/hook';
export * from './faster-diffusion/config';
export * from './faster-diffusion/faster-diffusion';
import { fasterDiffusion } from './faster-diffusion/faster-diffusion';
export * from './deepcache/config';
export * from './deepcache/deepcache';
import { deepcache } from './deepcache/deepcache';
// tools:method inserts one import per method above this line.

/** The methods of this package, registered by the recipes package (one line each). */
export const methods: DiffusionMethod<unknown>[] = [
  fasterDiffusion as DiffusionMethod<unknown>,
  deepcache as DiffusionMethod<unknown>,
  // tools:method inserts one entry per method above this line.
];
