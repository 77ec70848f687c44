import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/**
 * Writes a file atomically: the bytes go to a uniquely named temporary file beside the target, are flushed, and the
 * temporary file is renamed over the target. A reader (or a run resumed after a kill) therefore sees either the old
 * file or the complete new one, never a torn write. Creates the parent folder.
 *
 * @param filePath - The target file.
 * @param data - Bytes or text (UTF-8).
 * @throws The underlying I/O error; the temporary file is removed first.
 * @example
 * ```ts
 * writeFileAtomic('runs/a/state.json', JSON.stringify(state));
 * ```
 */
export function writeFileAtomic(filePath: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(path.resolve(filePath)), { recursive: true });
  const tmpPath = `${filePath}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let created = false;
  try {
    const fd = fs.openSync(tmpPath, 'wx');
    created = true;
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmpPath, filePath);
  } catch (err) {
    if (created) fs.rmSync(tmpPath, { force: true });
    throw err;
  }
}

/** {@link writeFileAtomic} of `JSON.stringify(value, null, 2)` plus a final newline. */
export function writeJsonAtomic(filePath: string, value: unknown): void {
  writeFileAtomic(filePath, JSON.stringify(value, null, 2) + '\n');
}
