/**
 * Running the PyTorch peer scripts: Debian's interpreter (the first `python3` on PATH has no torch here) and the
 * protocol the scripts share — progress on stdout, the result as the last line that is a JSON object.
 */
import { spawnSync } from 'node:child_process';

/** Debian's Python, which has `python3-torch` (`apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread`). */
export const PYTHON = '/usr/bin/python3';

/**
 * Runs `python args…` and returns the parsed last JSON-object line of its stdout, or a sentence saying why there is
 * none (the interpreter did not start, the script failed — with the end of its stderr —, or printed no valid JSON).
 */
export function runPythonJson(args: readonly string[]): { json: unknown; line: string } | string {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
  if (r.error) return `could not run ${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return `exited with ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  const line = r.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (line == null) return `printed no JSON line (stdout: ${r.stdout.trim().slice(0, 200)})`;
  try {
    return { json: JSON.parse(line) as unknown, line };
  } catch (e) {
    return `printed unparsable JSON (${(e as Error).message})`;
  }
}
