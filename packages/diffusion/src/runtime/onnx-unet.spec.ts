import * as tf from '@tensorflow/tfjs';
import { Conv2d, Rng, Sequential, UniformQuantizer, initEngine, withCallContext } from '@diffpress/core';
import { SamplingHook, modelCall } from '../sampling/hooks';
import { sample } from '../sampling/sampler';
import { LinearBetaSchedule } from '../schedule/schedule';
import { UNetConfig } from '../unet/config';
import { UNet } from '../unet/unet';
import { OnnxUNet } from './onnx-unet';
import { exportUNetGraph } from './unet-export';

beforeAll(async () => {
  await initEngine({ backend: 'wasm', quiet: true });
});

const tiny: UNetConfig = { inChannels: 2, outChannels: 2, imageSize: 8, baseChannels: 8, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [4], heads: 2, groups: 4 };

function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1e-12, tf.max(tf.abs(a)).dataSync()[0]));
}

describe('OnnxUNet', () => {
  it.each([
    ['tiny', tiny],
    ['residual resampling + scale-shift + head channels', { ...tiny, resample: 'residual', scaleShiftNorm: true, heads: undefined, headChannels: 4 }],
    ['pool resampling, three levels, no attention', { ...tiny, channelMult: [1, 1, 2], resample: 'pool', midAttention: false, attentionResolutions: [] }],
  ] as Array<[string, UNetConfig]>)('every path equals the tfjs UNet’s to 1e-5 relative (%s)', (_, config) => {
    const unet = new UNet(config, { rng: new Rng(3, 'onnx-unet') });
    unet.eval();
    const fast = new OnnxUNet(unet);
    const x = tf.randomNormal([3, 8, 8, 2], 0, 1, 'float32', 5);
    const t = tf.tensor1d([999, 3, 500]);
    const checks: Array<[string, tf.Tensor, tf.Tensor]> = [];
    checks.push(['forward', unet.forward(x, t), fast.forward(x, t)]);
    const temb = unet.timeEmbedding(t);
    checks.push(['time', temb, fast.timeEmbedding(t)]);
    const enc = unet.encode(x, temb);
    const encFast = fast.encode(x, temb);
    enc.skips.forEach((s, i) => checks.push([`skip ${i}`, s, encFast.skips[i]]));
    checks.push(['mid', enc.mid, encFast.mid]);
    checks.push(['decode', unet.decode(enc.skips, enc.mid, temb), fast.decode(enc.skips, enc.mid, temb)]);
    for (let b = 0; b < unet.plan.skips.length; b++) {
      const shallow = unet.encodeShallow(x, temb, b);
      fast.encodeShallow(x, temb, b).forEach((s, i) => checks.push([`encodeShallow ${b}: skip ${i}`, shallow[i], s]));
      const deep = unet.decodeDeep(enc.skips, enc.mid, temb, b);
      checks.push([`decodeDeep ${b}`, deep, fast.decodeDeep(enc.skips, enc.mid, temb, b)]);
      checks.push([`decodeShallow ${b}`, unet.decodeShallow(deep, enc.skips, temb, b), fast.decodeShallow(deep, enc.skips, temb, b)]);
    }
    for (const [name, ref, got] of checks) {
      expect({ name, shape: got.shape }).toEqual({ name, shape: ref.shape });
      expect({ name, close: relDiff(ref, got) <= 1e-5 }).toEqual({ name, close: true });
    }
    tf.dispose([x, t, ...checks.flatMap(([, a, b]) => [a, b])]);
    fast.dispose();
    unet.dispose();
  });

  it('samples like the tfjs UNet (DDIM), and hooks call its partial paths unchanged', () => {
    const unet = new UNet(tiny, { rng: new Rng(4, 'onnx-sample') });
    const fast = new OnnxUNet(unet, { threads: 2 });
    const schedule = new LinearBetaSchedule();
    const base = { schedule, prediction: 'eps' as const, shape: [8, 8, 2], count: 3, seed: 1, sampler: { kind: 'ddim', steps: 4 } };
    // A cache in the manner of DeepCache: full network at even steps, the shallow path around branch 1 otherwise.
    const cacheHook = (): SamplingHook => {
      let deep: tf.Tensor | null = null;
      return {
        name: 'cache',
        call: (c) => {
          const u = c.unet;
          if (!u) throw new Error('no UNet paths');
          if (c.stepIndex % 2 === 0 || !deep) {
            return c.run(() => {
              const temb = u.timeEmbedding(c.modelTime);
              const { skips, mid } = u.encode(c.z, temb);
              deep?.dispose();
              deep = tf.keep(u.decodeDeep(skips, mid, temb, 1));
              return u.decodeShallow(deep, skips, temb, 1);
            });
          }
          const h = deep;
          return c.run(() => {
            const temb = u.timeEmbedding(c.modelTime);
            return u.decodeShallow(h, u.encodeShallow(c.z, temb, 1), temb, 1);
          });
        },
        endSample: () => {
          deep?.dispose();
          deep = null;
        },
      };
    };
    for (const hooks of [[], [cacheHook()]]) {
      const ref = sample({ ...base, model: unet, hooks }) as tf.Tensor;
      const got = sample({ ...base, model: fast, hooks }) as tf.Tensor;
      expect(tf.max(tf.abs(tf.sub(ref, got))).dataSync()[0]).toBeLessThan(1e-4);
      tf.dispose([ref, got]);
    }
    expect(fast.graphCount).toBeGreaterThan(1);
    expect(() => modelCall({ model: fast, z: tf.zeros([1, 8, 8, 2]), t: 1, modelTime: tf.zeros([1]), stepIndex: 0, times: [1], indices: [0], schedule }).unet?.skipIndex('stem')).not.toThrow();
    fast.dispose();
    unet.dispose();
  });

  it('runs per-step layers with one graph per step, grouping the rows of mixed-step calls', () => {
    const unet = new UNet(tiny, { rng: new Rng(5, 'onnx-step') });
    const q = new UniformQuantizer({ bits: 8, perStep: { modelTimes: [900, 400], label: 'ddim-2' } });
    q.setParams({ delta: Float32Array.of(0.05), zero: Float32Array.of(128) }, 0);
    q.setParams({ delta: Float32Array.of(0.01), zero: Float32Array.of(100) }, 1);
    const conv = unet.getModule('down.0.res.0.conv1') as Conv2d;
    unet.replace('down.0.res.0.conv1', new Sequential(q, conv));
    unet.eval();
    expect(exportUNetGraph(unet, 'forward', { step: 0 }).stepDependent).toBe(true);
    expect(exportUNetGraph(unet, 'time', { step: 0 }).stepDependent).toBe(false);
    const fast = new OnnxUNet(unet, { quantization: 'float' });
    const x = tf.randomNormal([3, 8, 8, 2], 0, 1, 'float32', 9);
    const t = tf.tensor1d([900, 400, 900]);
    for (const stepIndices of [[1, 1, 1], [0, 1, 0]]) {
      const ref = withCallContext({ stepIndices }, () => unet.forward(x, t));
      const got = withCallContext({ stepIndices }, () => fast.forward(x, t));
      expect(relDiff(ref, got)).toBeLessThan(1e-5);
      tf.dispose([ref, got]);
    }
    // Without a sampler step the rows' steps come from their model times, as in the tfjs UNet.
    const ref = unet.forward(x, t);
    const got = fast.forward(x, t);
    expect(relDiff(ref, got)).toBeLessThan(1e-5);
    // forward for step 0 and step 1; the time path does not depend on the step and has one graph.
    expect(fast.graphCount).toBe(2);
    tf.dispose([x, t, ref, got]);
    fast.dispose();
    unet.dispose();
  });
});
