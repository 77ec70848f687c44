import * as tf from '@tensorflow/tfjs';
import { Conv2d, Rng } from '@diffpress/core';
import { ResBlock } from './blocks';
import { UNetConfig, planUNet } from './config';
import { unetLayerInventory, unetParameterCount } from './inventory';
import { unetPreset, unetPresets } from './presets';
import { UNet } from './unet';

beforeAll(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

/** Two levels at 8 and 4 px, attention at 4 px: every block kind, small enough for the cpu backend. */
const tiny: UNetConfig = {
  inChannels: 2,
  outChannels: 2,
  imageSize: 8,
  baseChannels: 8,
  channelMult: [1, 2],
  numResBlocks: 1,
  attentionResolutions: [4],
  heads: 2,
  groups: 4,
};

function build(config: UNetConfig = tiny, seed = 3): UNet {
  return new UNet(config, { rng: new Rng(seed, 'unet-test') });
}

function inputs(n: number): { x: tf.Tensor; t: tf.Tensor } {
  return { x: tf.randomNormal([n, 8, 8, 2], 0, 1, 'float32', 5), t: tf.tensor1d([999, 3, 500].slice(0, n)) };
}

describe('UNet views', () => {
  it('decode(encode(x)) equals forward(x) bit for bit', () => {
    const unet = build();
    const { x, t } = inputs(3);
    const direct = unet.forward(x, t).dataSync();
    const temb = unet.timeEmbedding(t);
    const { skips, mid } = unet.encode(x, temb);
    const composed = unet.decode(skips, mid, temb).dataSync();
    expect(Array.from(composed)).toEqual(Array.from(direct));
    const withFeatures = unet.forwardWithFeatures(x, t);
    expect(Array.from(withFeatures.output.dataSync())).toEqual(Array.from(direct));
  });

  it('the partial paths around every skip branch compose to forward(x) bit for bit (DeepCache)', () => {
    const unet = build();
    const { x, t } = inputs(2);
    const direct = Array.from(unet.forward(x, t).dataSync());
    const temb = unet.timeEmbedding(t);
    const { skips, mid } = unet.encode(x, temb);
    expect(unet.plan.skips.length).toBeGreaterThan(3);
    for (let b = 0; b < unet.plan.skips.length; b++) {
      const shallow = unet.encodeShallow(x, temb, unet.plan.skips[b].name);
      expect(shallow).toHaveLength(b + 1);
      shallow.forEach((s, k) => expect(Array.from(s.dataSync())).toEqual(Array.from(skips[k].dataSync())));
      const deep = unet.decodeDeep(skips, mid, temb, b);
      // Only the shallow skips are handed to the shallow decoder: it must not read deeper ones.
      expect(Array.from(unet.decodeShallow(deep, shallow, temb, b).dataSync())).toEqual(direct);
    }
    expect(() => unet.skipIndex('up.0.res.0')).toThrow(/no skip branch "up.0.res.0"; branches \(shallow → deep\): 0:stem/);
    expect(() => unet.decodeShallow(mid, skips.slice(0, 1), temb, 2)).toThrow('needs skips 0 … 2');
  });

  it('names and shapes every block output as documented', () => {
    const unet = build();
    const { x, t } = inputs(2);
    const { features } = unet.forwardWithFeatures(x, t);
    const shapes = Object.fromEntries(Object.entries(features).map(([k, v]) => [k, v.shape]));
    expect(shapes).toEqual({
      stem: [2, 8, 8, 8],
      'down.0.res.0': [2, 8, 8, 8],
      'down.0.downsample': [2, 4, 4, 8],
      'down.1.res.0': [2, 4, 4, 16],
      'down.1.attn.0': [2, 4, 4, 16],
      'mid.res1': [2, 4, 4, 16],
      'mid.attn': [2, 4, 4, 16],
      'mid.res2': [2, 4, 4, 16],
      'up.1.res.0': [2, 4, 4, 16],
      'up.1.attn.0': [2, 4, 4, 16],
      'up.1.res.1': [2, 4, 4, 16],
      'up.1.attn.1': [2, 4, 4, 16],
      'up.1.upsample': [2, 8, 8, 16],
      'up.0.res.0': [2, 8, 8, 8],
      'up.0.res.1': [2, 8, 8, 8],
      out: [2, 8, 8, 2],
    });
    // Skips are pushed shallow → deep and named after the block that produced them.
    expect(unet.plan.skips).toEqual([
      { name: 'stem', channels: 8 },
      { name: 'down.0.res.0', channels: 8 },
      { name: 'down.0.downsample', channels: 8 },
      { name: 'down.1.attn.0', channels: 16 },
    ]);
    const { skips } = unet.encode(x, unet.timeEmbedding(t));
    expect(skips.map((s) => s.shape)).toEqual([[2, 8, 8, 8], [2, 8, 8, 8], [2, 4, 4, 8], [2, 4, 4, 16]]);
    expect(Array.from(skips[3].dataSync())).toEqual(Array.from(features['down.1.attn.0'].dataSync()));
  });

  it('decoder residual blocks take concat(h, skip) through a 1×1 shortcut and record the split', () => {
    const unet = build();
    const b = unet.block('up.1.res.0') as ResBlock;
    // deep h (16 channels from the middle) + skip down.1.attn.0 (16).
    expect(b.plan.inChannels).toBe(32);
    expect(b.concatSplit).toBe(16);
    expect(b.shortcut?.kernelSize).toEqual([1, 1]);
    expect((unet.block('up.0.res.1') as ResBlock).plan.inChannels).toBe(8 + 8);
  });

  it('the temporal view equals the embeddings the residual blocks consume', () => {
    const unet = build();
    const { x, t } = inputs(2);
    const temb = unet.timeEmbedding(t);
    const view = unet.temporalFeatures(temb);
    expect(Object.keys(view)).toEqual(unet.resBlockNames());
    expect(Object.keys(view)).toEqual(['down.0.res.0', 'down.1.res.0', 'mid.res1', 'mid.res2', 'up.1.res.0', 'up.1.res.1', 'up.0.res.0', 'up.0.res.1']);
    const consumed: Record<string, Float32Array> = {};
    for (const name of unet.resBlockNames()) {
      const block = unet.block(name) as ResBlock;
      const original = block.forwardWithFeature.bind(block);
      block.forwardWithFeature = (h: tf.Tensor, f: tf.Tensor) => {
        consumed[name] = f.dataSync() as Float32Array;
        return original(h, f);
      };
    }
    unet.forward(x, t);
    for (const name of unet.resBlockNames()) {
      expect(view[name].shape).toEqual([2, (unet.block(name) as ResBlock).plan.outChannels]);
      expect(Array.from(consumed[name])).toEqual(Array.from(view[name].dataSync()));
    }
    // It depends on t only: other inputs, same t → same features.
    unet.forward(tf.zerosLike(x), t);
    expect(Array.from(consumed['mid.res1'])).toEqual(Array.from(view['mid.res1'].dataSync()));
  });

  it('the decoder accepts a time embedding other than the encoder’s (encoder propagation)', () => {
    const unet = build();
    const { x } = inputs(2);
    const enc = unet.encode(x, unet.timeEmbedding(tf.tensor1d([900, 900])));
    const a = unet.decode(enc.skips, enc.mid, unet.timeEmbedding(tf.tensor1d([900, 900])));
    const b = unet.decode(enc.skips, enc.mid, unet.timeEmbedding(tf.tensor1d([100, 100])));
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeGreaterThan(1e-4);
  });

  it('a block swapped with replace() takes effect', () => {
    const unet = build();
    const { x, t } = inputs(1);
    const before = unet.forward(x, t).dataSync()[0];
    const conv = unet.getModule('out.conv') as Conv2d;
    const zero = new Conv2d(conv.inChannels, conv.outChannels, 3);
    zero.weight.assign(tf.zerosLike(zero.weight));
    zero.bias?.assign(tf.fill([conv.outChannels], 0.25));
    unet.replace('out.conv', zero);
    expect(before).not.toBeCloseTo(0.25, 3);
    expect(Array.from(unet.forward(x, t).dataSync()).every((v) => v === 0.25)).toBe(true);
  });

  it('frees everything it allocated on dispose()', () => {
    const before = tf.memory().numTensors;
    build().dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps the tensor count constant across calls', () => {
    const unet = build();
    const { x, t } = inputs(2);
    tf.dispose(unet.forward(x, t));
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      tf.dispose(unet.forward(x, t));
      const f = unet.forwardWithFeatures(x, t);
      tf.dispose([f.output, ...Object.values(f.features)]);
      const e = unet.encode(x, unet.timeEmbedding(t));
      tf.dispose([...e.skips, e.mid]);
    }
    // The three timeEmbedding results above are the only survivors.
    expect(tf.memory().numTensors).toBe(n0 + 3);
  });
});

describe('UNet configs and parameter accounting', () => {
  it('reproduces the quoted parameter counts of the papers’ models from shapes alone', () => {
    expect(unetParameterCount(unetPresets['ddim-cifar10'])).toBe(35_746_307);
    expect(unetParameterCount(unetPresets['ldm4-bedrooms'])).toBe(274_056_163); // 274.06 M
    expect(unetParameterCount(unetPresets['ldm8-churches'])).toBe(294_966_916); // 294.97 M
  });

  it.each([
    ['tiny', tiny],
    ['residual resampling + scale-shift + head channels', { ...tiny, resample: 'residual', scaleShiftNorm: true, heads: undefined, headChannels: 4 }],
    ['pool resampling, three levels, no mid attention', { ...tiny, imageSize: 8, channelMult: [1, 1, 2], resample: 'pool', midAttention: false, attentionResolutions: [] }],
    ['unet-mnist-s', unetPresets['unet-mnist-s']],
  ] as Array<[string, UNetConfig]>)('inventory count equals the built network for %s', (_, config) => {
    const unet = build(config);
    expect(unetParameterCount(config)).toBe(unet.numParameters());
    // Every conv/linear of the inventory exists in the module tree under that path.
    const paths = new Set(unet.namedParameters().map(([p]) => p.replace(/\.(weight|bias|gamma|beta)$/, '')));
    for (const l of unetLayerInventory(config)) if (l.kind === 'conv' || l.kind === 'linear') expect(paths.has(l.path)).toBe(true);
    const [h, w] = typeof config.imageSize === 'number' ? [config.imageSize, config.imageSize] : config.imageSize;
    const y = unet.forward(tf.zeros([1, h, w, config.inChannels]), tf.tensor1d([10]));
    expect(y.shape).toEqual([1, h, w, config.outChannels]);
    tf.dispose(y);
    unet.dispose();
  });

  it('unet-mnist-s has 1,623,169 parameters and runs on 28×28 inputs', () => {
    expect(unetParameterCount(unetPreset('unet-mnist-s'))).toBe(1_623_169);
    const plan = planUNet(unetPreset('unet-mnist-s'));
    expect(plan.down.map((l) => l.blocks[0].block.kind === 'res' && l.blocks[0].block.size)).toEqual([[28, 28], [14, 14], [7, 7]]);
  });

  it('rejects sizes that cannot be restored by up-sampling, and bad fields', () => {
    expect(() => planUNet({ ...tiny, imageSize: 6, channelMult: [1, 2, 2] })).toThrow(/odd size 3×3/);
    expect(() => planUNet({ ...tiny, baseChannels: 0 })).toThrow(/baseChannels must be a positive integer/);
    expect(() => planUNet({ ...tiny, heads: 3 })).toThrow(/cannot be split into heads/);
    expect(() => unetPreset('nope')).toThrow(/available: unet-mnist-s/);
  });
});
