import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { RegisteredMethod } from '../registry/registry';
import { fixtureRegistry, studentMethod, toyCacheMethod } from '../testing/fixture-methods';
import { RecipeError, formatProblem, loadRecipe, validateRecipeFile, validateRecipeText } from './validate';

const registry = fixtureRegistry();

/** The value, or a test failure when it is missing. */
function must<T>(v: T | null | undefined): T {
  if (v === null || v === undefined) throw new Error('expected a value');
  return v;
}


const GOOD = `name: demo
model: unet-mnist-s-eps
pipeline:
  - method: fake-distill
  - method: fake-quant
    config:
      bits: 4
sample:
  kind: ddim
  steps: 20
eval:
  samples: 32
  metrics: [fd, kid]
`;

function errors(text: string, file = 'r.yaml'): string[] {
  const { problems } = validateRecipeText(text, file, { registry, baseDir: os.tmpdir() });
  return problems.filter((p) => p.severity === 'error').map(formatProblem);
}

describe('validateRecipeText', () => {
  it('accepts a good recipe, fills in defaults and resolves method configs', () => {
    const { result, problems } = validateRecipeText(GOOD, 'good.yaml', { registry });
    expect(problems).toEqual([]);
    expect(must(result).recipe.seeds).toEqual([0]);
    expect(must(result).recipe.sample.batchSize).toBe(64);
    expect(must(result).recipe.eval.positions).toEqual(['baseline', 'final']);
    expect(must(result).cells).toHaveLength(1);
    expect(must(result).cells[0].steps.map((s) => s.method.id)).toEqual(['fake-distill', 'fake-quant']);
    expect(must(result).cells[0].steps[1].config).toEqual({ bits: 4, calibration: { samples: 16 } });
    expect(must(result).hash).toMatch(/^[0-9a-f]{64}$/);
    // The hash ignores the description and output folder, but not a number.
    expect(validateRecipeText(`${GOOD}description: x\noutput: {dir: /tmp/x}\n`, 'g.yaml', { registry }).result?.hash).toBe(must(result).hash);
    expect(validateRecipeText(GOOD.replace('steps: 20', 'steps: 21'), 'g.yaml', { registry }).result?.hash).not.toBe(must(result).hash);
  });

  it('reads JSON too', () => {
    const json = JSON.stringify({ name: 'j', model: 'unet-mnist-s-eps', sample: { steps: 5 }, eval: { samples: 4, metrics: ['kid'] } });
    expect(validateRecipeText(json, 'r.json', { registry }).problems).toEqual([]);
  });

  // The malformed recipes of the issue: each gives a precise message with file, line and recipe path.
  it.each([
    ['typo in a method id', GOOD.replace('method: fake-quant', 'method: fake-qaunt'), "r.yaml:5:13: pipeline[1].method: unknown method 'fake-qaunt' — did you mean 'fake-quant'?"],
    ['wrong type', GOOD.replace('samples: 32', 'samples: many'), "r.yaml:12:12: eval.samples: expected a number, found 'many'"],
    ['non-integer', GOOD.replace('samples: 32', 'samples: 2.5'), 'r.yaml:12:12: eval.samples: expected an integer, found 2.5 (not an integer)'],
    ['unknown key', GOOD.replace('eval:', 'evl: 1\neval:'), "r.yaml:11:1: evl: unknown key 'evl' — did you mean 'eval'?"],
    ['out-of-range bits', GOOD.replace('bits: 4', 'bits: 12'), 'r.yaml:7:13: pipeline[1].config.bits: expected a number ≤ 8, found 12'],
    ['unknown key in a method config', GOOD.replace('bits: 4', 'bit: 4'), "r.yaml:7:7: pipeline[1].config.bit: unknown key 'bit' — did you mean 'bits'?"],
    ['missing checkpoint', GOOD.replace('model: unet-mnist-s-eps', 'model:\n  checkpoint: nowhere/model.safetensors'), `r.yaml:3:15: model.checkpoint: missing checkpoint: ${path.join(os.tmpdir(), 'nowhere/model.safetensors')} does not exist`],
    ['unknown shipped model', GOOD.replace('model: unet-mnist-s-eps', 'model: unet-mnist-s-epz'), "r.yaml:2:8: model: unknown shipped model 'unet-mnist-s-epz' — did you mean 'unet-mnist-s-eps'?"],
    ['incompatible step order', GOOD.replace('  - method: fake-distill\n', '  - method: fake-cache\n  - method: fake-distill\n'), "r.yaml:4:13: pipeline[0].method: 'fake-cache' must come after 'fake-distill' in the pipeline"],
    ['conflicting methods', GOOD.replace('  - method: fake-distill\n', '  - method: fake-distill\n  - method: fake-cache\n'), "r.yaml:5:13: pipeline[1].method: 'fake-cache' cannot be combined with 'fake-quant' (pipeline[2])"],
    ['bad YAML', GOOD.replace('  kind: ddim', ' kind: ddim'), 'r.yaml:9:8: invalid YAML: Nested mappings are not allowed in compact mappings'],
    ['empty pipeline', GOOD.replace(/pipeline:\n( {2}.*\n)+/, 'pipeline: []\n'), 'r.yaml:3:1: pipeline: expected at least 1 entry, found an empty list (omit pipeline to evaluate the base model alone)'],
    ['negative steps', GOOD.replace('steps: 20', 'steps: -20'), 'r.yaml:10:10: sample.steps: expected a number ≥ 1, found -20'],
    ['unknown sampler', GOOD.replace('kind: ddim', 'kind: dpm'), "r.yaml:9:9: sample.kind: unknown sampler 'dpm' (registered: ddim, ddpm, renoise)"],
    ['unknown metric', GOOD.replace('[fd, kid]', '[fd, fid]'), "r.yaml:13:17: eval.metrics[1]: expected one of"],
    ['an axis path that does not exist', `${GOOD}ablation:\n  axes:\n    - path: sample.stesp\n      values: [10, 20]\n`, "r.yaml:16:13: ablation.axes[0].path: 'sample.stesp' is not a path of this recipe — did you mean 'sample.steps'?"],
    ['an axis into a method config key that does not exist', `${GOOD}ablation:\n  axes:\n    - path: pipeline[1].config.bitz\n      values: [2, 4]\n`, "ablation.axes[0].path: 'pipeline[1].config.bitz' is not a path of this recipe — did you mean 'pipeline[1].config.bits'?"],
    ['an axis past the pipeline', `${GOOD}ablation:\n  axes:\n    - path: pipeline[5].config.bits\n      values: [2, 4]\n`, "ablation.axes[0].path: 'pipeline[5].config.bits' is not a path of this recipe"],
    ['zip of unequal axes', `${GOOD}ablation:\n  mode: zip\n  axes:\n    - path: sample.steps\n      values: [10, 20]\n    - path: sample.kind\n      values: [ddim]\n`, 'ablation: zip needs axes of equal length, got 2, 1 values'],
    ['labels that do not match the values', `${GOOD}ablation:\n  axes:\n    - path: sample.steps\n      values: [10, 20]\n      labels: [ten]\n`, 'ablation.axes[0]: 1 labels for 2 values'],
    ['not a mapping', '- a\n- b\n', 'r.yaml:1:1: a recipe is a mapping of sections (name, model, sample, eval, …), found a list'],
    ['a missing section', GOOD.replace(/sample:\n {2}kind: ddim\n {2}steps: 20\n/, ''), 'r.yaml:1:1: sample: expected an object, found nothing (the key is missing)'],
  ])('%s', (_what, text, message) => {
    const found = errors(text);
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((m) => m.startsWith(message) || m.includes(message))).toBe(true);
  });

  it('reports every problem at once', () => {
    const text = GOOD.replace('bits: 4', 'bits: 12').replace('steps: 20', 'steps: -1').replace('[fd, kid]', '[fid]').replace('method: fake-distill', 'method: fake-distil');
    expect(errors(text)).toHaveLength(4);
  });

  it('skips invalid ablation cells with a warning and keeps the valid ones', () => {
    const text = `${GOOD}ablation:\n  axes:\n    - path: pipeline[1].config.bits\n      values: [4, 16, 8]\n    - path: sample.steps\n      values: [10, 20]\n`;
    const { result, problems } = validateRecipeText(text, 'r.yaml', { registry });
    expect(result).toBeDefined();
    expect(must(result).cells.map((c) => c.params)).toEqual([
      { 'pipeline[1].config.bits': 4, 'sample.steps': 10 },
      { 'pipeline[1].config.bits': 4, 'sample.steps': 20 },
      { 'pipeline[1].config.bits': 8, 'sample.steps': 10 },
      { 'pipeline[1].config.bits': 8, 'sample.steps': 20 },
    ]);
    expect(must(result).cells[2].steps[1].config).toEqual({ bits: 8, calibration: { samples: 16 } });
    expect(must(result).cells[3].recipe.sample.steps).toBe(20);
    const warnings = problems.filter((p) => p.severity === 'warning').map((p) => p.message);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toBe('cell 2 (pipeline[1].config.bits=16, sample.steps=10) is invalid and will be skipped: pipeline[1].config.bits: expected a number ≤ 8, found 16');
    // All cells invalid is an error.
    const none = `${GOOD}ablation:\n  axes:\n    - path: sample.steps\n      values: [0, -1]\n`;
    expect(errors(none)).toContain('r.yaml:14:1: ablation: none of the 2 cells is valid (see the warnings)');
  });

  it('varies whole pipeline steps by an axis on pipeline[i], shown by their labels', () => {
    const text = `${GOOD}ablation:\n  axes:\n    - path: pipeline[1]\n      name: step\n      labels: [q4, q8]\n      values:\n        - { method: fake-quant, config: { bits: 4 } }\n        - { method: fake-quant, config: { bits: 8 } }\n`;
    const { result, problems } = validateRecipeText(text, 'r.yaml', { registry });
    expect(problems).toEqual([]);
    expect(must(result).cells.map((c) => c.params)).toEqual([{ step: 'q4' }, { step: 'q8' }]);
    expect(must(result).cells.map((c) => (c.steps[1].config as { bits: number }).bits)).toEqual([4, 8]);
  });

  it('an axis value null on pipeline evaluates the base model alone in that cell', () => {
    const text = `${GOOD}ablation:\n  mode: zip\n  axes:\n    - path: pipeline\n      name: method\n      labels: [FP, distilled]\n      values: [null, [{ method: fake-distill }]]\n    - path: sample.steps\n      values: [10, 20]\n`;
    const { result, problems } = validateRecipeText(text, 'r.yaml', { registry });
    expect(problems).toEqual([]);
    expect(must(result).cells.map((c) => [c.steps.length, c.recipe.sample.steps])).toEqual([[0, 10], [1, 20]]);
  });

  it('loadRecipe reads files, throws RecipeError with all problems, and touches no tensors', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-recipe-'));
    try {
      const before = tf.memory().numTensors;
      const good = path.join(dir, 'good.yaml');
      fs.writeFileSync(good, GOOD);
      expect(loadRecipe(good, { registry }).recipe.name).toBe('demo');
      const bad = path.join(dir, 'bad.yaml');
      fs.writeFileSync(bad, GOOD.replace('bits: 4', 'bits: 1').replace('steps: 20', 'steps: 0'));
      expect(() => loadRecipe(bad, { registry })).toThrow(RecipeError);
      try {
        loadRecipe(bad, { registry });
      } catch (err) {
        expect((err as RecipeError).problems).toHaveLength(2);
        expect((err as Error).message).toContain(`${bad}:7:13: pipeline[1].config.bits: expected a number ≥ 2, found 1`);
      }
      expect(validateRecipeFile(path.join(dir, 'r.txt'), { registry }).problems[0].message).toMatch(/must end in .yaml/);
      expect(validateRecipeFile(path.join(dir, 'missing.yaml'), { registry }).problems[0].message).toMatch(/cannot read the recipe/);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('method warnings at validation', () => {
  // A caching fixture that warns over few steps, as the encoder-propagation methods do; it sees the sampler of its
  // position (a student's, when one comes earlier) and the ids before it.
  const cache: RegisteredMethod = { ...toyCacheMethod, warnings: (_config, at) => (at.sampler.steps <= 4 ? [`only ${at.sampler.steps} ${at.sampler.kind} steps after [${at.before.join(', ')}]`] : []) };
  const reg = fixtureRegistry().register(studentMethod, cache);
  const recipe = (pipeline: string, steps: number): string => `name: w\nmodel: unet-mnist-s-eps\npipeline:\n${pipeline}sample: { kind: ddim, steps: ${steps} }\neval: { samples: 8, metrics: [eps-mse] }\n`;

  it('reports a method\'s warnings for the sampler at its position, without stopping the recipe', () => {
    const after = validateRecipeText(recipe('  - method: fake-student\n    config: { steps: 2 }\n  - method: toy-cache\n', 2), 'w.yaml', { registry: reg });
    expect(after.result).not.toBeNull();
    expect(after.problems.map(formatProblem).join('\n')).toMatch(/warning: pipeline\[1\]\.config: only 2 renoise steps after \[fake-student\]/);
    const plain = validateRecipeText(recipe('  - method: toy-cache\n', 4), 'w.yaml', { registry: reg });
    expect(plain.problems.map((p) => p.message)).toEqual(['only 4 ddim steps after []']);
    expect(validateRecipeText(recipe('  - method: toy-cache\n', 20), 'w.yaml', { registry: reg }).problems).toEqual([]);
  });

  it('refuses eps-mse together with eval.pairedSteps', () => {
    const text = recipe('  - method: toy-cache\n', 20).replace('metrics: [eps-mse] }', 'metrics: [eps-mse, sample-mse], pairedSteps: 50 }');
    expect(validateRecipeText(text, 'w.yaml', { registry: reg }).problems.map(formatProblem).join()).toMatch(/eval\.pairedSteps: eps-mse is teacher-forced along the FP trajectory of the paired sampler/);
  });

  it('reports the warnings of a method on a pipeline ablation axis, per cell', () => {
    const text = `name: w\nmodel: unet-mnist-s-eps\nsample: { kind: ddim, steps: 3 }\neval: { samples: 8, metrics: [eps-mse] }\nablation:\n  axes:\n    - path: pipeline\n      name: method\n      labels: [cache, none]\n      values: [[{ method: toy-cache }], null]\n`;
    const { result, problems } = validateRecipeText(text, 'w.yaml', { registry: reg });
    expect(result?.cells).toHaveLength(2);
    expect(problems.map((p) => [p.severity, p.message])).toEqual([['warning', 'cell 0 (method="cache"): pipeline[0].config: only 3 ddim steps after []']]);
  });
});
