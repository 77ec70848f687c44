import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ArtifactStore, STORE_ENV_VAR, defaultStoreDir } from './store';

describe('ArtifactStore', () => {
  let root: string;
  let store: ArtifactStore;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-store-'));
    store = new ArtifactStore(root);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('keys by content: equal inputs in any key order give one key', () => {
    expect(store.key('m', { a: 1, b: [1, 2] })).toBe(store.key('m', { b: [1, 2], a: 1 }));
    expect(store.key('m', { a: 1 })).not.toBe(store.key('m', { a: 2 }));
    expect(store.key('m', { a: 1 })).not.toBe(store.key('n', { a: 1 }));
  });

  // Users' stores hold artifacts under these names: a refactor of the digests must not move them.
  it('keeps the keys and folders of existing artifacts (pinned values)', () => {
    const key = store.key('metrics', { seed: 0, samples: 'ab12', metrics: ['fd', 'kid'] });
    // SHA-256 of {"inputs":{"metrics":["fd","kid"],"samples":"ab12","seed":0},"kind":"metrics"}.
    expect(key).toBe('63bc3e4655a6cc464d91ffbace13ee68f9397a6d2ca809763e6e0aad9a0384e0');
    expect(store.dir('metrics', key)).toBe(path.join(root, 'metrics', key));
  });

  it('builds once, then reuses; records the inputs; removes the work folder', async () => {
    let builds = 0;
    const key = store.key('thing', { x: 1 });
    fs.writeFileSync(path.join(store.workDir('thing', key), 'checkpoint'), 'half');
    const build = async (dir: string): Promise<void> => {
      builds++;
      fs.writeFileSync(path.join(dir, 'out.txt'), 'hello');
    };
    const first = await store.produce('thing', key, build, { x: 1 });
    expect(first.reused).toBe(false);
    expect(fs.readFileSync(path.join(first.dir, 'out.txt'), 'utf8')).toBe('hello');
    expect(store.readJson<{ inputs: unknown; kind: string }>('thing', key, 'artifact.json')).toMatchObject({ kind: 'thing', key, inputs: { x: 1 } });
    expect(fs.existsSync(path.join(root, 'work', 'thing', key))).toBe(false);
    const second = await store.produce('thing', key, build);
    expect(second.reused).toBe(true);
    expect(builds).toBe(1);
    // Nothing but the artifact and no lock is left behind.
    expect(fs.readdirSync(path.join(root, 'thing'))).toEqual([key]);
  });

  it('two concurrent producers of one artifact build it once', async () => {
    let builds = 0;
    const build = async (dir: string): Promise<void> => {
      builds++;
      await new Promise((r) => setTimeout(r, 100));
      fs.writeFileSync(path.join(dir, 'v'), String(builds));
    };
    const [a, b] = await Promise.all([store.produce('k', 'abc', build), store.produce('k', 'abc', build)]);
    expect(builds).toBe(1);
    expect([a.reused, b.reused].sort()).toEqual([false, true]);
  });

  it('a failed build leaves nothing; a build killed mid-way is taken over', async () => {
    await expect(store.produce('k', 'bad', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(fs.readdirSync(path.join(root, 'k'))).toEqual([]);
    // A killed producer: its temporary folder and a lock of a process that no longer exists.
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
    fs.mkdirSync(path.join(root, 'k', 'xyz.tmp-1-ab'), { recursive: true });
    fs.writeFileSync(path.join(root, 'k', 'xyz.lock'), JSON.stringify({ pid: dead, host: os.hostname(), since: 'x' }));
    const r = await store.produceJson('k', 'xyz', async () => ({ rows: [1, 2] }));
    expect(r).toEqual({ value: { rows: [1, 2] }, reused: false });
    expect(await store.produceJson('k', 'xyz', async () => ({ rows: [] }))).toEqual({ value: { rows: [1, 2] }, reused: true });
  });

  it('defaults to $DIFFPRESS_STORE, else .diffpress in the working folder', () => {
    const saved = process.env[STORE_ENV_VAR];
    try {
      delete process.env[STORE_ENV_VAR];
      expect(defaultStoreDir('/work/x')).toBe('/work/x/.diffpress');
      process.env[STORE_ENV_VAR] = '/shared/store';
      expect(defaultStoreDir('/work/x')).toBe('/shared/store');
    } finally {
      if (saved === undefined) delete process.env[STORE_ENV_VAR];
      else process.env[STORE_ENV_VAR] = saved;
    }
  });
});
