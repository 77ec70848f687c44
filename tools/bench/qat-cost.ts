/**
 * Cost of one QAT update of the binarization methods on a shipped model: seconds per update (median over the timed
 * updates, after warm-up) and the wasm heap, for sizing reproduction runs from a measurement (not a timed test).
 *
 *   npx nx run tools:bench-qat-cost --args="--model=unet-mnist-s-eps --updates=6 --batch=32 --only=binarydm,xnor"
 *
 * Each row applies one method config for `updates + 2` updates (the first two are warm-up) in a temporary folder.
 * The heap never shrinks, so it is the high-water mark of the rows run so far: `--rows=2` runs one row (by index).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine, wasmHeapBytes } from '@diffpress/core';
import { DiffusionMethod, loadDiffusionModel, loadMnist, tinyStageContext } from '@diffpress/diffusion';
import { methods } from '@diffpress/binarization';
import { argOr, listArg } from '../cli-args';

const ROWS: Array<[string, Record<string, unknown>]> = [
  ['binarydm', { basis: 'vanilla', distill: { kind: 'none' } }],
  ['binarydm', { basis: 'lmb', distill: { kind: 'lrm' } }],
  ['binarydm', { basis: 'lmb', activationBits: 4, distill: { kind: 'lrm' } }],
  ['binarydm', { basis: 'ebb', activationBits: 4, distill: { kind: 'mse' } }],
  ['xnor', {}],
  ['reactnet', {}],
  ['lsq', { weightBits: 4, activationBits: 4 }],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const modelId = argOr('model', 'unet-mnist-s-eps');
  const updates = Number(argOr('updates', '6'));
  const batch = Number(argOr('batch', '32'));
  await initEngine({ quiet: true });
  const data = loadMnist({ split: 'train' });
  const only = listArg('only', '');
  const rows = listArg('rows', '').map(Number);
  console.log(`| method | config | s / update (median of ${updates}) | heap MiB |`);
  console.log('|---|---|---|---|');
  for (const [k, [id, config]] of ROWS.entries()) {
    if ((only.length > 0 && !only.includes(id)) || (rows.length > 0 && !rows.includes(k))) continue;
    const method = methods.find((m) => m.id === id) as DiffusionMethod<unknown>;
    const loaded = loadDiffusionModel(modelId);
    const model = { ...loaded, id: modelId };
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'qat-cost-'));
    const ctx = tinyStageContext(model, { workDir: work, data });
    const times: number[] = [];
    let last = Date.now();
    ctx.progress = (done) => {
      const now = Date.now();
      if (done > 2) times.push((now - last) / 1000);
      last = now;
    };
    try {
      const parsed = method.config.parse({ ...config, train: { steps: updates + 2, batchSize: batch, monitorEvery: 1_000_000 } });
      const r = await method.apply(ctx, parsed);
      r.model?.unet.dispose();
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
      model.unet.dispose();
    }
    console.log(`| ${id} | \`${JSON.stringify(config)}\` | ${median(times).toFixed(2)} | ${((wasmHeapBytes() ?? 0) / 2 ** 20).toFixed(0)} |`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
