import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine, readCheckpoint } from '@diffpress/core';
import { TINY_STEPS, tinyTrainer } from './fixtures/tiny-train';
import { TrainLogEntry, TrainingDivergedError } from './trainer';

// wasm: the cpu backend would take minutes for these few UNet updates; the killed child uses wasm too.
beforeAll(() => initEngine({ backend: 'wasm', quiet: true }));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffpress-trainer-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function readLog(dir: string): TrainLogEntry[] {
  return fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrainLogEntry);
}

function weights(dir: string, file: string): Record<string, number[]> {
  const latest = JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')) as { path: string };
  const { tensors } = readCheckpoint(path.join(dir, latest.path, file));
  const out: Record<string, number[]> = {};
  for (const [k, t] of tensors) out[k] = Array.from(t.dataSync());
  tf.dispose([...tensors.values()]);
  return out;
}

describe('Trainer', () => {
  let reference: TrainLogEntry[] = [];
  const refDir = path.join(tmp, 'uninterrupted');

  beforeAll(async () => {
    const trainer = tinyTrainer(refDir);
    const result = await trainer.run();
    expect(result).toMatchObject({ step: TINY_STEPS, finished: true, resumedFrom: 0 });
    reference = readLog(refDir);
  }, 60_000);

  it('logs one JSONL line per update with loss, lr, gradient norm and time', () => {
    expect(reference.map((e) => e.step)).toEqual(Array.from({ length: TINY_STEPS }, (_, i) => i + 1));
    expect(reference[0].lr).toBeCloseTo(1e-3, 10); // warm-up: 2e-3 · 1/2
    for (const e of reference) expect(Number.isFinite(e.loss) && e.gradNorm > 0 && e.seconds >= 0).toBe(true);
    // Checkpoints every 2 updates, the two newest kept.
    expect(fs.readdirSync(path.join(refDir, 'checkpoints'))).toEqual(['step-0000006', 'step-0000008']);
  });

  it('resumes after a kill -9 and continues the loss curve exactly', async () => {
    const dir = path.join(tmp, 'killed');
    const root = path.resolve(__dirname, '..', '..', '..', '..');
    const child = spawn(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', path.join(__dirname, 'fixtures', 'tiny-train.ts'), dir, '150'], {
      cwd: root,
      env: { ...process.env, TS_NODE_PROJECT: path.join(root, 'tools', 'tsconfig.json'), TS_NODE_TRANSPILE_ONLY: 'true' },
    });
    let output = '';
    const killedAt = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const m = [...output.matchAll(/step (\d+)\//g)].pop();
        if (m && Number(m[1]) >= 3) {
          child.kill('SIGKILL');
          resolve(Number(m[1]));
        }
      });
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`child exited (${code}) before it could be killed: ${output}`));
      });
    });
    expect(killedAt).toBeLessThan(TINY_STEPS);
    await new Promise((r) => child.on('close', r));
    const resumed = tinyTrainer(dir);
    const result = await resumed.run();
    expect(result.resumedFrom).toBeGreaterThanOrEqual(2);
    expect(result.resumedFrom).toBeLessThan(TINY_STEPS);
    expect(result.finished).toBe(true);
    // Same losses at the same steps, bit for bit, and the same final weights, EMA and optimizer state.
    expect(readLog(dir).map((e) => [e.step, e.loss, e.lr, e.gradNorm])).toEqual(reference.map((e) => [e.step, e.loss, e.lr, e.gradNorm]));
    for (const file of ['model.safetensors', 'ema.safetensors', 'optimizer.safetensors']) expect(weights(dir, file)).toEqual(weights(refDir, file));
  }, 120_000);

  it('stops at a NaN loss with a clear message and keeps the last good checkpoint', async () => {
    const dir = path.join(tmp, 'nan');
    const base = tinyTrainer(dir);
    const loss = base.options.loss;
    const before = tf.memory().numTensors;
    const trainer = tinyTrainer(dir, 0, {
      loss: (model, batch, ctx) => (ctx.step === 5 ? tf.tidy(() => tf.mul(loss(model, batch, ctx), NaN) as tf.Scalar) : loss(model, batch, ctx)),
    });
    await expect(trainer.run()).rejects.toThrow(TrainingDivergedError);
    const again = tinyTrainer(dir, 0, { loss: (m, b, c) => tf.tidy(() => tf.mul(loss(m, b, c), NaN) as tf.Scalar) });
    await expect(again.run()).rejects.toThrow(/diverged at update 4: the loss is NaN.*last good checkpoint is .*step-0000004/);
    // Nothing of the failed updates (gradients, batches) survives: freeing the trainers' state and models restores the count.
    for (const t of [trainer, again]) {
      t.dispose();
      t.options.model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    const latest = JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')) as { step: number };
    expect(latest.step).toBe(4);
    // The second run resumed at 4 (dropping update 5 of the first run, which no checkpoint holds) and failed at once.
    expect(readLog(dir).map((e) => e.step)).toEqual([1, 2, 3, 4]);
    expect(readLog(dir).slice(0, 4)).toEqual(reference.slice(0, 4).map((e, i) => ({ ...e, seconds: readLog(dir)[i].seconds })));
  }, 60_000);

  it('refuses to resume a run folder written by a different configuration', async () => {
    await expect(tinyTrainer(refDir, 0, { runConfig: { lr: 'other' } }).run()).rejects.toThrow(/different configuration/);
    await expect(tinyTrainer(refDir, 0, { seed: 6 }).run()).rejects.toThrow(/trained with seed 5, this run has seed 6/);
  });
});
