import * as fs from 'fs';
import { sleepSync, tryLock } from '@diffpress/core';

/**
 * A cached file shared by processes (`--jobs` workers, cluster shards): returns `read()` when `file` exists, else
 * produces it under the lock `<file>.lock` — `produce` must write `file` (atomically) — while other processes wait
 * for it instead of producing it twice.
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
