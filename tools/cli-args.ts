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

/**
 * A comma-separated list option, as its items. Nx's run-commands re-serializes `--args="--batches=1,16,64"` as
 * `--batches=1 16 64`, so the bare words that follow the option are read as further items.
 */
export function listArg(name: string, fallback: string): string[] {
  const argv = process.argv;
  const at = argv.findIndex((a) => a.startsWith(`--${name}=`));
  const items = at < 0 ? [fallback] : [argv[at].slice(name.length + 3)];
  if (at >= 0) for (let i = at + 1; i < argv.length && !argv[i].startsWith('--'); i++) items.push(argv[i]);
  return items.flatMap((v) => v.split(/[,\s]+/)).filter((v) => v !== '');
}
