import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { initEngine } from '@diffpress/core';
import { loadDiffusionModel, shippedModelsDir } from '@diffpress/diffusion';
import { moduleDigest, sampleSetKey, samplerLabel } from '@diffpress/eval';
import { MethodRegistry, RegisteredMethod } from '../registry/registry';
import { ValidatedRecipe, validateRecipeText } from '../recipe/validate';
import { buildTable } from '../report/table';
import { ArtifactStore } from '../store/store';
import { validRecipe } from '../testing/valid-recipe';
import { FIXTURE_STUDENT_SAMPLER, scaleOutMethod, studentApplyCalls, studentMethod } from '../testing/fixture-methods';
import { memoryLog } from './progress';
import { runRecipe } from './runner';

/** Reads the sampler although it does not declare it: the runner must refuse (the step would be keyed wrongly). */
const sneaky: RegisteredMethod = {
  id: 'sneaky', family: 'distillation', version: '0.0.1', description: 'reads an undeclared input', config: z.strictObject({}), reads: [],
  apply: async (ctx) => ({ state: ctx.sampler.steps }),
  restore: async () => ({}),
};

/** What a training-like step saw of its context. */
const seen: Array<{ dataSize: number; shape: number[]; teacher: string; parentIsTeacher: boolean; checkpoints: string }> = [];

/** Reads the recipe's data and the teacher, as QAT and distillation do. */
const trainLike: RegisteredMethod = {
  id: 'fake-train', family: 'distillation', version: '0.0.1', description: 'reads data and teacher', config: z.strictObject({}), reads: ['data'],
  apply: async (ctx) => {
    seen.push({ dataSize: ctx.data.size, shape: [...ctx.data.sampleShape], teacher: ctx.teacher.id, parentIsTeacher: ctx.teacher.unet === ctx.model.unet, checkpoints: ctx.checkpoints.dir });
    ctx.progress(1, 1);
    return {};
  },
  restore: async () => ({}),
};

/** Changes its parent's weights in place instead of a copy: the runner must refuse (the parent is the FP teacher). */
const inPlace: RegisteredMethod = {
  id: 'in-place', family: 'ptq', version: '0.0.1', description: 'mutates the teacher', config: z.strictObject({}), reads: [],
  apply: async (ctx) => {
    const w = ctx.model.unet.out.conv.weight;
    w.assign(tf.mul(w, 0.5));
    return {};
  },
  restore: async () => ({}),
};

const registry = new MethodRegistry().register(studentMethod, sneaky, trainLike, scaleOutMethod, inPlace);

function recipe(text: string): ValidatedRecipe {
  return validRecipe(text, registry);
}

const STUDENT = `name: student
model: unet-mnist-s-eps
sample: { kind: ddim, steps: 2, batchSize: 8 }
pipeline: [{ method: fake-student }]
eval: { samples: 4, metrics: [class-entropy], grid: 0, latency: false, floor: false }
ablation:
  axes:
    - path: sample.clipDenoised
      values: [true, false]
`;

describe('pipeline step seams: student samplers, step keys, the training context', () => {
  let tmp: string;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-student-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a student sampler returned by a step is used at later positions and in their sample key; a sampling-only axis reuses the step', async () => {
    const store = new ArtifactStore(path.join(tmp, 'store'));
    studentApplyCalls.count = 0;
    const summary = await runRecipe(recipe(STUDENT), { store, log: memoryLog() });
    expect(summary.failed).toEqual([]);
    // Two cells differ only in a sampler field: the step reads no recipe input, so it was applied once.
    expect(studentApplyCalls.count).toBe(1);
    const model = loadDiffusionModel(path.join(shippedModelsDir(), 'unet-mnist-s-eps', 'model.safetensors'));
    const digest = moduleDigest(model.unet);
    for (const unit of summary.results) {
      const [baseline, final] = unit.positions;
      const clip = unit.params['sample.clipDenoised'] as boolean;
      expect(baseline.sampleKey).toBe(sampleSetKey(digest, model, { kind: 'ddim', steps: 2, clipDenoised: clip }, 0, [28, 28, 1]));
      expect(baseline.sampler).toBeUndefined();
      // The student position is sampled (and keyed) with the student's sampler, whatever the recipe's says.
      expect(final.sampleKey).toBe(sampleSetKey(digest, model, FIXTURE_STUDENT_SAMPLER, 0, [28, 28, 1]));
      expect(final.sampler).toBe(samplerLabel(FIXTURE_STUDENT_SAMPLER));
      expect(final.rows[0].sampler).toBe(samplerLabel(FIXTURE_STUDENT_SAMPLER));
    }
    expect(summary.results[0].positions[1].modelKey).toBe(summary.results[1].positions[1].modelKey);
    // The report names each row's own sampler and steps.
    const table = buildTable(summary);
    const student = table.rows.filter((r) => r.kind === 'compressed');
    expect(student.map((r) => [r.sampler, r.steps])).toEqual([[samplerLabel(FIXTURE_STUDENT_SAMPLER), 2], [samplerLabel(FIXTURE_STUDENT_SAMPLER), 2]]);
    expect(table.rows.filter((r) => r.kind === 'fp').map((r) => r.sampler)).toEqual(['ddim-2', 'ddim-2-noclip']);
    model.unet.dispose();
  }, 180_000);

  it('a chain of students is checked at its last student only (earlier ones sample their positions themselves)', () => {
    const chain = (steps: number): string => STUDENT.replace('steps: 2, batchSize', `steps: ${steps}, batchSize`).replace('pipeline: [{ method: fake-student }]', 'pipeline: [{ method: fake-student, config: { steps: 4 } }, { method: fake-student, config: { steps: 2 } }]');
    expect(validateRecipeText(chain(2), 'test.yaml', { registry }).problems).toEqual([]);
    expect(validateRecipeText(chain(4), 'test.yaml', { registry }).problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^pipeline\[1\] fake-student samples its student with its own 2-step sampler/),
    ]);
  });

  it('validation rejects a recipe sampler whose step count conflicts with a declared student', () => {
    const { result, problems } = validateRecipeText(STUDENT.replace('steps: 2', 'steps: 8'), 'test.yaml', { registry });
    expect(result).toBeUndefined();
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      `sample.steps: pipeline[0] fake-student samples its student with its own 2-step sampler (${samplerLabel(FIXTURE_STUDENT_SAMPLER)}), but sample.steps is 8: set sample.steps to 2 so the positions before it are sampled at the same step count`,
    ]);
  });

  it('a step that reads an input it does not declare fails with a message naming it', async () => {
    const store = new ArtifactStore(path.join(tmp, 'sneaky'));
    const text = `name: sneaky\nmodel: unet-mnist-s-eps\nsample: { kind: ddim, steps: 2 }\npipeline: [{ method: sneaky }]\neval: { samples: 2, metrics: [class-entropy], positions: [final], grid: 0, latency: false, floor: false }\n`;
    const summary = await runRecipe(recipe(text), { store, log: memoryLog() });
    expect(summary.failed.map((f) => f.error)).toEqual(["sneaky reads ctx.sampler but does not list 'sampler' in its reads; declare it so the step is keyed on it"]);
  }, 120_000);

  it('a training step gets the recipe’s training split, the FP base model as its frozen teacher, progress and a checkpoint folder', async () => {
    const store = new ArtifactStore(path.join(tmp, 'train'));
    const log = memoryLog();
    const text = `name: train\nmodel: unet-mnist-s-eps\nsample: { kind: ddim, steps: 2 }\npipeline: [{ method: scale-out }, { method: fake-train }]\neval: { samples: 2, metrics: [class-entropy], positions: [final], grid: 0, latency: false, floor: false }\n`;
    seen.length = 0;
    const summary = await runRecipe(recipe(text), { store, log });
    expect(summary.failed).toEqual([]);
    expect(seen).toHaveLength(1);
    // MNIST as shipped: 8000 training digits; the teacher is the base model, not the scaled parent.
    expect(seen[0]).toMatchObject({ dataSize: 8000, shape: [28, 28, 1], teacher: 'unet-mnist-s-eps', parentIsTeacher: false });
    expect(seen[0].checkpoints.startsWith(path.join(store.root, 'work', 'model'))).toBe(true);
    expect(log.lines.some((l) => l.includes('pipeline[1] fake-train') && l.includes('1/1'))).toBe(true);
  }, 120_000);

  it('a step that changes the FP base model in place fails with a message saying so', async () => {
    const store = new ArtifactStore(path.join(tmp, 'in-place'));
    const text = `name: inplace\nmodel: unet-mnist-s-eps\nsample: { kind: ddim, steps: 2 }\npipeline: [{ method: in-place }]\neval: { samples: 2, metrics: [class-entropy], positions: [final], grid: 0, latency: false, floor: false }\n`;
    const summary = await runRecipe(recipe(text), { store, log: memoryLog() });
    expect(summary.failed.map((f) => f.error)).toEqual(['pipeline[0] in-place changed the FP base model (every step\'s teacher and the baseline); a step must train or change a copy']);
  }, 120_000);
});
