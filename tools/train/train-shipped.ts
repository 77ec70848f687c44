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
import { trainSpec, unetParameterCount, shippedUNetConfig } from '@diffpress/diffusion';
import { arg } from '../cli-args';
import { shippedRunFromArgs } from './run-args';

async function main(): Promise<void> {
  const { id, spec, dir, engine } = await shippedRunFromArgs();
  console.log(`[train] ${id}: ${unetParameterCount(shippedUNetConfig(spec))} parameters, batch ${spec.batchSize}, ${spec.steps} updates, backend ${engine.backend}, run folder ${dir}`);
  const { result, trainer } = await trainSpec(spec, { dir, stopAfter: arg('stop-after') != null ? Number(arg('stop-after')) : undefined });
  console.log(`[train] ${id}: ${result.finished ? 'finished' : 'stopped'} at update ${result.step}/${spec.steps}; last checkpoint ${result.checkpoint}; ${(trainer.totalTrainedSeconds / 3600).toFixed(2)} h of updates in total`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
