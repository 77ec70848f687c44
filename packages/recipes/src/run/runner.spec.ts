import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { COMPRESSION_STATE_FORMAT, initEngine, tryLock } from '@diffpress/core';
import { MethodRegistry } from '../registry/registry';
import { importResults, mergeResults } from '../report/merge';
import { rowCells } from '../report/markdown';
import { ReportTable, buildTable } from '../report/table';
import { writeReport } from '../report/write';
import { ValidatedRecipe } from '../recipe/validate';
import { ArtifactStore } from '../store/store';
import { validRecipe } from '../testing/valid-recipe';
import { failingMethod, scaleOutMethod } from '../testing/fixture-methods';
import { memoryLog } from './progress';
import { RunSummary, finishedUnits, planUnits, runClaimed, runRecipe } from './runner';
import { unitKey } from './unit';

const registry = new MethodRegistry().register(scaleOutMethod, failingMethod);

const SAMPLER_ABLATION = `name: tiny
model: unet-mnist-s-eps
sample: { kind: ddim, steps: 2, batchSize: 8 }
eval: { samples: 4, metrics: [kid, class-entropy], grid: 3, latency: false }
ablation:
  axes:
    - path: sample.steps
      values: [2, 3]
`;

function recipe(text: string): ValidatedRecipe {
  return validRecipe(text, registry);
}

/** The quality columns of a table, as printed (timing columns are measurements and differ between runs). */
function qualityCells(t: ReportTable): string[][] {
  const keep = t.columns.map((c, i) => (c.kind !== 'cost' ? i + 3 : -1)).filter((i) => i >= 0);
  return t.rows.map((_, r) => {
    const cells = rowCells(t, r, (s) => s);
    return [cells[0], cells[1], cells[2], ...keep.map((i) => cells[i])];
  });
}

describe('runRecipe', () => {
  let tmp: string;
  let store: ArtifactStore;
  let first: RunSummary;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-runner-'));
    store = new ArtifactStore(path.join(tmp, 'store'));
    first = await runRecipe(recipe(SAMPLER_ABLATION), { store, log: memoryLog() });
  }, 120_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('runs every cell and evaluates the FP model with each sampler, plus the floor', () => {
    expect(first).toMatchObject({ units: 2, computed: 2, reused: 0, failed: [] });
    expect(first.results.map((u) => [u.params, u.sampler, u.samples])).toEqual([
      [{ 'sample.steps': 2 }, 'ddim-2', 4],
      [{ 'sample.steps': 3 }, 'ddim-3', 4],
    ]);
    const p = first.results[0].positions;
    expect(p.map((x) => [x.position, x.label])).toEqual([['baseline', 'FP']]);
    expect(p[0].rows.map((r) => r.metric)).toEqual(['kid-mnist-classifier-v1', 'class-entropy-mnist-classifier-v1']);
    expect(p[0].rows[0]).toMatchObject({ seed: 0, samples: 4, sampler: 'ddim-2', recipeHash: first.recipe.hash, cell: { 'sample.steps': 2, position: 'baseline' } });
    // Class entropy of 4 arg-max labels is at most ln 4.
    expect(p[0].rows[1].value).toBeGreaterThanOrEqual(0);
    expect(p[0].rows[1].value).toBeLessThanOrEqual(Math.log(4) + 1e-9);
    expect(p[0].efficiency.paper.params).toBe(1_623_169);
    expect(p[0].latency).toBeNull();
    expect(first.floor[0].rows.map((r) => r.subject)).toEqual(['mnist/test (seeded subset)', 'mnist/test (seeded subset)']);
  });

  it('a second run computes nothing and returns the same results', async () => {
    const log = memoryLog();
    const before = tf.memory().numTensors;
    const again = await runRecipe(recipe(SAMPLER_ABLATION), { store, log });
    expect(again).toMatchObject({ units: 2, computed: 0, reused: 2 });
    expect(again.results).toEqual(first.results);
    expect(log.lines).toContain('tiny: 2 units, 2 already finished in ' + store.root);
    expect(log.lines.filter((l) => l.endsWith('reused from the store'))).toHaveLength(2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('finishedOnly reports what the store holds, lists the rest as pending and computes nothing; merging drops what another part finished; importResults resumes from it', async () => {
    // A store holding the first unit only: its artifact copied from the full store.
    const partial = new ArtifactStore(path.join(tmp, 'store-partial'));
    const v = recipe(SAMPLER_ABLATION);
    const [u0, u1] = planUnits(v);
    await partial.produceJson('unit', unitKey(v, u0, partial), async () => first.results[0], {});
    const log = memoryLog();
    const peek = await runRecipe(v, { store: partial, log, finishedOnly: true });
    expect(peek).toMatchObject({ units: 2, computed: 0, reused: 1, failed: [], pending: [{ order: u1.order, params: { 'sample.steps': 3 }, seed: 0 }] });
    expect(peek.results).toEqual([first.results[0]]);
    expect(finishedUnits(v, [u1], partial)).toEqual([false]);
    expect(log.lines).toContain('finished only: 1 unit not in the store stay pending');
    const dir = path.join(tmp, 'run-partial');
    await writeReport(peek, dir, partial.root);
    expect(fs.readFileSync(path.join(dir, 'report.md'), 'utf8')).toContain('**Partial:** 1 of 2 units are not computed yet');
    // Merged with a complete run, nothing is pending any more; alone, the pending unit stays listed.
    const full = path.join(tmp, 'run-full');
    await writeReport(first, full, store.root);
    expect(mergeResults([dir, full], v).pending).toEqual([]);
    expect(mergeResults([dir], v).pending?.map((u) => u.order)).toEqual([u1.order]);
    // Resuming on another machine: the committed results go into a new store, and the run computes nothing.
    const fresh = new ArtifactStore(path.join(tmp, 'store-resumed'));
    expect(await importResults([full], v, fresh)).toBe(2);
    expect(await importResults([dir, full], v, fresh)).toBe(0);
    const resumed = await runRecipe(v, { store: fresh, log: memoryLog() });
    expect(resumed).toMatchObject({ computed: 0, reused: 2 });
    expect(resumed.results).toEqual(first.results);
    const other = recipe(SAMPLER_ABLATION.replace('values: [2, 3]', 'values: [2, 4]'));
    await expect(importResults([full], other, fresh)).rejects.toThrow(/holds results of recipe hash .* only the same recipe's results can be resumed from/);
  });

  it('writes the run folder: results, table, self-contained HTML, sample strips, plots, resolved recipe', async () => {
    const out = path.join(tmp, 'run');
    const files = await writeReport(first, out, store.root);
    const md = fs.readFileSync(files.markdown, 'utf8');
    // Latency is off: no s / sample (only a sampling pass timed in isolation gives one); cost columns have no arrow.
    expect(md).toContain('| model | sampler | n | sample.steps | kid ↓ | class-entropy ↑ | size (MiB) | OPs (M) |\n');
    expect(md).toContain('## Comparisons');
    expect(md.split('\n').filter((l) => l.startsWith('| FP |'))).toHaveLength(2);
    expect(md.indexOf('| floor')).toBeLessThan(md.indexOf('| FP |'));
    const html = fs.readFileSync(files.html, 'utf8');
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(html).toContain('data:image/png;base64,');
    expect(html).toContain('<svg');
    const json = JSON.parse(fs.readFileSync(files.json, 'utf8')) as { results: unknown[]; recipe: { hash: string }; comparisons: unknown[] };
    expect(json.results).toHaveLength(2);
    // No paired metric, no comparison named: no comparisons (the report says why).
    expect(json.comparisons).toEqual([]);
    expect(json.recipe.hash).toBe(first.recipe.hash);
    const csv = fs.readFileSync(files.csv, 'utf8').trim().split('\n');
    expect(csv[0].startsWith('sample.steps,seed,position,model,sampler,samples,metric,value')).toBe(true);
    expect(csv).toHaveLength(1 + 2 + 2 * 2);
    expect(fs.readdirSync(path.join(out, 'samples')).sort()).toEqual(['grid.png', 'row-01.png', 'row-02.png']);
    expect(fs.readdirSync(path.join(out, 'plots')).sort()).toEqual(['class-entropy-mnist-classifier-v1-vs-steps.svg', 'kid-mnist-classifier-v1-vs-steps.svg']);
    expect(fs.readFileSync(path.join(out, 'recipe.resolved.yaml'), 'utf8')).toContain('batchSize: 8');
  });

  it('two shards on a fresh store merge into the table of one process', async () => {
    const v = recipe(SAMPLER_ABLATION);
    const shardStore = new ArtifactStore(path.join(tmp, 'shard-store'));
    expect(planUnits(v, { index: 1, count: 2 }).map((u) => u.order)).toEqual([0]);
    const a = await runRecipe(v, { store: shardStore, shard: { index: 1, count: 2 }, log: memoryLog() });
    const b = await runRecipe(v, { store: shardStore, shard: { index: 2, count: 2 }, log: memoryLog() });
    expect([a.units, b.units]).toEqual([1, 1]);
    await writeReport(a, path.join(tmp, 's1'), shardStore.root);
    await writeReport(b, path.join(tmp, 's2'), shardStore.root);
    const merged = mergeResults([path.join(tmp, 's1'), path.join(tmp, 's2')], v);
    expect(qualityCells(buildTable(merged))).toEqual(qualityCells(buildTable(first)));
    expect(() => mergeResults([path.join(tmp, 's1')], recipe(SAMPLER_ABLATION.replace('samples: 4', 'samples: 5')))).toThrow(/merge shards of one recipe/);
  }, 120_000);

  it('times sampling in isolation and compares the compressed row with FP, in the report and after a merge', async () => {
    const text = `name: paired
model: unet-mnist-s-eps
pipeline:
  - method: scale-out
sample: { kind: ddim, steps: 2, batchSize: 4 }
eval: { samples: 4, metrics: [sample-mse], grid: 0, floor: false }
`;
    const v = recipe(text);
    const run = await runRecipe(v, { store, log: memoryLog() });
    expect(run.failed).toEqual([]);
    const [fp, scaled] = run.results[0].positions;
    for (const p of [fp, scaled]) {
      const t = p.sampling;
      expect(t).toMatchObject({ sampler: 'ddim-2', batch: 8, warmup: 1 });
      expect(t?.times).toHaveLength(5);
      // The median of the five timed runs.
      expect(t?.secondsPerSample).toBe([...(t?.times ?? [])].sort((a, b) => a - b)[2]);
    }
    const table = buildTable(run);
    expect(table.comparisons.map((c) => [c.a, c.b, c.metric, c.source])).toEqual([['scale-out', 'FP', 'sample-mse', 'default']]);
    // Halving the output convolution changes every sample: each resampled mean MSE against FP is positive.
    expect(table.comparisons[0].result).toMatchObject({ b: 0, verdict: 'worse', diff: { method: 'bootstrap', seeds: 1, samples: 4 } });
    const out = path.join(tmp, 'paired');
    const files = await writeReport(run, out, store.root);
    const md = fs.readFileSync(files.markdown, 'utf8');
    expect(md).toMatch(/\| scale-out \| ddim-2 \| 4 \| [0-9.]+ \(worse\) \|/);
    expect(md).toMatch(/\| scale-out \| FP \| sample-mse \| [^|]+ \| 0 \| [^|]+ \| bootstrap, 4 samples × 1 seed \(2000 resamples\) \| — \| worse \|/);
    expect(fs.readFileSync(files.comparisonsCsv, 'utf8').split('\n')[1].startsWith('scale-out,FP,sample-mse,default,')).toBe(true);
    const json = JSON.parse(fs.readFileSync(files.json, 'utf8')) as { comparisons: Array<{ result: { verdict: string } }> };
    expect(json.comparisons[0].result.verdict).toBe('worse');
    // A merged report computes the comparisons from the merged results.
    expect(buildTable(mergeResults([out], v)).comparisons).toEqual(table.comparisons);
    // Naming the comparison (with a margin) changes neither the recipe hash nor the unit key.
    const named = recipe(`${text}compare:\n  - { a: scale-out, b: FP, metric: sample-mse, margin: 1 }\n`);
    expect(named.hash).toBe(v.hash);
    expect(unitKey(named, planUnits(named)[0], store)).toBe(unitKey(v, planUnits(v)[0], store));
    const again = await runRecipe(named, { store, log: memoryLog() });
    expect(again).toMatchObject({ computed: 0, reused: 1 });
    expect(buildTable(again).comparisons[0]).toMatchObject({ a: 'scale-out', b: 'FP', source: 'recipe', margin: 1, result: { margin: 1 } });
  }, 120_000);

  it('eval.pairedSteps compares rows of every step count with one FP reference', async () => {
    const v = recipe(`name: paired-steps
model: unet-mnist-s-eps
sample: { kind: ddim, steps: 2, batchSize: 4 }
eval: { samples: 4, metrics: [sample-mse], grid: 0, floor: false, latency: false, pairedSteps: 3 }
ablation:
  axes:
    - path: sample.steps
      values: [2, 3]
`);
    const run = await runRecipe(v, { store, log: memoryLog() });
    expect(run.failed).toEqual([]);
    const [two, three] = run.results.map((u) => u.positions[0].rows);
    // FP DDIM-2 against FP DDIM-3 from the same x_T: a positive MSE; FP DDIM-3 is its own reference (no row).
    expect(two.map((r) => [r.metric, r.reference?.dataset])).toEqual([['sample-mse', expect.stringContaining('ddim-3')]]);
    expect(two[0].value).toBeGreaterThan(0);
    expect(three).toEqual([]);
    // In the table both FP rows share the reference (FP DDIM-3); only DDIM-2's own evaluation differs from it.
    const fps = buildTable(run).rows.filter((r) => r.kind === 'fp');
    expect(fps.map((r) => r.sampler)).toEqual(['ddim-2', 'ddim-3']);
    expect(fps[0].reference).toBe(fps[1].reference);
    expect([fps[0].evaluation !== undefined, fps[1].evaluation]).toEqual([true, undefined]);
  }, 120_000);

  it('eval.epsMseTrajectories sets how many trajectories eps-mse follows, and is part of the unit key', async () => {
    const text = `name: eps-trajectories
model: unet-mnist-s-eps
pipeline:
  - method: scale-out
sample: { kind: ddim, steps: 2, batchSize: 4 }
eval: { samples: 4, metrics: [eps-mse], grid: 0, floor: false, latency: false }
`;
    const plain = recipe(text);
    const three = recipe(text.replace('latency: false }', 'latency: false, epsMseTrajectories: 3 }'));
    expect(unitKey(three, planUnits(three)[0], store)).not.toBe(unitKey(plain, planUnits(plain)[0], store));
    const run = await runRecipe(three, { store, log: memoryLog() });
    expect(run.failed).toEqual([]);
    const mean = run.results[0].positions[1].rows.find((r) => r.metric === 'eps-mse');
    expect(mean?.detail).toMatchObject({ trajectories: 3 });
    expect(mean?.perSample).toHaveLength(3);
  }, 120_000);

  it('a training stage trains the base model once, keeps its training curve, and plots it', async () => {
    const text = `name: trained
model:
  train: { like: unet-mnist-s-eps, steps: 2, batchSize: 4, checkpointEvery: 1 }
sample: { kind: ddim, steps: 2 }
eval: { samples: 4, metrics: [class-entropy], grid: 0, latency: false, floor: false }
`;
    const log = memoryLog();
    const run1 = await runRecipe(recipe(text), { store, log });
    expect(run1.failed).toEqual([]);
    const base = run1.results[0].base;
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(log.lines.some((l) => l.startsWith('training stage: 2 updates like unet-mnist-s-eps'))).toBe(true);
    const dir = store.dir('model', base);
    expect(fs.readFileSync(path.join(dir, 'train-log.jsonl'), 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(1);
    expect(fs.existsSync(path.join(store.root, 'work', 'model', base))).toBe(false);
    const files = await writeReport(run1, path.join(tmp, 'trained'), store.root);
    expect(fs.existsSync(path.join(files.dir, 'plots', 'training-loss.svg'))).toBe(true);
    // A second recipe with the same training stage (another sampler) reuses the trained model.
    const log2 = memoryLog();
    const run2 = await runRecipe(recipe(text.replace('steps: 2 }\neval', 'steps: 3 }\neval')), { store, log: log2 });
    expect(run2.results[0].base).toBe(base);
    expect(log2.lines).toContain(`training stage: reused ${base.slice(0, 12)}`);
  }, 120_000);

  it('applies pipeline steps once, saves them with compression-state.json, restores them later; a failing cell does not stop the others', async () => {
    const text = `name: pipe
model: unet-mnist-s-eps
pipeline:
  - method: scale-out
sample: { kind: ddim, steps: 2 }
eval: { samples: 4, metrics: [kid], grid: 0, latency: false, floor: false }
ablation:
  axes:
    - path: pipeline[0].method
      values: [scale-out, always-fails]
`;
    const v = recipe(text);
    const log = memoryLog();
    const run1 = await runRecipe(v, { store, log });
    expect(run1.failed).toEqual([{ order: 1, params: { 'pipeline[0].method': 'always-fails' }, seed: 0, error: 'this method always fails' }]);
    expect(run1.results).toHaveLength(1);
    const positions = run1.results[0].positions;
    expect(positions.map((p) => [p.position, p.label])).toEqual([['baseline', 'FP'], ['final', 'scale-out']]);
    expect(positions[1].modelKey).not.toBe(positions[0].modelKey);
    expect(positions[1].rows[0].value).not.toBe(positions[0].rows[0].value);
    expect(positions[1].efficiency.quantizedLayers).toBe(1);
    expect(positions[1].efficiency.paper.sizeMiB).toBeLessThan(positions[0].efficiency.paper.sizeMiB);
    const dir = store.dir('model', positions[1].modelKey);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'compression-state.json'), 'utf8'));
    expect(state).toMatchObject({ format: COMPRESSION_STATE_FORMAT, history: [{ method: 'scale-out', version: '0.0.1', config: { factor: 0.5 }, state: { factor: 0.5 } }], bitWidths: { 'out.conv': { weightBits: 8, activationBits: 8 } } });
    expect(fs.existsSync(path.join(dir, 'model.safetensors'))).toBe(true);
    // Drop the unit result but keep the step artifact: the rerun restores the step and reproduces the metric.
    const units = planUnits(v);
    expect(finishedUnits(v, units, store)).toEqual([true, false]);
    for (const d of fs.readdirSync(path.join(store.root, 'unit'))) {
      const rec = JSON.parse(fs.readFileSync(path.join(store.root, 'unit', d, 'artifact.json'), 'utf8')) as { inputs: { params: Record<string, unknown> } };
      if (rec.inputs.params['pipeline[0].method'] === 'scale-out') fs.rmSync(path.join(store.root, 'unit', d), { recursive: true });
    }
    const log2 = memoryLog();
    const run2 = await runRecipe(v, { store, log: log2 });
    expect(log2.lines.some((l) => l.startsWith('pipeline[0] scale-out: restored'))).toBe(true);
    expect(run2.results[0].positions[1].rows[0].value).toBe(positions[1].rows[0].value);
  }, 120_000);
});

describe('runClaimed', () => {
  it('passes over a unit another process has claimed, runs the rest, and takes it up once that process lets go', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-claims-'));
    try {
      const store = new ArtifactStore(tmp);
      const claimOf = (u: string): string => path.join(tmp, 'claims', `${u}.lock`);
      const other = tryLock(claimOf('a'));
      expect(other).not.toBeNull();
      const order: string[] = [];
      const done = runClaimed(store, ['a', 'b', 'c'], (u) => u, async (u, claim) => {
        // The unit is claimed while it runs, so that no other process starts it.
        expect(claim.file).toBe(claimOf(u));
        expect(tryLock(claimOf(u))).toBeNull();
        order.push(u);
        if (u === 'c') setTimeout(() => other?.release(), 50);
      });
      await done;
      expect(order).toEqual(['b', 'c', 'a']);
      // Every claim is released once its unit is done.
      expect(fs.readdirSync(path.join(tmp, 'claims'))).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
