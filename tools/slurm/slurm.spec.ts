import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// The shard path on a real scheduler: a single-node Slurm cluster on this machine (tools/slurm/cluster.sh), the job
// script users are given (tools/slurm/ablation-array.sbatch, verbatim in docs/guides/cluster.md), a shared store.
// Skipped, with the reason printed, where the cluster cannot start (Slurm not installed: `cluster.sh install`);
// with DIFFPRESS_REQUIRE_SLURM=1 (CI sets it) that is a failure instead, so CI cannot pass without running it.

const REPO = path.resolve(__dirname, '..', '..');
const CLUSTER = path.join(__dirname, 'cluster.sh');
const SCRIPT = path.join(__dirname, 'ablation-array.sbatch');
const SLURM_DIR = process.env.DIFFPRESS_SLURM_DIR ?? '/tmp/diffpress-slurm';
const SLURM_ENV = { ...process.env, SLURM_CONF: path.join(SLURM_DIR, 'slurm.conf') };

/**
 * Four cells × one seed, units of a few seconds; with two shards, shard 1/2 is cells 0 and 2 and shard 2/2 cells 1
 * and 3 — cells 2 and 3 are the longer ones, so a task stopped after its first unit is stopped in the middle of its
 * second.
 */
const RECIPE = `name: slurm-test
model: unet-mnist-s-eps
sample: { kind: ddim, steps: 4, batchSize: 8 }
eval: { samples: 32, metrics: [kid, class-entropy], grid: 2, latency: false, floor: false }
ablation:
  axes:
    - path: sample.steps
      values: [4, 6, 20, 16]
`;
const UNITS = 4;

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = SLURM_ENV, timeoutMs = 120_000): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** Brings the cluster up unless it is; says why not when it cannot (and takes down what a failed start left). */
function startCluster(): { started: boolean; skip?: string } {
  if (sh('bash', [CLUSTER, 'status']).code === 0) return { started: false };
  const up = sh('bash', [CLUSTER, 'up']);
  if (up.code === 0) return { started: true };
  sh('bash', [CLUSTER, 'down']);
  return { started: false, skip: up.out.split('\n').slice(-3).join(' ') };
}

const cluster = startCluster();
const required = process.env.DIFFPRESS_REQUIRE_SLURM === '1';
if (cluster.skip && !required) console.warn(`Slurm integration test skipped: ${cluster.skip}`);
const describeWithSlurm = cluster.skip && !required ? describe.skip : describe;
/** Jobs this file submitted, cancelled at the end whatever happened. */
const submitted: string[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Submitted {
  job: string;
  runs: string;
  logs: string;
}

/** Submits the job script as an array over `store`; the task outputs go to `<runs>/logs`. */
function submit(recipe: string, store: string, runs: string, array: string, shards: number): Submitted {
  const logs = path.join(runs, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  // --oversubscribe: the tasks share the two CPUs, so tasks of one array (and of two arrays) really run at once.
  const r = sh('sbatch', ['--parsable', `--array=${array}`, '--oversubscribe', `--chdir=${REPO}`, `--output=${logs}/%A_%a.out`, SCRIPT], {
    ...SLURM_ENV, RECIPE: recipe, STORE: store, RUNS: runs, DIFFPRESS_SHARDS: String(shards),
  });
  if (r.code !== 0) throw new Error(`sbatch failed: ${r.out}`);
  const job = r.out.split(';')[0].trim();
  submitted.push(job);
  return { job, runs, logs };
}

/** Task states of a job (array tasks each), from scontrol (kept MinJobAge seconds after the end). */
function states(job: string): Record<string, string> {
  const out = sh('scontrol', ['show', 'job', '-o', job]).out;
  const rows = out.split('\n').filter((l) => l.includes('JobState='));
  return Object.fromEntries(rows.map((l) => [/ArrayTaskId=(\S+)/.exec(l)?.[1] ?? '?', `${/JobState=(\S+)/.exec(l)?.[1]} ${/ExitCode=(\S+)/.exec(l)?.[1]}`]));
}

/** Waits until no task of the job is pending or running (squeue fails once the controller has purged the job). */
async function waitGone(job: string, timeoutMs = 500_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const q = sh('squeue', ['-h', '-j', job, '-o', '%i']);
    if (q.code !== 0 || q.out === '') return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${job} still queued or running after ${timeoutMs / 1000} s: ${JSON.stringify(states(job))}`);
    await sleep(1000);
  }
}

async function waitFor(file: string, pattern: RegExp, timeoutMs = 300_000): Promise<void> {
  const t0 = Date.now();
  while (!(fs.existsSync(file) && pattern.test(fs.readFileSync(file, 'utf8')))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${file} did not show ${pattern} within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

interface ShardResult {
  units: number;
  computed: number;
  reused: number;
  failed: unknown[];
}

function shardResult(runDir: string): ShardResult {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'results.json'), 'utf8')) as ShardResult;
}

/** The experiments CLI as the job script runs it (here without Slurm). */
function cli(args: string[]): { code: number | null; out: string } {
  const env = { ...process.env, TS_NODE_PROJECT: 'apps/experiments/tsconfig.app.json', TS_NODE_TRANSPILE_ONLY: 'true' };
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'apps/experiments/src/main.ts', ...args], { cwd: REPO, env, encoding: 'utf8', timeout: 480_000 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** The table rows of a run's report.md (the quality columns; nothing time-dependent is in them with latency off). */
function tableRows(runDir: string): string[] {
  return fs.readFileSync(path.join(runDir, 'report.md'), 'utf8').split('\n').filter((l) => l.startsWith('|'));
}

/** `report --merge` of shard run folders, as the cluster guide says to run it (with the shared store, for the grids). */
function merge(dirs: string[], out: string, store: string): string[] {
  const r = cli(['report', '--merge', ...dirs, `--out=${out}`, `--store=${store}`]);
  if (r.code !== 0) throw new Error(`report --merge failed: ${r.out}`);
  // Every strip's samples are in the shared store.
  expect(r.out).not.toMatch(/no sample strips/);
  return tableRows(out);
}

/**
 * What is wrong in a store after a task was killed: a stored unit without its record or with unreadable JSON, or a
 * sample chunk whose safetensors header or length is broken (temporary folders of killed builds are never read and
 * do not count).
 */
function storeProblems(store: string): string[] {
  const problems: string[] = [];
  const dirs = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d).filter((x) => !x.includes('.tmp-')).map((x) => path.join(d, x)) : []);
  for (const unit of dirs(path.join(store, 'unit'))) {
    try {
      JSON.parse(fs.readFileSync(path.join(unit, 'artifact.json'), 'utf8'));
      JSON.parse(fs.readFileSync(path.join(unit, 'value.json'), 'utf8'));
    } catch (err) {
      problems.push(`${unit}: ${(err as Error).message}`);
    }
  }
  for (const set of dirs(path.join(store, 'samples'))) {
    for (const chunk of dirs(set).filter((f) => f.endsWith('.safetensors'))) {
      const bytes = fs.readFileSync(chunk);
      try {
        const n = Number(bytes.readBigUInt64LE(0));
        const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets?: [number, number] }>;
        const end = Math.max(...Object.values(header).map((t) => t.data_offsets?.[1] ?? 0));
        if (8 + n + end !== bytes.length) problems.push(`${chunk}: ${bytes.length} bytes, the header says ${8 + n + end}`);
      } catch (err) {
        problems.push(`${chunk}: ${(err as Error).message}`);
      }
    }
  }
  return problems;
}

/** Whether a process whose command line mentions `needle` is still alive (an orphan of a cancelled task). */
function alive(needle: string): boolean {
  return sh('pgrep', ['-f', needle]).code === 0;
}

describeWithSlurm('Slurm job arrays (single-node cluster)', () => {
  let tmp: string;
  let recipe: string;
  let reference: string[];

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-slurm-'));
    recipe = path.join(tmp, 'slurm-test.yaml');
    fs.writeFileSync(recipe, RECIPE);
    // The single-process run every array run must reproduce.
    if (cluster.skip) throw new Error(`DIFFPRESS_REQUIRE_SLURM=1, but the cluster did not start: ${cluster.skip}`);
    const run = cli(['ablation', `--recipe=${recipe}`, `--store=${path.join(tmp, 'store-single')}`, `--out=${path.join(tmp, 'single')}`, '--jobs=1']);
    if (run.code !== 0) throw new Error(`single-process run failed: ${run.out}`);
    reference = tableRows(path.join(tmp, 'single'));
  }, 500_000);

  afterAll(() => {
    if (submitted.length > 0) sh('scancel', submitted);
    if (cluster.started) sh('bash', [CLUSTER, 'down']);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('an array of 4 tasks on a shared store: one unit each, and the merged table equals the single-process one', async () => {
    const t0 = Date.now();
    const store = path.join(tmp, 'store-array');
    const a = submit(recipe, store, path.join(tmp, 'array'), '0-3', 4);
    await waitGone(a.job);
    const seconds = (Date.now() - t0) / 1000;
    expect(Object.values(states(a.job))).toEqual(Array(4).fill('COMPLETED 0:0'));
    const shards = [0, 1, 2, 3].map((i) => shardResult(path.join(a.runs, `shard-${i}`)));
    expect(shards.map((s) => [s.units, s.computed, s.reused, s.failed.length])).toEqual(Array(4).fill([1, 1, 0, 0]));
    const merged = merge([0, 1, 2, 3].map((i) => path.join(a.runs, `shard-${i}`)), path.join(a.runs, 'merged'), store);
    expect(merged).toEqual(reference);
    console.log(`Slurm array 0-3: ${seconds.toFixed(1)} s wall-clock, units per task ${shards.map((s) => s.units).join('/')}; merged table = single-process table (${merged.length - 2} rows)`);
  }, 600_000);

  it('a task cancelled mid-run and resubmitted alone, and a task requeued mid-run, reuse what they finished and compute the rest once', async () => {
    const store = path.join(tmp, 'store-cancel');
    const a = submit(recipe, store, path.join(tmp, 'cancel'), '0-1', 2);
    const [log0, log1] = [0, 1].map((i) => path.join(a.logs, `${a.job}_${i}.out`));
    // Task 0 (cells 0 and 2) is cancelled and task 1 (cells 1 and 3) requeued, each once its first unit is stored.
    const firstDone = /unit 1\/2 \([^\n]*: done/;
    await Promise.all([waitFor(log0, firstDone).then(() => sh('scancel', [`${a.job}_0`])), waitFor(log1, firstDone).then(() => sh('scontrol', ['requeue', `${a.job}_1`]))]);
    // A requeued task waits for its begin time (about two minutes); let it start now.
    for (let k = 0; k < 30 && !/JobState=PENDING/.test(sh('scontrol', ['show', 'job', '-o', `${a.job}_1`]).out); k++) await sleep(500);
    sh('scontrol', ['update', `JobId=${a.job}_1`, 'StartTime=now']);
    await waitGone(a.job);
    const first = fs.readFileSync(log0, 'utf8');
    expect(states(a.job)).toMatchObject({ '0': expect.stringMatching(/^CANCELLED/), '1': 'COMPLETED 0:0' });
    expect(first).not.toMatch(/units? computed/);
    expect(fs.existsSync(path.join(a.runs, 'shard-0', 'results.json'))).toBe(false);
    // Nothing of the cancelled task runs on (its node process would go on writing into the store).
    expect(alive(path.join(a.runs, 'shard-0'))).toBe(false);
    // The requeued task ran again under the same index (its log is appended to) and read back its first unit.
    const requeued = fs.readFileSync(log1, 'utf8');
    expect(requeued).toMatch(/array task 1 \(job \d+, restart 1\)/);
    expect(requeued).toMatch(/slurm-test: 2 units \(shard 2\/2\), 1 already finished/);
    expect(shardResult(path.join(a.runs, 'shard-1'))).toMatchObject({ units: 2, computed: 1, reused: 1, failed: [] });
    // The resubmission of index 0 alone: DIFFPRESS_SHARDS keeps it shard 1/2 (not 1/1, the whole run).
    const again = submit(recipe, store, path.join(tmp, 'cancel'), '0', 2);
    await waitGone(again.job);
    const second = fs.readFileSync(path.join(again.logs, `${again.job}_0.out`), 'utf8');
    expect(second).toMatch(/slurm-test: 2 units \(shard 1\/2\), 1 already finished/);
    expect(shardResult(path.join(a.runs, 'shard-0'))).toMatchObject({ units: 2, computed: 1, reused: 1, failed: [] });
    // Each of the four units computed exactly once over the four task runs; the store is intact and yields the
    // reference table.
    const done = (text: string): number => (text.match(/: done$/gm) ?? []).length;
    expect(done(first) + done(second) + done(requeued)).toBe(UNITS);
    expect(storeProblems(store)).toEqual([]);
    expect(merge([path.join(a.runs, 'shard-0'), path.join(a.runs, 'shard-1')], path.join(a.runs, 'merged'), store)).toEqual(reference);
    console.log(
      `Slurm cancel/resubmit: task 0 cancelled after ${done(first)} of its 2 units, resubmitted: ${shardResult(path.join(a.runs, 'shard-0')).computed} computed / ` +
        `${shardResult(path.join(a.runs, 'shard-0')).reused} reused; task 1 requeued after 1 unit, restarted: ${shardResult(path.join(a.runs, 'shard-1')).computed} computed / ` +
        `${shardResult(path.join(a.runs, 'shard-1')).reused} reused`,
    );
  }, 600_000);

  it('two arrays over one store at once: each unit computed once, both merge to the reference table', async () => {
    const store = path.join(tmp, 'store-twice');
    const a = submit(recipe, store, path.join(tmp, 'twice-a'), '0-1', 2);
    const b = submit(recipe, store, path.join(tmp, 'twice-b'), '0-1', 2);
    await waitGone(a.job);
    await waitGone(b.job);
    expect([...Object.values(states(a.job)), ...Object.values(states(b.job))]).toEqual(Array(4).fill('COMPLETED 0:0'));
    const shards = [a, b].flatMap((x) => [0, 1].map((i) => shardResult(path.join(x.runs, `shard-${i}`))));
    const computed = shards.reduce((s, r) => s + r.computed, 0);
    const reused = shards.reduce((s, r) => s + r.reused, 0);
    expect(computed).toBe(UNITS);
    expect(reused).toBe(UNITS);
    // The arrays overlapped: some task waited for a unit another array's task was computing and read it back.
    const logs = [a, b].flatMap((x) => [0, 1].map((i) => fs.readFileSync(path.join(x.logs, `${x.job}_${i}.out`), 'utf8'))).join('\n');
    expect(logs).toMatch(/reused from the store \(finished by another process\)$/m);
    for (const x of [a, b]) expect(merge([0, 1].map((i) => path.join(x.runs, `shard-${i}`)), path.join(x.runs, 'merged'), store)).toEqual(reference);
    console.log(`Slurm two arrays on one store: computed / reused per task ${shards.map((s) => `${s.computed}/${s.reused}`).join(', ')}`);
  }, 600_000);
});

describe('the cluster guide', () => {
  it('shows the tested job script verbatim', () => {
    const guide = fs.readFileSync(path.join(REPO, 'docs', 'guides', 'cluster.md'), 'utf8');
    expect(guide).toContain(`\`\`\`bash\n${fs.readFileSync(SCRIPT, 'utf8')}\`\`\``);
  });
});
