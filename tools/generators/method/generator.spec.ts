import * as fs from 'fs';
import * as path from 'path';
import { Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { initEngine } from '@diffpress/core';
import { DiffusionMethod, checkMethodContract } from '@diffpress/diffusion';
import methodGenerator from './generator';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** A virtual workspace holding the files the generator edits, copied from this repository. */
function workspace(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  for (const f of ['tsconfig.base.json', 'packages/recipes/package.json', 'packages/recipes/src/registry/builtin.ts']) {
    tree.write(f, fs.readFileSync(path.join(ROOT, f), 'utf8'));
  }
  return tree;
}

describe('tools:method generator', () => {
  let scratch: string;
  beforeAll(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
    // Inside the repository (tmp/ is ignored) so that the generated code resolves zod and tfjs like a package would.
    fs.mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
    scratch = fs.mkdtempSync(path.join(ROOT, 'tmp', 'generator-'));
  });
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('scaffolds a new package with three method files and wires it into the workspace', async () => {
    const tree = workspace();
    const before = new Set(tree.listChanges().map((c) => c.path));
    await methodGenerator(tree, { id: 'my-quant', family: 'ptq', description: "rounds weights, the user's way" });
    const created = tree.listChanges().map((c) => c.path).filter((p) => !before.has(p)).sort();
    expect(created).toEqual([
      'packages/my-quant/jest.config.js',
      'packages/my-quant/package.json',
      'packages/my-quant/project.json',
      'packages/my-quant/src/index.ts',
      'packages/my-quant/src/my-quant/config.ts',
      'packages/my-quant/src/my-quant/my-quant.spec.ts',
      'packages/my-quant/src/my-quant/my-quant.ts',
      'packages/my-quant/tsconfig.json',
      'packages/my-quant/tsconfig.lib.json',
      'packages/my-quant/tsconfig.spec.json',
    ]);
    expect(JSON.parse(tree.read('packages/my-quant/project.json', 'utf-8') ?? '{}').tags).toEqual(['layer:method']);
    expect(JSON.parse(tree.read('tsconfig.base.json', 'utf-8') ?? '{}').compilerOptions.paths['@diffpress/my-quant']).toEqual(['packages/my-quant/src/index.ts']);
    expect(JSON.parse(tree.read('packages/recipes/package.json', 'utf-8') ?? '{}').dependencies['@diffpress/my-quant']).toBe('0.1.0');
    const builtin = tree.read('packages/recipes/src/registry/builtin.ts', 'utf-8') ?? '';
    expect(builtin).toContain("import { methods as myQuantMethods } from '@diffpress/my-quant';");
    expect(builtin).toContain('  myQuantMethods,\n');
    const index = tree.read('packages/my-quant/src/index.ts', 'utf-8') ?? '';
    expect(index).toContain('  myQuant as DiffusionMethod<unknown>,\n');
    expect(tree.read('packages/my-quant/src/my-quant/my-quant.ts', 'utf-8')).toContain("description: 'rounds weights, the user’s way'");

    // The scaffolded method, as generated, keeps the method contract.
    for (const f of ['config.ts', 'my-quant.ts']) {
      fs.writeFileSync(path.join(scratch, f), tree.read(`packages/my-quant/src/my-quant/${f}`, 'utf-8') ?? '');
    }
    const generated = (await import(path.join(scratch, 'my-quant.ts'))) as { myQuant: DiffusionMethod<{ bits: number }> };
    expect(generated.myQuant.id).toBe('my-quant');
    await checkMethodContract(generated.myQuant, { configs: [{}, { bits: 3 }] });
  }, 120_000);

  it('adds a second method to an existing package with three files and index lines only', async () => {
    const tree = workspace();
    await methodGenerator(tree, { id: 'first', family: 'ptq', package: 'my-ptq' });
    const before = new Set(tree.listChanges().map((c) => c.path));
    const builtinBefore = tree.read('packages/recipes/src/registry/builtin.ts', 'utf-8');
    await methodGenerator(tree, { id: 'second-one', family: 'ptq', package: 'my-ptq' });
    const added = tree.listChanges().map((c) => c.path).filter((p) => !before.has(p)).sort();
    expect(added).toEqual(['packages/my-ptq/src/second-one/config.ts', 'packages/my-ptq/src/second-one/second-one.spec.ts', 'packages/my-ptq/src/second-one/second-one.ts']);
    expect(tree.read('packages/recipes/src/registry/builtin.ts', 'utf-8')).toBe(builtinBefore);
    const index = tree.read('packages/my-ptq/src/index.ts', 'utf-8') ?? '';
    expect(index).toContain('  first as DiffusionMethod<unknown>,\n  secondOne as DiffusionMethod<unknown>,\n');
  });

  it('refuses bad ids and existing methods', async () => {
    const tree = workspace();
    await expect(methodGenerator(tree, { id: 'My_Quant', family: 'ptq' })).rejects.toThrow(/must be kebab-case/);
    await methodGenerator(tree, { id: 'twice', family: 'ptq' });
    await expect(methodGenerator(tree, { id: 'twice', family: 'ptq' })).rejects.toThrow(/exists already/);
  });
});
