import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';

/** The repository root (the CLI runs there, as `npx nx run experiments:…` does). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

const MAIN = path.resolve(__dirname, '..', 'main.ts');

/** How a CLI process ended. */
export interface CliDone {
  /** Exit code (null when killed). */
  code: number | null;
  /** Everything it printed to stdout. */
  stdout: string;
  /** Everything it printed to stderr. */
  stderr: string;
}

/** A running CLI process. */
export interface CliProcess {
  /** The process (to kill it). */
  child: ChildProcess;
  /** Resolves when it has exited. */
  done: Promise<CliDone>;
  /** Its stderr so far. */
  stderr: () => string;
}

/**
 * Starts the experiments CLI as users run it (ts-node, the wasm backend, the repository root as working folder), for
 * end-to-end tests of the commands.
 */
export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, TS_NODE_PROJECT: 'apps/experiments/tsconfig.app.json', TS_NODE_TRANSPILE_ONLY: 'true', DIFFPRESS_BACKEND: 'wasm', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliDone>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done, stderr: () => stderr };
}
