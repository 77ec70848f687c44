import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { acquireLock, cachePath, jsonDigest, writeJsonAtomic } from '@diffpress/core';

/** Environment variable that sets the store folder (the `--store` option wins). */
export const STORE_ENV_VAR = 'DIFFPRESS_STORE';

/** The store folder: `$DIFFPRESS_STORE`, else `.diffpress/` in `cwd`. */
export function defaultStoreDir(cwd: string = process.cwd()): string {
  return process.env[STORE_ENV_VAR] || path.join(cwd, '.diffpress');
}

/** The record every finished artifact carries in `artifact.json`. */
export interface ArtifactRecord {
  /** Artifact kind (`model`, `metrics`, `unit`, …). */
  kind: string;
  /** Content address: SHA-256 of the kind and the inputs. */
  key: string;
  /** The inputs the key was computed from (config slice, parent keys, producing versions). */
  inputs: unknown;
  /** ISO time it was finished. */
  created: string;
  /** Wall-clock seconds its production took. */
  seconds: number;
}

/** Result of {@link ArtifactStore.produce}. */
export interface Produced {
  /** The artifact folder. */
  dir: string;
  /** Its key. */
  key: string;
  /** True when it existed already (nothing was computed). */
  reused: boolean;
}

/** Result of {@link ArtifactStore.produceJson}. */
export interface ProducedJson<T> {
  /** The stored value (computed now, or read back). */
  value: T;
  /** True when it was read from the store. */
  reused: boolean;
}

/**
 * Content-addressed artifact store (architecture guide §8). An artifact is a folder `<root>/<kind>/<key>/` whose key
 * is the SHA-256 of its inputs (config slice, parent artifact keys, producing package version), so equal inputs are
 * computed once — by any process that shares the folder. Production is atomic (built in a temporary folder, renamed
 * into place) and serialised by a lock file, so two processes never produce or corrupt the same artifact and a killed
 * run leaves no half-written artifact; long builds keep resumable state in {@link workDir}.
 * Samples and reference statistics live in the same root, managed by `@diffpress/eval` with the same guarantees.
 *
 * @example
 * ```ts
 * const store = new ArtifactStore(defaultStoreDir());
 * const key = store.key('metrics', { samples: set.key, metrics: ['fd'] });
 * const { dir } = await store.produce('metrics', key, async (tmp) => writeRows(tmp));
 * ```
 */
export class ArtifactStore {
  /** @param root - The store folder (created on first write). */
  constructor(readonly root: string) {}

  /** The key of an artifact of `kind` with these inputs. */
  key(kind: string, inputs: unknown): string {
    return jsonDigest({ kind, inputs });
  }

  /** The folder of an artifact (it may not exist yet). */
  dir(kind: string, key: string): string {
    return cachePath(this.root, kind, key);
  }

  /** Whether the artifact is finished. */
  has(kind: string, key: string): boolean {
    return fs.existsSync(path.join(this.dir(kind, key), 'artifact.json'));
  }

  /**
   * A folder for resumable intermediate state of an artifact being built (training checkpoints, calibration
   * progress). It survives a killed run, and is removed when the artifact is finished.
   */
  workDir(kind: string, key: string): string {
    const dir = this.workPath(kind, key);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Where {@link workDir} keeps an artifact's state: `<root>/work/<kind>/<key>`. */
  private workPath(kind: string, key: string): string {
    return cachePath(path.join(this.root, 'work'), kind, key);
  }

  /** Reads a JSON file of a finished artifact. */
  readJson<T>(kind: string, key: string, file: string): T {
    return JSON.parse(fs.readFileSync(path.join(this.dir(kind, key), file), 'utf8')) as T;
  }

  /**
   * Returns the artifact, building it first if needed. `build` writes the artifact's files into the folder it is
   * given; on success the folder is renamed into place with its `artifact.json`. While one process builds, others
   * asking for the same artifact wait for it instead of building it again.
   *
   * @param inputs - Recorded in `artifact.json` (the key should be `key(kind, inputs)`).
   */
  async produce(kind: string, key: string, build: (dir: string) => Promise<void>, inputs: unknown = null): Promise<Produced> {
    const dir = this.dir(kind, key);
    if (this.has(kind, key)) return { dir, key, reused: true };
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    const lock = await acquireLock(`${dir}.lock`);
    try {
      if (this.has(kind, key)) return { dir, key, reused: true };
      const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      fs.mkdirSync(tmp, { recursive: true });
      const t0 = performance.now();
      try {
        await build(tmp);
        const record: ArtifactRecord = { kind, key, inputs, created: new Date().toISOString(), seconds: (performance.now() - t0) / 1000 };
        writeJsonAtomic(path.join(tmp, 'artifact.json'), record);
        // A folder left by a build that was killed after writing artifact.json cannot exist (the rename is last);
        // a stale folder without it is replaced.
        fs.rmSync(dir, { recursive: true, force: true });
        fs.renameSync(tmp, dir);
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw err;
      }
      fs.rmSync(this.workPath(kind, key), { recursive: true, force: true });
      return { dir, key, reused: false };
    } finally {
      lock.release();
    }
  }

  /** Writes a small JSON artifact (e.g. result rows) through {@link produce}; returns the value stored. */
  async produceJson<T>(kind: string, key: string, compute: () => Promise<T>, inputs: unknown = null): Promise<ProducedJson<T>> {
    let value: T | undefined;
    const r = await this.produce(
      kind,
      key,
      async (dir) => {
        value = await compute();
        writeJsonAtomic(path.join(dir, 'value.json'), value);
      },
      inputs,
    );
    return { value: r.reused ? this.readJson<T>(kind, key, 'value.json') : (value as T), reused: r.reused };
  }
}
