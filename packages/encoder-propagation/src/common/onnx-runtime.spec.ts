import { initEngine } from '@diffpress/core';
import { OnnxUNet, SamplerConfig, tinyPipelineModel } from '@diffpress/diffusion';
import { deepCacheHook } from '../deepcache/hook';
import { fasterDiffusionHook } from '../faster-diffusion/hook';
import { drawTiny, maxAbsDiff } from './testing';

describe('encoder propagation around ONNX Runtime calls', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('Faster Diffusion (parallel) and DeepCache sample on OnnxUNet as on the tfjs UNet', () => {
    const m = tinyPipelineModel(1);
    const fast = new OnnxUNet(m.unet);
    const sampler: SamplerConfig = { kind: 'ddim', steps: 6 };
    const fd = () => fasterDiffusionHook({ name: 'fd', keySteps: [0, 1, 3], steps: 6, propagate: 'encoder', parallel: true, priorNoise: { alpha: 0.003, below: 0.5 } });
    const dc = () => deepCacheHook({ name: 'dc', fullSteps: [0, 3], steps: 6, branch: 1, zeroCache: false });
    for (const make of [fd, dc]) {
      const ref = drawTiny(m, sampler, [make()]);
      const got = drawTiny(m, sampler, [make()], 4, fast);
      expect(maxAbsDiff(ref, got)).toBeLessThan(1e-4);
    }
    fast.dispose();
    m.unet.dispose();
  });
});
