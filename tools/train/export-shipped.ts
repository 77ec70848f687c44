/**
 * Exports a finished (or, with --allow-unfinished, an in-progress) training run of a shipped model: the EMA weights
 * with the metadata `loadDiffusionModel` needs, a DDIM-50 sample grid and the model card.
 *
 *   npx nx run tools:export-shipped --model=unet-mnist-s-eps
 *   npx nx run tools:export-shipped --model=unet-mnist-s-v --dir=/work/runs/train/unet-mnist-s-v --out=models
 *
 * Options: --model (required), --dir (run folder, default runs/train/<model>), --out (default models),
 * --allow-unfinished, --backend. Writes <out>/<model>/{model.safetensors, samples-ddim50.png, README.md}.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { saveCheckpoint } from '@diffpress/core';
import {
  HELD_OUT_SEED, TrainLogEntry, diffusionLoss, loadEmaWeights, heldOutLoss, loadMnist, modelMetadata, sample, scheduleFromConfig, shippedUNetConfig,
  unetParameterCount, writeImageGrid,
} from '@diffpress/diffusion';
import { arg, flag } from '../cli-args';
import { shippedRunFromArgs } from './run-args';

async function main(): Promise<void> {
  const { id, spec, dir, engine } = await shippedRunFromArgs();
  const outDir = path.resolve(arg('out') ?? 'models', id);
  if (!fs.existsSync(path.join(dir, 'latest.json'))) throw new Error(`no checkpoint in ${dir} (train first: npx nx run tools:train-shipped --model=${id})`);
  const { unet, step, checkpoint: ckpt } = loadEmaWeights(spec, dir);
  const latest = { step };
  if (latest.step < spec.steps && !flag('allow-unfinished')) {
    throw new Error(`${dir} is at update ${latest.step}/${spec.steps}; resume the training or pass --allow-unfinished`);
  }
  const state = JSON.parse(fs.readFileSync(path.join(ckpt, 'state.json'), 'utf8')) as { trainedSeconds: number };
  const unetConfig = shippedUNetConfig(spec);
  const schedule = scheduleFromConfig(spec.schedule);

  fs.mkdirSync(outDir, { recursive: true });
  const modelFile = path.join(outDir, 'model.safetensors');
  saveCheckpoint(unet, modelFile, { metadata: { ...modelMetadata(id, unetConfig, spec.schedule, spec.prediction), 'diffpress.steps': String(latest.step) } });

  // Held-out loss of the EMA weights on the whole test split, t and ε keyed by HELD_OUT_SEED and the digit's index.
  const test = loadMnist({ split: 'test' });
  const loss = diffusionLoss({ schedule, prediction: spec.prediction, weighting: spec.weighting });
  const heldOut = heldOutLoss(loss, unet, test, { onProgress: (done, n) => process.stdout.write(`\r[export] held-out loss: ${done}/${n}`) });
  console.log(`\n[export] held-out ${spec.weighting} loss on the ${test.size} test digits: ${heldOut.toFixed(5)}`);

  const started = Date.now();
  const samples = sample({
    model: unet, schedule, prediction: spec.prediction, shape: [28, 28, 1], count: 100, seed: 0, batchSize: 50,
    sampler: { kind: 'ddim', steps: 50 },
    onProgress: (done, n) => process.stdout.write(`\r[export] DDIM-50 samples: ${done}/${n}`),
  }) as tf.Tensor;
  const sampleSeconds = (Date.now() - started) / 1000;
  writeImageGrid(path.join(outDir, 'samples-ddim50.png'), samples, { cols: 10 });
  samples.dispose();
  console.log(`\n[export] 100 DDIM-50 samples in ${sampleSeconds.toFixed(1)} s`);

  const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainLogEntry);
  const tail = log.slice(-100);
  const finalLoss = tail.reduce((s, e) => s + e.loss, 0) / tail.length;
  const card = `# ${id}

${spec.description}.

| | |
|---|---|
| Architecture | UNet preset \`${spec.preset}\`, ${unetParameterCount(unetConfig).toLocaleString('en-US')} parameters |
| Schedule | \`${JSON.stringify(spec.schedule)}\` |
| Parameterization / loss weighting | ${spec.prediction} / ${spec.weighting} |
| Data | MNIST train split (8 000 digits, \`loadMnist({ split: 'train' })\`), scaled to [−1, 1] |
| Training | ${latest.step} of ${spec.steps} updates, batch ${spec.batchSize}, AdamW (weight decay ${spec.weightDecay}), lr \`${JSON.stringify(spec.lr)}\`, gradient-norm clip ${spec.clipGradNorm}, EMA ${spec.emaDecay}, seed ${spec.seed} |
| Wall-clock of the updates | ${(state.trainedSeconds / 3600).toFixed(2)} h on ${engine.backend} (${engine.simd ? 'SIMD, ' : ''}${engine.threads} thread) — a 2-core machine shared with other jobs |
| Final training loss (mean of the last ${tail.length} updates) | ${finalLoss.toFixed(5)} |
| Held-out loss, EMA weights, all ${test.size} test digits (t, ε keyed by seed ${HELD_OUT_SEED}) | ${heldOut.toFixed(5)} |
| Weights | \`model.safetensors\`: the EMA weights, float32, with the config in its metadata |

Load it with \`loadDiffusionModel('${id}')\` from \`@diffpress/diffusion\`.

## Samples

100 DDIM-50 samples (η = 0, uniform steps, seed 0, sample i's noise keyed by (0, i)), drawn in ${sampleSeconds.toFixed(0)} s:

![DDIM-50 samples](samples-ddim50.png)

## Reproduce

\`\`\`sh
npx nx run tools:train-shipped --model=${id}    # resumable: rerun after an interruption
npx nx run tools:export-shipped --model=${id}
\`\`\`
`;
  fs.writeFileSync(path.join(outDir, 'README.md'), card);
  console.log(`[export] wrote ${modelFile}, samples-ddim50.png and README.md in ${outDir}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
