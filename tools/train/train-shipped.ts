/**
 * Trains one of the shipped diffusion models with the diffusion package's trainer, resuming from its run folder.
 *
 *   npx nx run tools:train-shipped --model=unet-mnist-s-eps            # runs/train/unet-mnist-s-eps
 *   npx nx run tools:train-shipped --model=unet-mnist-s-v --dir=/tmp/v  # another run folder
 *
 * Options: --model (required), --dir, --backend (wasm|cpu|tensorflow), --stop-after=N (updates in this call).
 * Kill it at any time: the next call resumes from the last checkpoint (every 100 updates) and reproduces the same
 * updates. When all updates are done, export the weights, samples and model card with `tools:export-shipped`.
 */
import { manualSeed } from '@diffpress/core';
import {
  Trainer, UNet, datasetBatches, diffusionLoss, heldOutLoss, loadMnist, scheduleFromConfig, shippedUNetConfig,
} from '@diffpress/diffusion';
import { arg } from '../cli-args';
import { shippedRunFromArgs } from './run-args';

async function main(): Promise<void> {
  const { id, spec, dir, engine } = await shippedRunFromArgs();
  manualSeed(spec.seed);
  const unetConfig = shippedUNetConfig(spec);
  const unet = new UNet(unetConfig);
  const schedule = scheduleFromConfig(spec.schedule);
  const train = loadMnist({ split: 'train' });
  const test = loadMnist({ split: 'test' });
  const loss = diffusionLoss({ schedule, prediction: spec.prediction, weighting: spec.weighting });
  // Validation on the first 256 test digits (one batch), t and ε fixed by HELD_OUT_SEED: comparable across steps.
  const validationDigits = Array.from({ length: 256 }, (_, i) => i);
  console.log(`[train] ${id}: ${unet.numParameters()} parameters, ${train.size} training digits, batch ${spec.batchSize}, ${spec.steps} updates, backend ${engine.backend}, run folder ${dir}`);
  const trainer = new Trainer({
    model: unet,
    loss,
    batches: datasetBatches(train, spec.batchSize, spec.seed),
    steps: spec.steps,
    seed: spec.seed,
    lr: spec.lr,
    optimizer: { weightDecay: spec.weightDecay },
    emaDecay: spec.emaDecay,
    clipGradNorm: spec.clipGradNorm,
    dir,
    checkpointEvery: 100,
    logEvery: 20,
    runConfig: { spec: spec as unknown as Record<string, unknown>, unet: unetConfig as unknown as Record<string, unknown> },
    stopAfter: arg('stop-after') != null ? Number(arg('stop-after')) : undefined,
    validate: {
      every: 500,
      run: (model) => ({ heldOutLoss: heldOutLoss(loss, model, test, { indices: validationDigits, batchSize: 256 }) }),
    },
  });
  const result = await trainer.run();
  console.log(`[train] ${id}: ${result.finished ? 'finished' : 'stopped'} at update ${result.step}/${spec.steps}; last checkpoint ${result.checkpoint}; ${(trainer.totalTrainedSeconds / 3600).toFixed(2)} h of updates in total`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
