import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startCli as start } from './testing/cli-process';

// End-to-end tests of the CLI as users run it: a real process (ts-node), a real store, kills.
const RECIPE = `name: cli-test
model: unet-mnist-s-eps
sample: { kind: ddim, steps: 2, batchSize: 4 }
eval: { samples: 4, metrics: [kid, class-entropy], grid: 2, latency: false, floor: false }
ablation:
  axes:
    - path: sample.steps
      values: [2, 3, 4]
`;

function qualityRows(runDir: string): string[] {
  return fs
    .readFileSync(path.join(runDir, 'report.md'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('| FP'))
    .map((l) => l.split('|').slice(1, 7).join('|'));
}

describe('experiments CLI', () => {
  let tmp: string;
  let recipe: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-cli-'));
    recipe = path.join(tmp, 'cli-test.yaml');
    fs.writeFileSync(recipe, RECIPE);
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('--dry-run lists the units and what the store holds; a Slurm array job picks its shard', async () => {
    const all = await start(['ablation', `--recipe=${recipe}`, `--store=${path.join(tmp, 'empty')}`, '--dry-run']).done;
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('cli-test: 3 units');
    expect(all.stdout.match(/to run {2}cell/g)).toHaveLength(3);
    expect(all.stdout).toContain('0 of 3 cached');
    const shard = await start(['ablation', `--recipe=${recipe}`, `--store=${path.join(tmp, 'empty')}`, '--dry-run'], {
      SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '2',
    }).done;
    expect(shard.stdout).toContain('cli-test: 1 unit (shard 2/2)');
    expect(shard.stdout).toMatch(/cell 1 seed 0/);
    expect(fs.existsSync(path.join(tmp, 'empty'))).toBe(false);
  }, 60_000);

  it('a run killed after its first unit resumes without recomputing it', async () => {
    const store = path.join(tmp, 'store');
    const out = path.join(tmp, 'run');
    const args = ['ablation', `--recipe=${recipe}`, `--store=${store}`, `--out=${out}`, '--jobs=1'];
    const first = start(args);
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (/unit 1\/3 \(cell 0[^\n]*: done/.test(first.stderr())) {
          clearInterval(timer);
          first.child.kill('SIGKILL');
          resolve();
        }
      }, 100);
      first.child.on('close', () => {
        clearInterval(timer);
        if (!/unit 1\/3/.test(first.stderr())) reject(new Error(`the run ended before its first unit:\n${first.stderr()}`));
      });
    });
    const killed = await first.done;
    expect(killed.code).toBeNull();
    const second = await start(args).done;
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`cli-test: 3 units, 1 already finished in ${store}`);
    expect(second.stderr).toMatch(/unit 1\/3 \(cell 0[^\n]*: reused from the store/);
    expect(second.stderr).toContain('2 units computed, 1 reused, 0 failed');
    expect(second.stdout).toContain(`report: ${path.join(out, 'report.html')}`);
    expect(qualityRows(out)).toHaveLength(3);
    // And once more: everything from the store.
    const third = await start(args).done;
    expect(third.stderr).toContain('0 units computed, 3 reused, 0 failed');
  }, 180_000);

  it('--jobs 2 shares the work between two worker processes and gives the same table', async () => {
    const out = path.join(tmp, 'run-jobs');
    const r = await start(['ablation', `--recipe=${recipe}`, `--store=${path.join(tmp, 'store-jobs')}`, `--out=${out}`, '--jobs=2']).done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('starting 2 worker processes');
    expect(r.stderr).toMatch(/^\[w1\] /m);
    expect(r.stderr).toMatch(/^\[w2\] /m);
    expect(r.stderr).toContain('3 units computed, 0 reused, 0 failed');
    expect(qualityRows(out)).toEqual(qualityRows(path.join(tmp, 'run')));
  }, 180_000);

  it('two runs on one store at once compute each unit once and count what the other computed as reused', async () => {
    const store = path.join(tmp, 'store-twice');
    const [a, b] = await Promise.all(['a', 'b'].map((x) => start(['ablation', `--recipe=${recipe}`, `--store=${store}`, `--out=${path.join(tmp, `run-twice-${x}`)}`, '--jobs=1']).done));
    expect([a.code, b.code]).toEqual([0, 0]);
    const counts = [a, b].map((r) => /(\d+) units? computed, (\d+) reused, 0 failed/.exec(r.stderr)?.slice(1).map(Number));
    // Units are claimed: a unit the other run holds is passed over, then read back once it is stored.
    expect(counts.map((c) => c?.[0] ?? NaN).reduce((s, c) => s + c, 0)).toBe(3);
    expect(counts.map((c) => (c?.[0] ?? NaN) + (c?.[1] ?? NaN))).toEqual([3, 3]);
    const done = (r: { stderr: string }): number => (r.stderr.match(/: done$/gm) ?? []).length;
    expect(done(a) + done(b)).toBe(3);
    expect(`${a.stderr}${b.stderr}`).toMatch(/: reused from the store \(finished by another process\)$/m);
    expect(qualityRows(path.join(tmp, 'run-twice-a'))).toHaveLength(3);
    expect(qualityRows(path.join(tmp, 'run-twice-b'))).toEqual(qualityRows(path.join(tmp, 'run-twice-a')));
  }, 180_000);

  it('workers stop when their parent is killed, instead of running on as orphans', async () => {
    const slow = path.join(tmp, 'slow.yaml');
    fs.writeFileSync(slow, RECIPE.replace('steps: 2, batchSize: 4', 'steps: 50, batchSize: 16').replace('samples: 4', 'samples: 32'));
    const store = path.join(tmp, 'store-orphans');
    const run = start(['ablation', `--recipe=${slow}`, `--store=${store}`, `--out=${path.join(tmp, 'run-orphans')}`, '--jobs=2']);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (/^\[w\d\] .*samples/m.test(run.stderr())) {
          clearInterval(timer);
          resolve();
        }
      }, 100);
    });
    run.child.kill('SIGKILL');
    await run.done;
    const alive = (): number => {
      const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
      return ps.split('\n').filter((l) => l.includes(`--store=${store}`)).length;
    };
    const t0 = Date.now();
    while (alive() > 0 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 250));
    expect(alive()).toBe(0);
  }, 120_000);

  it('validate exits 1 with the problems of a bad recipe', async () => {
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, RECIPE.replace('steps: 2,', 'steps: -2,'));
    const r = await start(['validate', bad]).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:3:`);
    expect(r.stderr).toContain('sample.steps: expected a number ≥ 1, found -2');
  }, 60_000);
});
