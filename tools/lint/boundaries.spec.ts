import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * Lints the fixture method packages in tools/lint-fixtures with the workspace's real ESLint config: a method
 * package importing another method package must fail `@nx/enforce-module-boundaries`, and importing core must not.
 */
const root = path.resolve(__dirname, '..', '..');
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };

interface EslintMessage {
  ruleId: string | null;
  message: string;
}
interface EslintResult {
  filePath: string;
  messages: EslintMessage[];
}

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('module boundary rule', () => {
  let results: EslintResult[] = [];

  beforeAll(() => {
    // The rule reads Nx's cached project graph; computing the graph writes it.
    const graph = run([path.join(root, 'node_modules/nx/dist/bin/nx.js'), 'show', 'projects']);
    expect(graph.stdout).toContain('lint-fixture-method-b');
    const files = ['violation.ts', 'allowed.ts'].map((f) => path.join('tools/lint-fixtures/method-a/src', f));
    // --no-ignore: the workspace config ignores the fixtures so that the normal lint run stays green.
    const lint = run([path.join(root, 'node_modules/eslint/bin/eslint.js'), '--no-ignore', '--format', 'json', ...files]);
    results = JSON.parse(lint.stdout) as EslintResult[];
  }, 180_000);

  const boundaryMessages = (file: string): EslintMessage[] =>
    (results.find((r) => r.filePath.endsWith(file))?.messages ?? []).filter((m) => m.ruleId === '@nx/enforce-module-boundaries');

  it('fails a method package that imports another method package', () => {
    const messages = boundaryMessages('violation.ts');
    expect(messages).toHaveLength(1);
    expect(messages[0].message).toMatch(/tagged with "layer:method" can only depend on libs tagged with "layer:core", "layer:diffusion", "layer:eval"/);
  });

  it('lets a method package import core', () => {
    expect(results.some((r) => r.filePath.endsWith('allowed.ts'))).toBe(true);
    expect(boundaryMessages('allowed.ts')).toEqual([]);
  });
});
