#!/usr/bin/env node
/**
 * The experiments CLI. Through Nx:
 *
 *   npx nx run experiments:ablation                                   # the embedded default recipe
 *   npx nx run experiments:ablation --recipe=my.yaml --shard=1/4 --jobs=2
 *   npx nx run experiments:validate --recipe=my.yaml
 *   npx nx run experiments:report --merge runs/a-1 runs/a-2
 *   npx nx run experiments:list
 */
import yargs from 'yargs';
import { consoleIo, listCommand, reportCommand, runCommand, schemaCommand, validateCommand } from './commands';

function runOptions<T>(y: yargs.Argv<T>) {
  return y
    .option('recipe', { type: 'string', describe: 'recipe file (.yaml or .json); default: apps/experiments/recipes/default.yaml' })
    .option('store', { type: 'string', describe: 'artifact store folder (default $DIFFPRESS_STORE or ./.diffpress)' })
    .option('out', { type: 'string', describe: 'run folder (default: the recipe output.dir or runs/<name>)' })
    .option('shard', { type: 'string', describe: 'run shard i of n (i/n); default from SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX' })
    .option('jobs', { type: 'number', describe: 'parallel worker processes sharing the store (ablation default: number of CPUs)' })
    .option('seeds', { type: 'string', describe: 'seeds: a count (3 → 0,1,2) or a list (0,5,9); overrides the recipe' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print the units and what the store holds; compute nothing' })
    .option('finished-only', { type: 'boolean', default: false, describe: 'write the report of the units the store holds and list the rest as pending; compute nothing' })
    .option('resume-from', { type: 'string', array: true, describe: 'run folders of earlier runs of this recipe (e.g. committed results.json): their unit results go into the store first and are not computed again' })
    .option('backend', { type: 'string', describe: 'tensorflow | wasm | cpu (default: the best available; env DIFFPRESS_BACKEND)' })
    .option('runtime', { type: 'string', describe: 'tfjs | onnx: where samples are drawn and evaluated (overrides the recipe; onnx falls back to tfjs where onnxruntime-node is missing)' })
    .option('threads', { type: 'number', describe: 'onnxruntime threads per worker process (overrides the recipe; implies --runtime onnx unless given)' })
    .option('worker', { type: 'number', hidden: true });
}

async function main(): Promise<number> {
  let code = 0;
  await yargs(process.argv.slice(2))
    .scriptName('experiments')
    .command('run', 'run a recipe once (its ablation section ignored)', runOptions, async (a) => {
      code = await runCommand({ recipe: a.recipe, ablation: false, store: a.store, out: a.out, shard: a.shard, jobs: a.jobs, seeds: a.seeds, dryRun: a['dry-run'], finishedOnly: a['finished-only'], resumeFrom: a['resume-from'], backend: a.backend, runtime: a.runtime, threads: a.threads, worker: a.worker }, consoleIo);
    })
    .command('ablation', 'run every cell of a recipe ablation (default recipe: samplers and PTQ methods on the shipped ε-model)', runOptions, async (a) => {
      code = await runCommand({ recipe: a.recipe, ablation: true, store: a.store, out: a.out, shard: a.shard, jobs: a.jobs, seeds: a.seeds, dryRun: a['dry-run'], finishedOnly: a['finished-only'], resumeFrom: a['resume-from'], backend: a.backend, runtime: a.runtime, threads: a.threads, worker: a.worker }, consoleIo);
    })
    .command(
      'validate [files..]',
      'validate recipes without touching tensors; prints every problem',
      (y) =>
        y
          .positional('files', { type: 'string', array: true })
          .option('recipe', { type: 'string', array: true, describe: 'recipe file(s)' })
          .option('store', { type: 'string', describe: 'artifact store a run would use, checked too (default $DIFFPRESS_STORE or ./.diffpress)' }),
      (a) => {
        code = validateCommand([...(a.recipe ?? []), ...(a.files ?? [])], consoleIo, { store: a.store });
      },
    )
    .command(
      'report [dirs..]',
      're-render a run folder, or merge shard run folders with --merge',
      (y) =>
        y
          .positional('dirs', { type: 'string', array: true })
          .option('merge', { type: 'string', array: true, describe: 'shard run folders to merge' })
          .option('recipe', { type: 'string', describe: 'recipe file (default: the one recorded in the results)' })
          .option('out', { type: 'string', describe: 'output folder of a merge (default: the recipe run folder)' })
          .option('store', { type: 'string', describe: 'artifact store (for sample grids)' }),
      async (a) => {
        const merge = a.merge !== undefined;
        code = await reportCommand({ dirs: [...(a.merge ?? []), ...(a.dirs ?? [])], merge, out: a.out, recipe: a.recipe, store: a.store }, consoleIo);
      },
    )
    .command('list', 'list registered methods with their config fields and defaults', (y) => y, () => {
      code = listCommand(consoleIo);
    })
    .command('schema', 'write the recipe JSON Schema (--check: fail if the committed one is out of date)', (y) => y.option('check', { type: 'boolean', default: false }), (a) => {
      code = schemaCommand(consoleIo, a.check);
    })
    .demandCommand(1, 'give a command: run, ablation, validate, report, list or schema')
    .strict()
    .help()
    // Usage mistakes get the message and a pointer to --help; an error of a command itself (a unit's data that
    // cannot be read, a crash) is not a usage mistake, so it goes to the caller without the help text.
    .fail((message, err) => {
      if (err) throw err;
      process.stderr.write(`${message}\n(--help lists the commands and options)\n`);
      code = 2;
    })
    .parseAsync();
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // One line for the user; the stack when debugging (DIFFPRESS_DEBUG=1).
    const debug = !['', '0', 'false'].includes(process.env.DIFFPRESS_DEBUG ?? '');
    process.stderr.write(`experiments: ${err instanceof Error ? (debug ? (err.stack ?? err.message) : err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
