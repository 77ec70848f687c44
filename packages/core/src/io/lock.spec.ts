import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { acquireLock, produceOnce, sleepSync, tryLock } from './lock';

/** The value, or a test failure when it is missing. */
function must<T>(v: T | null | undefined): T {
  if (v === null || v === undefined) throw new Error('expected a value');
  return v;
}

describe('file locks', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is exclusive until released, and release is idempotent', () => {
    const file = path.join(dir, 'sub', 'a.lock');
    const first = tryLock(file);
    expect(first).not.toBeNull();
    expect(fs.existsSync(file)).toBe(true);
    expect(tryLock(file)).toBeNull();
    must(first).release();
    must(first).release();
    expect(fs.existsSync(file)).toBe(false);
    const again = tryLock(file);
    expect(again).not.toBeNull();
    must(again).release();
  });

  it('takes over a lock whose process on this host has exited', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const pid = Number(dead.stdout.toString());
    const file = path.join(dir, 'b.lock');
    fs.writeFileSync(file, JSON.stringify({ pid, host: os.hostname(), since: 'x' }));
    const lock = tryLock(file);
    expect(lock).not.toBeNull();
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).toBe(process.pid);
    must(lock).release();
  });

  it('breaks an abandoned lock only under its breaker, and clears a breaker left by a dead process', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadOwner = JSON.stringify({ pid: Number(dead.stdout.toString()), host: os.hostname(), since: 'x' });
    const file = path.join(dir, 'd.lock');
    fs.writeFileSync(file, deadOwner);
    // Another live process is breaking it (this process stands in for it): the lock is left alone for now.
    const breaker = `${file}.break`;
    fs.writeFileSync(breaker, JSON.stringify({ pid: process.pid, host: os.hostname(), since: 'y' }));
    expect(tryLock(file)).toBeNull();
    expect(fs.readFileSync(file, 'utf8')).toBe(deadOwner);
    // A breaker whose process has died is removed; the next attempt breaks the lock and takes it.
    fs.writeFileSync(breaker, deadOwner);
    expect(tryLock(file)).toBeNull();
    expect(fs.existsSync(breaker)).toBe(false);
    const lock = tryLock(file);
    expect(lock).not.toBeNull();
    expect(fs.existsSync(breaker)).toBe(false);
    must(lock).release();
  });

  it('judges a lock of another host by its age, which refresh() resets', () => {
    const file = path.join(dir, 'c.lock');
    fs.writeFileSync(file, JSON.stringify({ pid: 1, host: 'elsewhere', since: 'x' }));
    expect(tryLock(file, { staleMs: 60_000 })).toBeNull();
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(file, old, old);
    const lock = tryLock(file, { staleMs: 60_000 });
    expect(lock).not.toBeNull();
    fs.utimesSync(file, old, old);
    must(lock).refresh();
    expect(Date.now() - fs.statSync(file).mtimeMs).toBeLessThan(10_000);
    must(lock).release();
  });

  it('acquireLock waits for the holder', async () => {
    const file = path.join(dir, 'd.lock');
    const held = must(tryLock(file));
    setTimeout(() => held.release(), 150);
    const t0 = Date.now();
    const lock = await acquireLock(file, { pollMs: 20 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    lock.release();
  });

  it('produceOnce produces a missing file once under its lock, then reads it', () => {
    const file = path.join(dir, 'stats.txt');
    const produced: string[] = [];
    const produce = (): string => {
      expect(fs.existsSync(`${file}.lock`)).toBe(true);
      fs.writeFileSync(file, 'computed');
      produced.push('x');
      return 'fresh';
    };
    const read = (): string => fs.readFileSync(file, 'utf8');
    expect(produceOnce(file, read, produce)).toBe('fresh');
    expect(produceOnce(file, read, produce)).toBe('computed');
    expect(produced).toHaveLength(1);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it('produceOnce waits for the process holding the lock and reads what it wrote, producing nothing', () => {
    const file = path.join(dir, 'shared.txt');
    // This process holds the lock (it is alive, so the lock is not stale); another process writes the file later.
    const held = must(tryLock(`${file}.lock`));
    const writer = spawn(process.execPath, ['-e', `setTimeout(() => require('fs').writeFileSync(${JSON.stringify(file)}, 'theirs'), 300)`]);
    const t0 = Date.now();
    const got = produceOnce(
      file,
      () => fs.readFileSync(file, 'utf8'),
      () => {
        throw new Error('produced although another process held the lock');
      },
      20,
    );
    expect(got).toBe('theirs');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    held.release();
    writer.kill();
  });

  it('sleepSync blocks for about the given time', () => {
    const t0 = Date.now();
    sleepSync(60);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
  });
});
