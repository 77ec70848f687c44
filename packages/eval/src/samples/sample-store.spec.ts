import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Linear, Module, Rng, initEngine, rawFromFloat32, readSafetensorsFile, rawToFloat32, writeSafetensorsFile } from '@diffpress/core';
import { NoiseSchedule, SamplerConfig, SamplingHook, sample, scheduleFromConfig } from '@diffpress/diffusion';
import { canonicalJson, fileDigest, jsonDigest, moduleDigest } from './digest';
import { DrawSamplesOptions, MissingSamplesError, SAMPLE_CHUNK, SamplingModel, cachedSampleCount, canonicalSampler, drawSamples, readCachedSamples, samplerLabel } from './sample-store';

/** A parameter-free denoiser: ε̂ = z / 2. */
class HalfDenoiser extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
  forward(z: tf.Tensor, _t: tf.Tensor): tf.Tensor {
    return tf.mul(z, 0.5);
  }
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

let tmp: string;
let schedule: NoiseSchedule;
let model: SamplingModel;
const ddim3: SamplerConfig = { kind: 'ddim', steps: 3 };
const shape = [2];

beforeAll(async () => {
  await initEngine({ backend: 'wasm', quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-'));
  schedule = scheduleFromConfig({ type: 'linear-beta', timesteps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
  model = { unet: new HalfDenoiser(), schedule, prediction: 'eps', id: 'half' };
});

afterAll(() => {
  model.unet.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** `sample()` of the same model and sampler, as a plain array. */
function reference(count: number, seed: number, sampler: SamplerConfig = ddim3): Float32Array {
  const x = sample({ model: model.unet, schedule, prediction: 'eps', shape, count, seed, sampler });
  if (!x) throw new Error('no samples');
  const values = x.dataSync() as Float32Array;
  x.dispose();
  return values;
}

function draw(overrides: Partial<DrawSamplesOptions> & { cacheDir: string | null }): ReturnType<typeof drawSamples> {
  return drawSamples({ model, sampler: ddim3, seed: 0, count: 70, shape, ...overrides });
}

describe('digest', () => {
  it('canonicalJson sorts object keys at every level, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
    expect(canonicalJson([{ b: 1, a: 2 }, 3, [{ z: null, y: 'v' }]])).toBe('[{"a":2,"b":1},3,[{"y":"v","z":null}]]');
    expect(canonicalJson('x')).toBe('"x"');
  });

  it('jsonDigest is the SHA-256 of the canonical JSON, independent of key order', () => {
    expect(jsonDigest({ b: 1, a: [2, 3] })).toBe(sha256('{"a":[2,3],"b":1}'));
    expect(jsonDigest({ a: [2, 3], b: 1 })).toBe(jsonDigest({ b: 1, a: [2, 3] }));
    expect(jsonDigest({ a: [3, 2], b: 1 })).not.toBe(jsonDigest({ a: [2, 3], b: 1 }));
  });

  it('moduleDigest tells modules apart by their plain settings, but not by training mode', () => {
    class Scaled extends Module<[tf.Tensor, tf.Tensor], tf.Tensor> {
      constructor(readonly bits: number) {
        super();
      }
      forward(z: tf.Tensor): tf.Tensor {
        return tf.mul(z, this.bits);
      }
    }
    // E.g. one quantizer at 4 and at 8 bits: no tensor differs, the cached samples must.
    const four = new Scaled(4);
    expect(moduleDigest(four)).not.toBe(moduleDigest(new Scaled(8)));
    expect(moduleDigest(four)).toBe(moduleDigest(new Scaled(4)));
    const d = moduleDigest(four);
    four.eval();
    expect(moduleDigest(four)).toBe(d);
  });

  it('fileDigest is the SHA-256 of the files concatenated, and follows a rewritten file', () => {
    const a = path.join(tmp, 'fa.bin');
    const b = path.join(tmp, 'fb.bin');
    fs.writeFileSync(a, 'hello ');
    fs.writeFileSync(b, 'world');
    expect(fileDigest([a, b])).toBe(sha256('hello world'));
    expect(fileDigest([a, b])).toBe(sha256('hello world'));
    fs.writeFileSync(b, 'there!');
    fs.utimesSync(b, new Date(), new Date(Date.now() + 5000));
    expect(fileDigest([a, b])).toBe(sha256('hello there!'));
  });

  it('moduleDigest of a parameter-free module hashes only its module line', () => {
    // The root path is '' so the line is "module  HalfDenoiser {}\n" (two spaces; no plain settings).
    const m = new HalfDenoiser();
    expect(moduleDigest(m)).toBe(sha256('module  HalfDenoiser {}\n'));
    expect(moduleDigest(m)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('moduleDigest is stable for identically built modules and changes with one weight', () => {
    const a = new Linear(3, 2, { rng: new Rng(1, 'x') });
    const b = new Linear(3, 2, { rng: new Rng(1, 'x') });
    const c = new Linear(3, 2, { rng: new Rng(2, 'x') });
    try {
      const da = moduleDigest(a);
      expect(da).toMatch(/^[0-9a-f]{64}$/);
      expect(moduleDigest(b)).toBe(da);
      expect(moduleDigest(a)).toBe(da); // reading does not change anything
      expect(moduleDigest(c)).not.toBe(da);

      // Hand-built digest: module line with its plain settings, then tensors sorted by name (bias before weight).
      const h = createHash('sha256');
      h.update('module  Linear {"inFeatures":3,"outFeatures":2}\n');
      for (const [name, v] of [...a.stateDict()].sort(([x], [y]) => (x < y ? -1 : 1))) {
        h.update(`tensor ${name} ${v.dtype} ${v.shape.join('x')}\n`);
        h.update(Buffer.from((v.dataSync() as Float32Array).buffer));
      }
      expect(h.digest('hex')).toBe(da);

      const [name, w] = b.namedParameters()[0];
      expect(name).toBe('weight');
      const values = w.dataSync() as Float32Array;
      const changed = Float32Array.from(values);
      changed[4] += 1e-3;
      const set = (v: Float32Array): void => {
        const t = tf.tensor(v, w.shape);
        w.assign(t);
        t.dispose();
      };
      set(changed);
      expect(moduleDigest(b)).not.toBe(da);
      // Restoring the value restores the digest.
      set(values);
      expect(moduleDigest(b)).toBe(da);
    } finally {
      a.dispose();
      b.dispose();
      c.dispose();
    }
  });
});

describe('canonicalSampler and samplerLabel', () => {
  it('drops entries equal to their defaults', () => {
    expect(canonicalSampler({ kind: 'ddim', steps: 3, eta: 0, spacing: 'uniform', clipDenoised: true })).toEqual({ kind: 'ddim', steps: 3 });
    expect(canonicalSampler({ kind: 'ddpm', steps: 1000, ddpmVariance: 'small', eta: 0.7 })).toEqual({ kind: 'ddpm', steps: 1000 });
    expect(canonicalSampler({ kind: 'ddim', steps: 5, eta: 0.5, spacing: 'quadratic', clipDenoised: false })).toEqual({
      kind: 'ddim',
      steps: 5,
      eta: 0.5,
      spacing: 'quadratic',
      clipDenoised: false,
    });
    expect(canonicalSampler({ kind: 'ddpm', steps: 10, ddpmVariance: 'large' })).toEqual({ kind: 'ddpm', steps: 10, ddpmVariance: 'large' });
  });

  it('labels samplers', () => {
    expect(samplerLabel({ kind: 'ddim', steps: 50 })).toBe('ddim-50');
    expect(samplerLabel({ kind: 'ddim', steps: 50, eta: 0 })).toBe('ddim-50');
    expect(samplerLabel({ kind: 'ddpm', steps: 1000 })).toBe('ddpm-1000');
    expect(samplerLabel({ kind: 'ddim', steps: 50, eta: 0.5 })).toBe('ddim-50-eta0.5');
    expect(samplerLabel({ kind: 'ddim', steps: 20, spacing: 'quadratic', clipDenoised: false })).toBe('ddim-20-quadratic-noclip');
    expect(samplerLabel({ kind: 'ddpm', steps: 100, ddpmVariance: 'large' })).toBe('ddpm-100-large');
  });
});

describe('drawSamples', () => {
  it('equals sample() value for value, then serves the same data from the cache', () => {
    const cacheDir = path.join(tmp, 'a');
    const want = reference(70, 0);
    // Clean samples are the clipped x̂ of the last step: in [−1, 1], many of them strictly inside.
    expect(want.every((v) => v >= -1 && v <= 1)).toBe(true);
    const inside = want.filter((v) => Math.abs(v) < 1);
    expect(new Set(inside).size).toBeGreaterThan(40);
    const progress: Array<[number, number]> = [];
    const first = draw({ cacheDir, onProgress: (d, t) => progress.push([d, t]) });
    expect(first.count).toBe(70);
    expect(first.shape).toEqual([2]);
    expect(first.data).toEqual(want);
    expect(first.cached).toBe(0);
    expect(first.modelDigest).toBe(moduleDigest(model.unet));
    expect(first.backends).toEqual(['wasm']);
    expect(first.key).toMatch(/^[0-9a-f]{64}$/);
    expect(progress).toEqual([16, 32, 48, 64, 70].map((d) => [d, 70]));

    // Chunk files of at most SAMPLE_CHUNK rows (the last one holds the remaining 6), plus about.json.
    const dir = path.join(cacheDir, 'samples', first.key);
    const starts = [0, 16, 32, 48, 64];
    expect(fs.readdirSync(dir).sort()).toEqual([...starts.map((s) => `${String(s).padStart(7, '0')}.safetensors`), 'about.json']);
    expect(chunkValues(path.join(dir, '0000064.safetensors'))).toEqual(want.subarray(64 * 2, 70 * 2));
    const about = JSON.parse(fs.readFileSync(path.join(dir, 'about.json'), 'utf8')) as Record<string, unknown>;
    expect(about).toEqual({ model: 'half', modelDigest: first.modelDigest, sampler: ddim3, seed: 0, shape: [2], policy: null });

    const second = draw({ cacheDir });
    expect(second.cached).toBe(70);
    expect(second.key).toBe(first.key);
    expect(second.data).toEqual(want);

    // Growing the count draws only the new indices, from where the cache stops; the first 70 rows are unchanged.
    const grown = draw({ cacheDir, count: 100 });
    expect(grown.cached).toBe(70);
    expect(grown.key).toBe(first.key);
    expect(grown.data).toEqual(reference(100, 0));
    expect(fs.readdirSync(dir)).toEqual(expect.arrayContaining(['0000070.safetensors', '0000086.safetensors']));
    expect(SAMPLE_CHUNK).toBe(16);
  });

  it('reads chunk files of another size (64-row files of earlier versions) and fills the gaps between them', () => {
    const cacheDir = path.join(tmp, 'legacy');
    const { key } = draw({ cacheDir: null, count: 1 });
    const dir = path.join(cacheDir, 'samples', key);
    const all = reference(150, 0);
    fs.mkdirSync(dir, { recursive: true });
    writeSafetensorsFile(path.join(dir, '0000000.safetensors'), new Map([['samples', rawFromFloat32(all.slice(0, 128), [64, 2])]]), {});
    writeSafetensorsFile(path.join(dir, '0000100.safetensors'), new Map([['samples', rawFromFloat32(all.slice(200, 300), [50, 2])]]), {});
    expect(cachedSampleCount(model, ddim3, 0, shape, cacheDir)).toBe(64);
    const set = draw({ cacheDir, count: 150 });
    expect(set.cached).toBe(64 + 50);
    expect(set.data).toEqual(all);
    // The gap 64–99 was cut at the next cached file: 64–79, 80–95, 96–99.
    expect(chunkValues(path.join(dir, '0000096.safetensors')).length).toBe(4 * 2);
    expect(cachedSampleCount(model, ddim3, 0, shape, cacheDir)).toBe(150);
  });

  it('with share, waits for a chunk that another live process is drawing instead of drawing it twice', () => {
    const cacheDir = path.join(tmp, 'share');
    const { key } = draw({ cacheDir: null, count: 1 });
    const dir = path.join(cacheDir, 'samples', key);
    fs.mkdirSync(dir, { recursive: true });
    // The "other process" delivers rows 16–31 as a recognisable constant after one second, then drops its lock.
    const staged = path.join(tmp, 'staged.safetensors');
    writeSafetensorsFile(staged, new Map([['samples', rawFromFloat32(new Float32Array(32).fill(0.25), [16, 2])]]), {});
    const lockFile = path.join(dir, '0000016.lock');
    const target = path.join(dir, '0000016.safetensors');
    const script = `setTimeout(() => { require('fs').renameSync(${JSON.stringify(staged)}, ${JSON.stringify(target)}); require('fs').rmSync(${JSON.stringify(lockFile)}); }, 1000);`;
    const other = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    fs.writeFileSync(lockFile, JSON.stringify({ pid: other.pid, host: os.hostname(), since: 'now' }));
    const t0 = Date.now();
    const set = draw({ cacheDir, count: 40, share: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(set.cached).toBe(16);
    const want = reference(40, 0);
    expect(set.data.subarray(0, 32)).toEqual(want.subarray(0, 32));
    expect(set.data.subarray(32, 64)).toEqual(new Float32Array(32).fill(0.25));
    expect(set.data.subarray(64)).toEqual(want.subarray(64));
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  it('readCachedSamples reads a set back by its key, and refuses more than the cache holds', () => {
    const cacheDir = path.join(tmp, 'read');
    const set = draw({ cacheDir, count: 20 });
    expect(readCachedSamples(cacheDir, set.key, 20, shape)).toEqual(set.data);
    expect(readCachedSamples(cacheDir, set.key, 5, shape)).toEqual(set.data.subarray(0, 10));
    expect(() => readCachedSamples(cacheDir, set.key, 21, shape)).toThrow(/holds only 20 of the 21 samples asked/);
    expect(() => readCachedSamples(cacheDir, set.key, 21, shape)).toThrow(MissingSamplesError);
    expect(() => readCachedSamples(cacheDir, 'f'.repeat(64), 1, shape)).toThrow(MissingSamplesError);
  });

  it('onStepProgress reports fractional progress after every sampler step, batch by batch', () => {
    const seen: number[] = [];
    draw({ cacheDir: null, count: 20, batchSize: 8, onStepProgress: (d, t) => {
      expect(t).toBe(20);
      seen.push(d);
    } });
    // Pieces of 16 and 4 rows; the first in batches of 8: 8/3, 16/3, 8, then 8 + 8/3, …, 16, then 16 + 4/3, …, 20.
    expect(seen).toHaveLength(9);
    expect(seen[0]).toBeCloseTo(8 / 3);
    expect(seen[2]).toBe(8);
    expect(seen[5]).toBe(16);
    expect(seen[8]).toBe(20);
    expect(seen.every((v, i) => i === 0 || v > seen[i - 1])).toBe(true);
  });

  it('cachedSampleCount counts the contiguous samples on disk from index 0, without drawing', () => {
    const cacheDir = path.join(tmp, 'count');
    expect(cachedSampleCount(model, ddim3, 0, shape, cacheDir)).toBe(0);
    draw({ cacheDir, count: 70 });
    expect(cachedSampleCount(model, ddim3, 0, shape, cacheDir)).toBe(70);
    expect(cachedSampleCount(model, ddim3, 1, shape, cacheDir)).toBe(0);
  });

  it('with cacheDir null writes nothing and still returns the samples', () => {
    const cacheDir = path.join(tmp, 'none');
    const set = draw({ cacheDir: null, count: 5, batchSize: 2 });
    expect(set.cached).toBe(0);
    expect(set.data).toEqual(reference(5, 0));
    expect(fs.existsSync(cacheDir)).toBe(false);
    // The key does not depend on caching or the batch size.
    expect(set.key).toBe(draw({ cacheDir: null, count: 1 }).key);
  });

  it('keys the cache by seed, sampler (canonically, explicit times too), shape and hook-chain key', () => {
    const key = (o: Partial<DrawSamplesOptions>): string => draw({ cacheDir: null, count: 1, ...o }).key;
    const base = key({});
    expect(key({ sampler: { kind: 'ddim', steps: 3, eta: 0 } })).toBe(base);
    expect(key({ sampler: { kind: 'ddim', steps: 3, spacing: 'uniform', clipDenoised: true } })).toBe(base);
    expect(key({ sampler: { kind: 'ddim', steps: 4 } })).not.toBe(base);
    expect(key({ sampler: { kind: 'ddim', steps: 3, eta: 0.5 } })).not.toBe(base);
    expect(key({ seed: 1 })).not.toBe(base);
    expect(key({ shape: [1, 2] })).not.toBe(base);
    expect(key({ hooks: [], hooksKey: 'full' })).not.toBe(base);
    expect(key({ sampler: { kind: 'renoise', steps: 3, times: [999, 500, 1] } })).not.toBe(key({ sampler: { kind: 'renoise', steps: 3, times: [999, 499, 1] } }));
    // The key is a SHA-256 of the documented fields.
    expect(base).toBe(
      jsonDigest({
        v: 1,
        model: moduleDigest(model.unet),
        schedule: schedule.toConfig(),
        prediction: 'eps',
        sampler: { kind: 'ddim', steps: 3 },
        seed: 0,
        shape: [2],
        policy: null,
      }),
    );
  });

  // Users' caches hold sets under these names: a refactor of the digests must not move them.
  it('keeps the keys and folders of existing cache entries (pinned values)', () => {
    const cacheDir = path.join(tmp, 'pinned');
    const base = draw({ cacheDir, count: 1 });
    expect(base.modelDigest).toBe('5610976f534834a03bfc2769d870a1df0f8f41d5b033c54d89884b966d618bf1');
    expect(base.key).toBe('295c8a9cc9a0c1f72e98a7c03446d61ea6a7dca4bcd1c679165bbe9eb8dead08');
    expect(fs.existsSync(path.join(cacheDir, 'samples', '295c8a9cc9a0c1f72e98a7c03446d61ea6a7dca4bcd1c679165bbe9eb8dead08', '0000000.safetensors'))).toBe(true);
    expect(draw({ cacheDir: null, count: 1, hooksKey: 'full', sampler: { kind: 'ddpm', steps: 10, ddpmVariance: 'large' } }).key).toBe('284a98fad503a1c69bf0e0e69bd0ef7913b62532f3e969be7e9c104d97fc08f7');
    const linear = new Linear(3, 2, { rng: new Rng(1, 'x') });
    try {
      expect(moduleDigest(linear)).toBe('af24a9f127d38a13c8a1792435966243c96def67757a3b1a58cfb39f8fb44a7a');
    } finally {
      linear.dispose();
    }
    expect(jsonDigest({ b: 1, a: [2, { d: 'é', c: null, u: undefined }] })).toBe('d10093329c89448b6ccaff0fdea44c642890b6e1281872881a7bfbf13f12bdce');
  });

  it('a different seed gives different samples, equal to sample() with that seed', () => {
    const a = draw({ cacheDir: path.join(tmp, 'a'), count: 3 });
    const b = draw({ cacheDir: path.join(tmp, 'a'), count: 3, seed: 7 });
    expect(b.key).not.toBe(a.key);
    expect(b.cached).toBe(0);
    expect(b.data).toEqual(reference(3, 7));
    expect(b.data).not.toEqual(a.data);
  });

  it('sampling hooks need a hooksKey unless caching is off', () => {
    let calls = 0;
    const counting: SamplingHook = {
      name: 'counting',
      call: (c, next) => {
        calls++;
        return next(c);
      },
    };
    const hooks = [counting];
    const cacheDir = path.join(tmp, 'policy');
    expect(() => draw({ cacheDir, hooks })).toThrow(/hooksKey/);
    expect(fs.existsSync(cacheDir)).toBe(false);
    const set = draw({ cacheDir: null, count: 4, hooks });
    expect(calls).toBe(3); // one batch × three DDIM steps
    expect(set.data).toEqual(reference(4, 0));
    const keyed = draw({ cacheDir, count: 4, hooks, hooksKey: 'counting' });
    expect(keyed.data).toEqual(reference(4, 0));
    expect(keyed.key).not.toBe(set.key);
  });

  it('rejects bad counts and a cache chunk of the wrong size', () => {
    expect(() => draw({ cacheDir: null, count: 0 })).toThrow(RangeError);
    expect(() => draw({ cacheDir: null, count: 2.5 })).toThrow(RangeError);
    const cacheDir = path.join(tmp, 'bad');
    const { key } = draw({ cacheDir, count: 1 });
    const file = path.join(cacheDir, 'samples', key, '0000000.safetensors');
    writeSafetensorsFile(file, new Map([['samples', rawFromFloat32(new Float32Array(5), [5])]]), {});
    expect(() => draw({ cacheDir, count: 1 })).toThrow(/holds 5 values, not whole samples of 2 values/);
  });
});

function chunkValues(file: string): Float32Array {
  const raw = readSafetensorsFile(file).tensors.get('samples');
  if (!raw) throw new Error(`${file} has no samples`);
  return rawToFloat32(raw);
}
