/**
 * Ships a trained binarization student from an artifact store under `models/<id>/` — its weights, the store's
 * `compression-state.json`, a `student.json` (the FP model it was trained from, the recipe cell and seed, the
 * training tables), the run's `results.json` and a model card whose figures are read from it — so that recipes use it
 * with `pretrained: <id>` instead of training.
 *
 *   npx nx run tools:ship-student --args="--results=docs/results/binarization/binarization-binarydm/shard-1-of-3 \
 *     --cell='+EBB+LRM W1A4' --seed=0 --store=.diffpress --base=unet-mnist-s-eps --id=unet-mnist-s-eps-binarydm-w1a4"
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkCompressionState } from '@diffpress/core';
import { ShippedStudentInfo } from '@diffpress/binarization';
import { readResults } from '@diffpress/recipes';
import { arg, argOr } from '../cli-args';
import { fmt } from '../report/results-doc';

function required(name: string): string {
  const v = arg(name);
  if (v === undefined) throw new Error(`--${name}=… is required`);
  return v;
}

function main(): void {
  const resultsPath = required('results');
  const cell = required('cell');
  const seed = Number(argOr('seed', '0'));
  const store = required('store');
  const base = required('base');
  const id = required('id');
  const results = readResults(resultsPath);
  const unit = results.results.find((u) => Object.values(u.params).map(String).join(' / ') === cell && u.seed === seed);
  if (!unit) throw new Error(`${resultsPath}: no unit '${cell}' with seed ${seed} (cells: ${[...new Set(results.results.map((u) => Object.values(u.params).join(' / ')))].join(', ')})`);
  const final = unit.positions.find((p) => p.position === 'final');
  const fp = unit.positions.find((p) => p.position === 'baseline');
  if (!final || !fp) throw new Error(`${resultsPath}: unit '${cell}' has no final or baseline position`);
  const artifact = path.join(store, 'model', final.modelKey);
  const state = checkCompressionState(JSON.parse(fs.readFileSync(path.join(artifact, 'compression-state.json'), 'utf8')), artifact);
  if (state.base !== unit.base) throw new Error(`${artifact}: its base ${state.base} is not the unit's ${unit.base}`);
  const dir = path.join('models', id);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(artifact, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  fs.copyFileSync(path.join(artifact, 'compression-state.json'), path.join(dir, 'compression-state.json'));
  // The run's results travel with the student: every figure of the card is read from them.
  const resultsFile = fs.statSync(resultsPath).isDirectory() ? path.join(resultsPath, 'results.json') : resultsPath;
  fs.copyFileSync(resultsFile, path.join(dir, 'results.json'));
  const diagnostics = final.stages.flatMap((s) => s.diagnostics);
  const info: ShippedStudentInfo = { base, recipe: results.recipe.name, cell, seed, diagnostics };
  fs.writeFileSync(path.join(dir, 'student.json'), JSON.stringify(info, null, 2) + '\n');

  const value = (rows: typeof final.rows, metric: string): string => {
    const r = rows.find((x) => x.metricId === metric);
    return r ? fmt(r.value) : '—';
  };
  const metrics = [...new Set(final.rows.map((r) => r.metricId))];
  const cost = diagnostics.find((d) => d.id.endsWith('.training-cost'));
  const [updates, batch, perUpdate, heap, distill, lambda] = (cost?.rows[0] ?? []) as Array<string | number | null>;
  const curve = diagnostics.find((d) => d.id.endsWith('.training-curve'));
  const eff = (style: 'paper' | 'asImplemented'): string =>
    `${fmt(final.efficiency[style].sizeMiB)} MiB (FP ${fmt(fp.efficiency[style].sizeMiB)}), ${fmt(final.efficiency[style].ops / 1e9)} G OPs (FP ${fmt(fp.efficiency[style].ops / 1e9)})`;
  const history = state.history[0];
  const card = [
    `# ${id}`,
    '',
    `A ${history.method} student of \`${base}\`, trained quantization-aware from it (the FP model as teacher) by the cell`,
    `"${cell}" of the recipe \`${results.recipe.name}\`, seed ${seed}. Use it in a recipe without training:`,
    '',
    '```yaml',
    `model: ${base}`,
    'pipeline:',
    `  - method: ${history.method}`,
    `    config: { pretrained: ${id} }`,
    '```',
    '',
    '| | |',
    '|---|---|',
    `| Method | \`${history.method}\` ${history.version}, config \`${JSON.stringify(history.config)}\` |`,
    `| Training | ${updates ?? '?'} updates of batch ${batch ?? '?'}, ${typeof perUpdate === 'number' ? perUpdate.toFixed(2) : '?'} s per update on wasm (1 thread, a 2-core machine shared with other runs), heap ${typeof heap === 'number' ? heap.toFixed(0) : '?'} MiB; distillation ${distill ?? '?'}${lambda != null ? `, λ ${lambda}` : ''} |`,
    `| Efficiency, paper accounting | ${eff('paper')} |`,
    `| Efficiency, as implemented | ${eff('asImplemented')} |`,
    `| Weights | \`model.safetensors\`: the latent FP weights and the quantizers' parameters (float32); \`compression-state.json\`: method, config, state |`,
    '',
    `## Figures (${unit.sampler}, ${unit.samples} samples, seed ${seed}; read from this folder's \`results.json\`, the run's results)`,
    '',
    '| metric | this student | FP |',
    '|---|---:|---:|',
    ...metrics.map((m) => `| ${m} | ${value(final.rows, m)} | ${value(fp.rows, m)} |`),
    '',
    '## Training curve',
    '',
    ...(curve ? [`| ${curve.columns.join(' | ')} |`, `|${curve.columns.map(() => '---').join('|')}|`, ...curve.rows.map((r) => `| ${r.map((v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : fmt(v)) : String(v))).join(' | ')} |`)] : ['(none recorded)']),
    '',
    '## Reproduce',
    '',
    '```sh',
    `npx nx run experiments:ablation --recipe=apps/experiments/recipes/binarization/${results.recipe.name.replace(/^binarization-/, '')}.yaml --shard=${seed + 1}/3`,
    `npx nx run tools:ship-student --args="--results=<run folder> --cell='${cell}' --seed=${seed} --store=<store> --base=${base} --id=${id}"`,
    '```',
    '',
  ];
  fs.writeFileSync(path.join(dir, 'README.md'), card.join('\n'));
  console.log(`shipped ${dir} (${(fs.statSync(path.join(dir, 'model.safetensors')).size / 2 ** 20).toFixed(1)} MiB of weights)`);
}

main();
