/**
 * `npx nx g @diffpress/tools:method <id> --family=ptq [--package=<folder>] [--description="…"]`
 *
 * Scaffolds a compression method as the architecture guide §6 asks: three hand-written files in
 * `packages/<package>/src/<id>/` (implementation, config, test) and one line in the package's index. A package that
 * does not exist yet is created (package.json, project.json tagged `layer:method`, tsconfigs, jest config) and wired
 * into the workspace: the TypeScript path, the recipes package's dependency and its registry of method packages.
 * Run `npm install` afterwards so the new package is linked in node_modules.
 */
import * as path from 'path';
import { Tree, generateFiles, joinPathFragments, names, updateJson } from '@nx/devkit';

/** Options of the generator (see schema.json). */
export interface MethodGeneratorOptions {
  /** Method id, kebab-case. */
  id: string;
  /** Method family. */
  family: 'binarization' | 'ptq' | 'distillation' | 'encoder-propagation';
  /** Folder under packages/ (default: the id). */
  package?: string;
  /** One line for `experiments list`. */
  description?: string;
}

const ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const IMPORT_MARK = '// tools:method inserts one import';
const ENTRY_MARK = '  // tools:method inserts one entry';

/** Inserts `line` before the line that starts with `mark` (the markers keep generated edits stable and reviewable). */
function insertBefore(tree: Tree, file: string, mark: string, line: string): void {
  const text = tree.read(file, 'utf-8');
  if (text === null) throw new Error(`${file} does not exist`);
  if (text.includes(line)) return;
  const at = text.indexOf(mark);
  if (at < 0) throw new Error(`${file} has no '${mark.trim()}' marker; add the line by hand: ${line.trim()}`);
  tree.write(file, text.slice(0, at) + line + '\n' + text.slice(at));
}

function createPackage(tree: Tree, pkg: string, family: string): void {
  const root = `packages/${pkg}`;
  const scope = `@diffpress/${pkg}`;
  tree.write(
    `${root}/package.json`,
    JSON.stringify(
      {
        name: scope,
        version: '0.1.0',
        private: true,
        description: `diffpress ${family} methods`,
        license: 'MIT',
        main: './src/index.js',
        types: './src/index.d.ts',
        dependencies: { '@diffpress/core': '0.1.0', '@diffpress/diffusion': '0.1.0', '@tensorflow/tfjs': '4.22.0', zod: '^4.6.7' },
      },
      null,
      2,
    ) + '\n',
  );
  tree.write(
    `${root}/project.json`,
    JSON.stringify(
      {
        name: pkg,
        $schema: '../../node_modules/nx/schemas/project-schema.json',
        sourceRoot: `${root}/src`,
        projectType: 'library',
        tags: ['layer:method'],
        targets: { build: {}, typecheck: {}, lint: {}, test: {} },
      },
      null,
      2,
    ) + '\n',
  );
  tree.write(`${root}/tsconfig.json`, JSON.stringify({ extends: '../../tsconfig.base.json', files: [], references: [{ path: './tsconfig.lib.json' }, { path: './tsconfig.spec.json' }] }, null, 2) + '\n');
  tree.write(`${root}/tsconfig.lib.json`, JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { outDir: '../../dist/out-tsc', types: ['node'] }, include: ['src/**/*.ts'], exclude: ['src/**/*.spec.ts'] }, null, 2) + '\n');
  tree.write(`${root}/tsconfig.spec.json`, JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { outDir: '../../dist/out-tsc', types: ['jest', 'node'] }, include: ['src/**/*.ts'] }, null, 2) + '\n');
  tree.write(`${root}/jest.config.js`, `module.exports = {\n  displayName: '${pkg}',\n  preset: '../../jest.preset.js',\n  rootDir: __dirname,\n};\n`);
  generateFiles(tree, path.join(__dirname, 'files', 'package'), root, { tmpl: '' });
  updateJson(tree, 'tsconfig.base.json', (json) => {
    json.compilerOptions.paths[scope] = [`${root}/src/index.ts`];
    return json;
  });
  if (tree.exists('packages/recipes/package.json')) {
    updateJson(tree, 'packages/recipes/package.json', (json) => {
      json.dependencies[scope] = '0.1.0';
      return json;
    });
  }
  const builtin = 'packages/recipes/src/registry/builtin.ts';
  const alias = `${names(pkg).propertyName}Methods`;
  insertBefore(tree, builtin, IMPORT_MARK, `import { methods as ${alias} } from '${scope}';`);
  insertBefore(tree, builtin, ENTRY_MARK, `  ${alias},`);
}

/** The generator. */
export default async function methodGenerator(tree: Tree, options: MethodGeneratorOptions): Promise<void> {
  if (!ID.test(options.id)) throw new Error(`method id '${options.id}' must be kebab-case, e.g. my-quant`);
  const pkg = options.package ?? options.id;
  if (!ID.test(pkg)) throw new Error(`package '${pkg}' must be kebab-case`);
  const root = `packages/${pkg}`;
  const methodDir = joinPathFragments(root, 'src', options.id);
  if (tree.exists(methodDir)) throw new Error(`${methodDir} exists already`);
  if (!tree.exists(`${root}/package.json`)) createPackage(tree, pkg, options.family);
  const n = names(options.id);
  generateFiles(tree, path.join(__dirname, 'files', 'method'), joinPathFragments(root, 'src'), {
    id: options.id,
    camel: n.propertyName,
    className: n.className,
    family: options.family,
    description: (options.description ?? 'a new compression method').replace(/'/g, '’'),
    tmpl: '',
  });
  const index = `${root}/src/index.ts`;
  insertBefore(tree, index, IMPORT_MARK, `export * from './${options.id}/config';\nexport * from './${options.id}/${options.id}';\nimport { ${n.propertyName} } from './${options.id}/${options.id}';`);
  insertBefore(tree, index, ENTRY_MARK, `  ${n.propertyName} as DiffusionMethod<unknown>,`);
}
