import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { z } from 'zod';
import { BackendName, DEFAULT_STAGE_INPUTS, initEngine } from '@diffpress/core';
import {
  ArtifactStore, RecipeError, RecipeProblem, Shard, ValidatedRecipe, builtinRegistry, defaultOutDir, defaultStoreDir, finishedUnits, formatProblem, headerCells, importResults, loadRecipe,
  mergeResults, parseShard, planUnits, readResults, recipeJsonSchema, rowCells, runRecipe, runWorker, shardFromEnv, validateRecipeFile, writeReport,
} from '@diffpress/recipes';

/** Where a command writes: results to `out` (stdout), everything else to `err` (stderr). */
export interface Io {
  /** Results (tables, lists, paths). */
  out(text: string): void;
  /** Diagnostics. */
  err(text: string): void;
}

/** The console. */
export const consoleIo: Io = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };

/** The recipe `ablation` runs when none is given. */
export const DEFAULT_RECIPE = path.resolve(__dirname, '..', 'recipes', 'default.yaml');

/** The committed JSON Schema of recipes. */
export const SCHEMA_FILE = path.resolve(__dirname, '..', 'recipes', 'recipe.schema.json');

/**
 * Why `dir` cannot be an artifact store, or undefined: it (or the nearest existing folder above it, where it would be
 * created) is a file or cannot be written.
 */
export function storeProblem(dir: string): string | undefined {
  const store = path.resolve(dir);
  for (let p = store; ; p = path.dirname(p)) {
    if (fs.existsSync(p)) {
      if (!fs.statSync(p).isDirectory()) return p === store ? `${p} is a file; the artifact store is a folder` : `${p} is a file, so the store ${store} cannot be created in it`;
      try {
        fs.accessSync(p, fs.constants.W_OK);
      } catch {
        return `${p} is not writable, so the store ${store} cannot be ${p === store ? 'written' : 'created'}`;
      }
      return undefined;
    }
    if (path.dirname(p) === p) return undefined;
  }
}

/** The store's problem as a problem of the recipe `file` would be run with, in the same one-line form. */
function storeProblems(file: string, store: string): RecipeProblem[] {
  const message = storeProblem(store);
  return message ? [{ file, path: '--store', message, severity: 'error' }] : [];
}

/** Options of {@link validateCommand}. */
export interface ValidateCommandOptions {
  /** The store a run would use (default `$DIFFPRESS_STORE` or `.diffpress`): checked too. */
  store?: string;
}

/**
 * `experiments validate`: checks every file (and the store a run would use), prints every problem, touches no tensor.
 * Exit code 1 on any error.
 */
export function validateCommand(files: readonly string[], io: Io, options: ValidateCommandOptions = {}): number {
  if (files.length === 0) {
    io.err('validate: give recipe files (--recipe=<file> or as arguments)');
    return 2;
  }
  const registry = builtinRegistry();
  const store = options.store ?? defaultStoreDir();
  let bad = 0;
  for (const file of files) {
    const { result, problems } = validateRecipeFile(file, { registry });
    const all = [...problems, ...storeProblems(file, store)];
    for (const p of all) io.err(formatProblem(p));
    if (result && !all.some((p) => p.severity === 'error')) {
      io.out(`${file}: valid (${result.cells.length} cell${result.cells.length === 1 ? '' : 's'} × ${result.recipe.seeds.length} seed${result.recipe.seeds.length === 1 ? '' : 's'})`);
    } else bad++;
  }
  return bad > 0 ? 1 : 0;
}

/** `experiments list`: the registered methods with their config fields and defaults. */
export function listCommand(io: Io): number {
  const methods = builtinRegistry().list();
  if (methods.length === 0) {
    io.out('No compression methods are registered yet (the method packages register theirs; see docs/guides/adding-a-method.md).');
    return 0;
  }
  for (const m of methods) {
    io.out(`${m.id}  [${m.family}]  v${m.version}${m.paper ? `  — ${m.paper.title}${m.paper.arxiv ? ` (arXiv:${m.paper.arxiv})` : ''}` : ''}`);
    io.out(`  ${m.description}`);
    // What the step is keyed on besides its parent, config and seed: an ablation over anything else reuses it.
    const reads = m.reads ?? DEFAULT_STAGE_INPUTS;
    io.out(`  reads: ${reads.length ? reads.join(', ') : 'nothing but its parent model'}`);
    const schema = z.toJSONSchema(m.config, { io: 'input', unrepresentable: 'any' }) as FieldSchema;
    listFields(schema, '', io);
  }
  return 0;
}

/** The part of a field's JSON Schema that `experiments list` prints. */
interface FieldSchema {
  type?: string;
  default?: unknown;
  description?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  anyOf?: FieldSchema[];
  properties?: Record<string, FieldSchema>;
}

/** A field's type as one short phrase: `integer 2…8`, `ddim | ddpm`, `integer 4…16 | 32`. */
function fieldType(f: FieldSchema): string {
  if (f.enum) return f.enum.join(' | ');
  if (f.const !== undefined) return JSON.stringify(f.const);
  if (f.anyOf) return f.anyOf.map(fieldType).join(' | ');
  // zod's int() adds the safe-integer bounds, which say nothing to a reader.
  const shown = (v: number | undefined): number | undefined => (v !== undefined && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined);
  const [lo, hi] = [shown(f.minimum), shown(f.maximum)];
  const range = lo !== undefined || hi !== undefined ? ` ${lo ?? ''}…${hi ?? ''}` : '';
  return `${f.type ?? 'value'}${range}`;
}

/** Prints the fields of an object schema, nested objects as dotted names (`weights.iters`). */
function listFields(schema: FieldSchema, prefix: string, io: Io): void {
  for (const [k, f] of Object.entries(schema.properties ?? {})) {
    const nested = f.type === 'object' && f.properties;
    io.out(`    ${prefix}${k}: ${nested ? 'object' : fieldType(f)}${f.default !== undefined && !nested ? ` = ${JSON.stringify(f.default)}` : ''}${f.description ? `  — ${f.description}` : ''}`);
    if (nested) listFields(f, `${prefix}${k}.`, io);
  }
}

/** `experiments schema`: writes (or with `check`, compares) the committed recipe JSON Schema. */
export function schemaCommand(io: Io, check = false): number {
  const text = `${JSON.stringify(recipeJsonSchema(builtinRegistry()), null, 2)}\n`;
  if (check) {
    const current = fs.existsSync(SCHEMA_FILE) ? fs.readFileSync(SCHEMA_FILE, 'utf8') : '';
    if (current !== text) {
      io.err(`${SCHEMA_FILE} is out of date; regenerate it with: npx nx run experiments:schema`);
      return 1;
    }
    io.out(`${SCHEMA_FILE} is up to date`);
    return 0;
  }
  fs.writeFileSync(SCHEMA_FILE, text);
  io.out(`wrote ${SCHEMA_FILE}`);
  return 0;
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Recipe file (default: the embedded default recipe). */
  recipe?: string;
  /** Expand the ablation (the `ablation` command) or run the base recipe alone (`run`). */
  ablation: boolean;
  /** Store folder (default `$DIFFPRESS_STORE` or `.diffpress`). */
  store?: string;
  /** Run folder (default the recipe's `output.dir` or `runs/<name>`). */
  out?: string;
  /** `i/n`; default from a cluster array job's environment. */
  shard?: string;
  /** Worker processes (default: the number of CPUs for `ablation`, 1 for `run`). */
  jobs?: number;
  /** Seeds: a count n (seeds 0 … n − 1) or a comma list; overrides the recipe's. */
  seeds?: string;
  /** Print the units and what the store holds, compute nothing. */
  dryRun?: boolean;
  /** Write the report of the units the store holds, compute nothing (the others are listed as pending). */
  finishedOnly?: boolean;
  /** Run folders of earlier (partial) runs of the recipe whose unit results are put into the store first. */
  resumeFrom?: string[];
  /** Backend (`tensorflow`, `wasm`, `cpu`). */
  backend?: string;
  /** Runtime of sampling and evaluation (`tfjs`, `onnx`); overrides the recipe's. */
  runtime?: string;
  /** onnxruntime threads per worker; overrides the recipe's (with `runtime`, or on a recipe whose runtime is onnx). */
  threads?: number;
  /** Set in worker processes (1-based worker number). */
  worker?: number;
}

function parseSeeds(text: string): number[] {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Array.from({ length: Number(t) }, (_, i) => i);
  const list = t.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`--seeds '${text}': expected a count (3) or a list of non-negative integers (0,1,2)`);
  return list;
}

function recipeFile(opts: RunCommandOptions): string {
  return path.resolve(opts.recipe ?? DEFAULT_RECIPE);
}

function resolveRecipe(opts: RunCommandOptions): ValidatedRecipe {
  const file = recipeFile(opts);
  const overrides: Record<string, unknown> = {};
  if (opts.seeds !== undefined) overrides.seeds = parseSeeds(opts.seeds);
  if (opts.runtime !== undefined || opts.threads !== undefined) {
    if (opts.runtime !== undefined && opts.runtime !== 'tfjs' && opts.runtime !== 'onnx') throw new Error(`--runtime '${opts.runtime}': expected tfjs or onnx`);
    overrides.runtime = { kind: opts.runtime ?? 'onnx', ...(opts.threads !== undefined ? { threads: opts.threads } : {}) };
  }
  return loadRecipe(file, { registry: builtinRegistry(), overrides, ablation: opts.ablation });
}

/**
 * `experiments run` / `experiments ablation`. Exit code 0 when every unit finished, 1 when some failed, 2 on a bad
 * recipe or store (reported, like `validate` does, before any unit starts).
 */
export async function runCommand(opts: RunCommandOptions, io: Io): Promise<number> {
  const storeDir = path.resolve(opts.store ?? defaultStoreDir());
  let v: ValidatedRecipe;
  try {
    v = resolveRecipe(opts);
  } catch (err) {
    if (err instanceof RecipeError) {
      for (const p of [...err.problems, ...storeProblems(recipeFile(opts), storeDir)]) io.err(formatProblem(p));
      return 2;
    }
    throw err;
  }
  for (const w of v.warnings) io.err(formatProblem(w));
  const bad = storeProblems(v.file, storeDir);
  for (const p of bad) io.err(formatProblem(p));
  if (bad.length > 0) return 2;
  const store = new ArtifactStore(storeDir);
  const shard: Shard | undefined = opts.shard !== undefined ? parseShard(opts.shard) : shardFromEnv();
  if (opts.worker !== undefined) {
    await initEngine({ backend: opts.backend as BackendName | undefined, quiet: true });
    await runWorker(v, store, opts.worker, shard);
    return 0;
  }
  if (opts.resumeFrom?.length) {
    const n = await importResults(opts.resumeFrom, v, store);
    io.err(`resume: ${n} unit result${n === 1 ? '' : 's'} of ${opts.resumeFrom.join(', ')} put into ${store.root}`);
  }
  const units = planUnits(v, shard);
  if (opts.dryRun) {
    const done = finishedUnits(v, units, store);
    io.out(`${v.recipe.name}: ${units.length} unit${units.length === 1 ? '' : 's'}${shard ? ` (shard ${shard.index}/${shard.count})` : ''}, store ${store.root}`);
    units.forEach((u, i) => io.out(`  ${done[i] ? 'cached ' : 'to run '} cell ${u.cell.index} seed ${u.seed}  ${JSON.stringify(u.cell.params)}  ${u.cell.recipe.sample.kind}-${u.cell.recipe.sample.steps}, ${u.cell.recipe.eval.samples} samples`));
    io.out(`${done.filter(Boolean).length} of ${units.length} cached`);
    return 0;
  }
  const jobs = opts.jobs ?? (opts.ablation ? Math.min(os.availableParallelism(), Math.max(1, units.length)) : 1);
  await initEngine({ backend: opts.backend as BackendName | undefined });
  const outDir = path.resolve(opts.out ?? defaultOutDir(v));
  const workerArgs = [opts.ablation ? 'ablation' : 'run', `--recipe=${v.file}`, `--store=${store.root}`];
  if (shard) workerArgs.push(`--shard=${shard.index}/${shard.count}`);
  if (opts.seeds !== undefined) workerArgs.push(`--seeds=${opts.seeds}`);
  if (opts.backend) workerArgs.push(`--backend=${opts.backend}`);
  if (opts.runtime !== undefined) workerArgs.push(`--runtime=${opts.runtime}`);
  if (opts.threads !== undefined) workerArgs.push(`--threads=${opts.threads}`);
  const summary = await runRecipe(v, { store, shard, jobs, workerEntry: path.join(__dirname, `main${path.extname(__filename)}`), workerArgs, finishedOnly: opts.finishedOnly });
  const files = await writeReport(summary, outDir, store.root);
  printTable(files.table, io);
  io.out(`report: ${files.html}`);
  io.out(`        ${files.markdown}`);
  io.out(`wall-clock ${summary.seconds.toFixed(1)} s (${summary.computed} computed, ${summary.reused} reused from ${store.root})`);
  return summary.failed.length > 0 ? 1 : 0;
}

function printTable(table: Parameters<typeof rowCells>[0], io: Io): void {
  const rows = [headerCells(table), ...table.rows.map((_, i) => rowCells(table, i, (s) => `*${s}`))];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  rows.forEach((r, k) => {
    io.out(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
    if (k === 0) io.out(widths.map((w) => '-'.repeat(w)).join('  '));
  });
  io.out('(* best in column)');
}

/** Options of {@link reportCommand}. */
export interface ReportCommandOptions {
  /** Run folders (one to re-render; several with `merge`). */
  dirs: string[];
  /** Merge shard folders into one report. */
  merge: boolean;
  /** Output folder of a merge (default: the recipe's run folder). */
  out?: string;
  /** Recipe file (default: the one recorded in the first folder). */
  recipe?: string;
  /** Store holding the samples for the grids. */
  store?: string;
}

/** `experiments report`: re-renders a run folder from its `results.json`, or merges shard folders (`--merge`). */
export async function reportCommand(opts: ReportCommandOptions, io: Io): Promise<number> {
  if (opts.dirs.length === 0) {
    io.err('report: give run folders, e.g. report --merge runs/a-shard1 runs/a-shard2');
    return 2;
  }
  const first = readResults(opts.dirs[0]);
  const recipeFile = opts.recipe ?? first.recipe.file;
  const v = loadRecipe(recipeFile, { registry: builtinRegistry() });
  const summary = mergeResults(opts.dirs, v);
  const outDir = path.resolve(opts.out ?? (opts.merge ? defaultOutDir(v) : opts.dirs[0]));
  const storeRoot = path.resolve(opts.store ?? defaultStoreDir());
  const files = await writeReport(summary, outDir, storeRoot);
  printTable(files.table, io);
  if (files.missingSamples.length > 0) {
    io.err(`report: no sample strips for ${files.missingSamples.length} of the rows: their samples are not in ${storeRoot} (give the store the runs used: --store=<dir>)`);
  }
  io.out(`report: ${files.html}`);
  return 0;
}
