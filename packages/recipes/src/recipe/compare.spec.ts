import * as os from 'os';
import { fixtureRegistry, studentMethod } from '../testing/fixture-methods';
import { expectedRows } from './compare';
import { formatProblem, validateRecipeText } from './validate';

const registry = fixtureRegistry().register(studentMethod);

// The shape of the default ablation: FP at two step counts, two quantized rows at 20 steps named by the method axis.
const ZIP = `name: cmp
model: unet-mnist-s-eps
sample: { kind: ddim, steps: 20 }
eval: { samples: 32, metrics: [fd, sample-mse, sample-psnr] }
ablation:
  mode: zip
  axes:
    - path: sample.steps
      values: [10, 20, 20, 20]
    - path: pipeline
      name: method
      labels: [FP, FP, Q W4, Q W8]
      values:
        - null
        - null
        - [{ method: fake-quant, config: { bits: 4 } }]
        - [{ method: fake-quant, config: { bits: 8 } }]
`;

function validate(compare: string, text = ZIP, ablation = true): { errors: string[]; warnings: string[]; hash?: string } {
  const { result, problems } = validateRecipeText(`${text}${compare}`, 'r.yaml', { registry, baseDir: os.tmpdir(), ablation });
  return {
    errors: problems.filter((p) => p.severity === 'error').map(formatProblem),
    warnings: problems.filter((p) => p.severity === 'warning').map(formatProblem),
    hash: result?.hash,
  };
}

describe('compare in a recipe', () => {
  it('predicts the report rows from the cells: the floor, one FP row per distinct FP evaluation, the steps', () => {
    const { result } = validateRecipeText(ZIP, 'r.yaml', { registry });
    const rows = expectedRows(result?.cells ?? [], new Set(['method']), true);
    expect(rows.map((r) => [r.kind, r.label, r.sampler, r.params])).toEqual([
      ['floor', 'floor', '—', {}],
      ['fp', 'FP', 'ddim-10', { 'sample.steps': 10 }],
      ['fp', 'FP', 'ddim-20', { 'sample.steps': 20 }],
      ['compressed', 'fake-quant', 'ddim-20', { 'sample.steps': 20, method: 'Q W4' }],
      ['compressed', 'fake-quant', 'ddim-20', { 'sample.steps': 20, method: 'Q W8' }],
    ]);
    // The quantized rows are paired with the FP row at 20 steps, which three cells share.
    expect(rows[3].reference).toBe(rows[2].reference);
    expect(rows[1].reference).not.toBe(rows[2].reference);
  });

  it('accepts comparisons that name rows by axis labels, samplers and columns, with margins; they change no hash', () => {
    const good = validate(`compare:
  - { a: Q W4, b: Q W8, metric: sample-mse, margin: 2% }
  - { a: Q W4, b: "FP, ddim-20", metric: sample-mse, margin: 0.001 }
  - { a: { method: Q W8 }, b: { model: FP, sample.steps: 10 }, metric: fd }
  - { a: floor, b: "FP, sample.steps=20", metric: fd }
`);
    expect(good.errors).toEqual([]);
    expect(good.warnings).toEqual([]);
    expect(good.hash).toBe(validate('').hash);
  });

  it('reports unknown and ambiguous selectors with the rows to choose from, at the entry’s line', () => {
    const bad = validate(`compare:
  - { a: Q W5, b: FP, metric: sample-mse }
`);
    expect(bad.errors).toEqual([
      "r.yaml:19:10: compare[0].a: 'Q W5' selects no row of the report — did you mean 'Q W4'? (rows: 'floor', 'FP, ddim-10', 'FP, ddim-20', 'Q W4', 'Q W8')",
      "r.yaml:19:19: compare[0].b: 'FP' selects 2 rows ('FP, ddim-10', 'FP, ddim-20'); add a term to pick one",
    ]);
  });

  it('refuses metrics the recipe does not evaluate and pairs that cannot be compared', () => {
    const bad = validate(`compare:
  - { a: Q W4, b: Q W8, metric: kid }
  - { a: Q W4, b: "FP, ddim-20", metric: sample-psnr }
  - { a: Q W4, b: "FP, ddim-10", metric: sample-mse }
  - { a: Q W4, b: Q W4, metric: fd }
`);
    expect(bad.errors).toHaveLength(4);
    expect(bad.errors[0]).toBe("r.yaml:19:33: compare[0].metric: 'kid' is not among the metrics this recipe evaluates (fd, sample-mse, sample-psnr)");
    expect(bad.errors[1]).toMatch(/^r\.yaml:20:5: compare\[1\]: the FP row's sample-psnr against itself is Infinity, so a − b has no interval; compare on sample-mse/);
    expect(bad.errors[2]).toMatch(/^r\.yaml:21:5: compare\[2\]: sample-mse compares each row with the FP samples of its own sampler and cell, and 'Q W4' and 'FP, ddim-10' are paired with different FP evaluations/);
    expect(bad.errors[3]).toBe('r.yaml:22:5: compare[3]: a and b select the same row');
    // Margins are positive: an absolute number or a percentage.
    expect(validate('compare:\n  - { a: Q W4, b: Q W8, metric: fd, margin: 0% }\n').errors[0]).toMatch(/compare\[0\]\.margin/);
    expect(validate('compare:\n  - { a: Q W4, b: Q W8, metric: fd, margin: two }\n').errors[0]).toMatch(/compare\[0\]\.margin/);
  });

  it('with eval.pairedSteps every row is paired with the FP row at those steps, across the sample.steps axis', () => {
    const text = ZIP.replace('metrics: [fd, sample-mse, sample-psnr] }', 'metrics: [fd, sample-mse, sample-psnr], pairedSteps: 20 }');
    const { result } = validateRecipeText(text, 'r.yaml', { registry });
    const rows = expectedRows(result?.cells ?? [], new Set(['method']), true, new Set(['sample.steps']));
    // FP at 10 steps is measured against FP at 20 (its own evaluation differs from its reference); FP at 20 is its own.
    expect(rows[1].reference).toBe(rows[2].reference);
    expect(rows[1].evaluation).toBeDefined();
    expect(rows[1].evaluation).not.toBe(rows[1].reference);
    expect(rows[2].evaluation).toBeUndefined();
    expect(rows[3].reference).toBe(rows[2].reference);
    // So a quantized row can be compared with FP at 10 steps on sample-mse (both against FP at 20).
    expect(validate('compare:\n  - { a: Q W4, b: "FP, ddim-10", metric: sample-mse }\n', text).errors).toEqual([]);
  });

  it('cannot be varied by an ablation axis; without the ablation, comparisons of its rows become warnings', () => {
    const axis = validate('', ZIP.replace('  axes:\n', '  axes:\n    - path: compare\n      values: [null, null, null, null]\n'));
    expect(axis.errors).toContain("r.yaml:8:13: ablation.axes[0].path: 'compare': comparisons are between the rows of all cells; they cannot vary by cell");
    const alone = validate('compare:\n  - { a: Q W4, b: Q W8, metric: fd }\n', ZIP, false);
    expect(alone.errors).toEqual([]);
    expect(alone.warnings[0]).toMatch(/compare\[0\]\.a: 'Q W4' selects no row of the report .* — without the ablation this comparison is skipped$/);
  });
});
