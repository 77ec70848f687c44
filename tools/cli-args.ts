/**
 * The `--name=value` / `--flag` command-line options every tool script reads (Nx passes `--args` through as-is).
 */

/** The value of `--name=value`, or `undefined` when absent. */
export function arg(name: string): string | undefined {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit?.slice(name.length + 3);
}

/** The value of `--name=value`, or `fallback` when absent. */
export function argOr(name: string, fallback: string): string {
  return arg(name) ?? fallback;
}

/** Whether the bare flag `--name` was given. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
