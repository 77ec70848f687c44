/**
 * Draws (and caches) sample sets of a model for evaluation, so long sampler runs can go in the background and resume
 * after an interruption (rerun the same command). `evaluate()` later reads the same cache.
 *
 *   npx nx run tools:draw-samples --args="--model=unet-mnist-s-eps --sampler=ddim --steps=100 --count=1000 --seed=0"
 *
 * `--steps` may be a comma list (drawn in that order). Several processes drawing the same set share its chunks.
 */
import { initEngine } from '@diffpress/core';
import { SamplerConfig, loadDiffusionModel } from '@diffpress/diffusion';
import { drawSamples } from '@diffpress/eval';
import { arg, argOr, listArg } from '../cli-args';

async function main(): Promise<void> {
  const modelId = arg('model');
  if (!modelId) throw new Error('give --model=<shipped id or .safetensors path>');
  const kind = argOr('sampler', 'ddim') as SamplerConfig['kind'];
  const stepsList = listArg('steps', '50').map(Number);
  const count = Number(argOr('count', '1000'));
  const seed = Number(argOr('seed', '0'));
  const cacheDir = arg('cache');
  await initEngine({ backend: (arg('backend') as 'wasm' | undefined) ?? undefined });
  const model = loadDiffusionModel(modelId);
  for (const steps of stepsList) {
    const sampler: SamplerConfig = { kind, steps };
    const t0 = Date.now();
    // The first line comes after 30 s (or at the end), not at the first cached chunk, which would show 16/total.
    let last = t0;
    let lastDone = -1;
    const report = (done: number, total: number): void => {
      const now = Date.now();
      // A DDPM-1000 chunk takes minutes, so step-level progress is printed too, at most twice a minute; the last
      // step and the finished chunk both report `total`, which is printed once.
      if (done !== lastDone && (now - last > 30_000 || done === total)) {
        last = now;
        lastDone = done;
        const shown = Number.isInteger(done) ? String(done) : done.toFixed(1);
        process.stdout.write(`${modelId} ${kind}-${steps}: ${shown}/${total} samples, ${((now - t0) / 1000).toFixed(0)} s\n`);
      }
    };
    const set = drawSamples({
      model,
      sampler,
      seed,
      count,
      shape: [28, 28, 1],
      cacheDir,
      // Two of these commands on one set split its chunks between them.
      share: true,
      onProgress: report,
      onStepProgress: report,
    });
    process.stdout.write(`${modelId} ${kind}-${steps}: done, key ${set.key.slice(0, 12)}, ${set.cached} cached, drawing took ${set.seconds.toFixed(0)} s in total\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
