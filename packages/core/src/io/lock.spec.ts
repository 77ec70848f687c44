import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { acquireLock, sleepSync, tryLock } from './lock';

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

  it('sleepSync blocks for about the given time', () => {
    const t0 = Date.now();
    sleepSync(60);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
  });
});
