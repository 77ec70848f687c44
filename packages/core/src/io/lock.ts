import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** A held lock file; see {@link tryLock}. */
export interface FileLock {
  /** The lock file. */
  readonly file: string;
  /** Marks the lock as alive (updates its modification time); call it during long work so others do not break it. */
  refresh(): void;
  /** Removes the lock file (idempotent). */
  release(): void;
}

/** Options of {@link tryLock} and {@link acquireLock}. */
export interface LockOptions {
  /**
   * A lock whose holder is on another host is considered abandoned when its file has not been refreshed for this many
   * milliseconds (default 30 min). On the same host, a lock whose process has exited is abandoned at once.
   */
  staleMs?: number;
}

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function abandoned(file: string, staleMs: number): boolean {
  let owner: LockOwner;
  let mtimeMs: number;
  try {
    owner = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    // Vanished (released meanwhile) or half-written by a holder that is creating it right now: not abandoned.
    return false;
  }
  if (owner.host === os.hostname()) return owner.pid !== process.pid && !processAlive(owner.pid);
  return Date.now() - mtimeMs > staleMs;
}

/**
 * Removes the abandoned lock `file` under the breaker lock `<file>.break`, so that of two processes that both judged
 * it abandoned only one removes it: without the breaker, the second could remove the fresh lock the first has just
 * taken, and both would hold it. Under the breaker the lock is judged again. Returns whether `file` is gone (the
 * caller may then create it); false while another process is breaking it.
 */
function breakAbandoned(file: string, staleMs: number): boolean {
  const breaker = `${file}.break`;
  let fd: number;
  try {
    fd = fs.openSync(breaker, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // A breaker is held for microseconds; one left by a process killed in that window is abandoned itself.
    if (abandoned(breaker, staleMs)) fs.rmSync(breaker, { force: true });
    return false;
  }
  try {
    fs.writeFileSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() } satisfies LockOwner));
    fs.closeSync(fd);
    if (!fs.existsSync(file)) return true;
    if (!abandoned(file, staleMs)) return false;
    fs.rmSync(file, { force: true });
    return true;
  } finally {
    fs.rmSync(breaker, { force: true });
  }
}

/**
 * Takes an exclusive lock by creating `file` (O_EXCL), so that processes sharing a folder — `--jobs` workers, or
 * cluster shards on a shared filesystem — never produce the same artifact twice at once. A lock left behind by a
 * killed process is detected (same host: its pid no longer exists; other host: not refreshed within `staleMs`) and
 * taken over.
 *
 * @returns The lock, or `null` when another live process holds it.
 * @example
 * ```ts
 * const lock = tryLock('store/samples/ab12/0000016.lock');
 * if (lock) try { draw(); } finally { lock.release(); }
 * ```
 */
export function tryLock(file: string, options: LockOptions = {}): FileLock | null {
  const staleMs = options.staleMs ?? 30 * 60 * 1000;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        const owner: LockOwner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
        fs.writeFileSync(fd, JSON.stringify(owner));
      } finally {
        fs.closeSync(fd);
      }
      let held = true;
      return {
        file,
        refresh: () => {
          if (!held) return;
          const now = new Date();
          try {
            fs.utimesSync(file, now, now);
          } catch {
            // Removed by someone who judged it stale; nothing to refresh, and the work is still ours to finish.
          }
        },
        release: () => {
          if (!held) return;
          held = false;
          fs.rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (attempt === 0 && abandoned(file, staleMs) && breakAbandoned(file, staleMs)) continue;
      return null;
    }
  }
  return null;
}

/** Blocks the thread for `ms` milliseconds (for synchronous work loops that must wait for another process). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Waits until the lock can be taken ({@link tryLock}, polling every `pollMs`, default 500 ms).
 *
 * @example
 * ```ts
 * const lock = await acquireLock(path.join(dir, 'artifact.lock'));
 * try { build(); } finally { lock.release(); }
 * ```
 */
export async function acquireLock(file: string, options: LockOptions & { pollMs?: number } = {}): Promise<FileLock> {
  for (;;) {
    const lock = tryLock(file, options);
    if (lock) return lock;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
}

/**
 * A cached file shared by processes (`--jobs` workers, cluster shards, background draws): returns `read()` when
 * `file` exists, else produces it under the lock `<file>.lock` while other processes wait for it, so it is never
 * produced twice at once. `produce` must write `file` atomically (e.g. with `writeFileAtomic`): the others read it
 * as soon as it exists. Synchronous: the waiting is {@link sleepSync} polling every `pollMs` (default 500 ms).
 *
 * @example
 * ```ts
 * const stats = produceOnce(file, () => readStats(file), () => { const s = compute(); writeStats(file, s); return s; });
 * ```
 */
export function produceOnce<T>(file: string, read: () => T, produce: () => T, pollMs = 500): T {
  for (;;) {
    if (fs.existsSync(file)) return read();
    const lock = tryLock(`${file}.lock`);
    if (!lock) {
      sleepSync(pollMs);
      continue;
    }
    try {
      // Another process may have finished it between the check and the lock.
      if (!fs.existsSync(file)) return produce();
    } finally {
      lock.release();
    }
  }
}
