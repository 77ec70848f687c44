import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_RECIPE, Io, listCommand, schemaCommand, validateCommand } from './commands';

function capture(): Io & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return { outLines, errLines, out: (t) => outLines.push(t), err: (t) => errLines.push(t) };
}

const MALFORMED = path.join(__dirname, 'testing', 'malformed');

describe('experiments validate', () => {
  const files = fs.readdirSync(MALFORMED).filter((f) => f.endsWith('.yaml')).sort();

  it('has at least ten malformed recipes, each stating the message it must produce', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) expect(fs.readFileSync(path.join(MALFORMED, f), 'utf8')).toMatch(/^# expect: \S/);
  });

  it.each(fs.readdirSync(MALFORMED).filter((f) => f.endsWith('.yaml')).sort())('%s: exits non-zero with its precise message', (f) => {
    const file = path.join(MALFORMED, f);
    const expected = (/^# expect: (.*)$/m.exec(fs.readFileSync(file, 'utf8'))?.[1] ?? '(no expectation)').trim();
    const io = capture();
    expect(validateCommand([file], io)).toBe(1);
    expect(io.outLines).toEqual([]);
    // Every message names the file and, where the problem has a place, its line.
    expect(io.errLines.every((l) => l.startsWith(`${file}:`))).toBe(true);
    expect(io.errLines.some((l) => l.includes(expected))).toBe(true);
  });

  it('validates all malformed recipes at once, touching no tensor', () => {
    const before = tf.memory().numTensors;
    const io = capture();
    expect(validateCommand(files.map((f) => path.join(MALFORMED, f)), io)).toBe(1);
    expect(io.errLines.length).toBeGreaterThanOrEqual(files.length);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('accepts every shipped recipe, the default included', () => {
    const dir = path.dirname(DEFAULT_RECIPE);
    const shipped = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));
    expect(shipped).toContain(DEFAULT_RECIPE);
    expect(shipped).toContain(path.join(dir, 'ptq', 'methods-bits.yaml'));
    const io = capture();
    expect(validateCommand(shipped, io)).toBe(0);
    expect(io.errLines).toEqual([]);
    expect(io.outLines).toContain(`${DEFAULT_RECIPE}: valid (9 cells × 1 seed)`);
    expect(io.outLines).toContain(`${path.join(dir, 'ptq', 'methods-bits.yaml')}: valid (15 cells × 3 seeds)`);
  });

  it('asks for files when given none', () => {
    const io = capture();
    expect(validateCommand([], io)).toBe(2);
  });
});

describe('experiments schema and list', () => {
  it('the committed recipe JSON Schema is up to date with the registry', () => {
    const io = capture();
    expect(schemaCommand(io, true)).toBe(0);
  });

  it('list prints every registered method with its fields, nested ones as dotted names, types with their ranges', () => {
    const io = capture();
    expect(listCommand(io)).toBe(0);
    const out = io.outLines;
    expect(out).toContain('q-diffusion  [ptq]  v0.1.0  — Q-Diffusion: Quantizing Diffusion Models (arXiv:2302.04304)');
    // PTQ calibrates for the sampler, so its steps are keyed on it.
    expect(out[out.indexOf('q-diffusion  [ptq]  v0.1.0  — Q-Diffusion: Quantizing Diffusion Models (arXiv:2302.04304)') + 2]).toBe('  reads: sampler');
    // Fields of q-diffusion's entry (other methods, listed earlier by family, have fields of the same names).
    const qd = out.indexOf('q-diffusion  [ptq]  v0.1.0  — Q-Diffusion: Quantizing Diffusion Models (arXiv:2302.04304)');
    const field = (name: string): string | undefined => out.slice(qd).find((l) => l.trim().startsWith(`${name}:`));
    expect(field('weightBits')).toMatch(/^ {4}weightBits: integer 2…8 = \d {2}— /);
    expect(field('activationBits')).toContain('integer 4…16 | 32');
    expect(field('weights.iters')).toContain('integer 0…100000 = 1000');
    expect(field('calibration.step')).toMatch(/calibration\.step: integer 0… {2}— /);
  });
});
