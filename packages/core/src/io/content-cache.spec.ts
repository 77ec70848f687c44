import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cachePath, cachedFile, canonicalJson, fileDigest, jsonDigest, sha256Hex } from './content-cache';
import { writeFileAtomic } from './atomic';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-cache-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('content keys', () => {
  it('sha256Hex is the SHA-256 of the parts concatenated (FIPS 180-2 test vector "abc")', () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256Hex(['abc'])).toBe(abc);
    expect(sha256Hex(['a', new Uint8Array([0x62]), 'c'])).toBe(abc);
    expect(sha256Hex([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('canonicalJson sorts object keys at every level, keeps array order and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
    expect(canonicalJson([{ b: 1, a: 2 }, 3, [{ z: null, y: 'v', x: undefined }]])).toBe('[{"a":2,"b":1},3,[{"y":"v","z":null}]]');
  });

  // The value @diffpress/eval pinned before the digests moved here: cache entries on disk keep their names.
  it('jsonDigest is the SHA-256 of the canonical JSON (pinned value)', () => {
    expect(jsonDigest({ b: 1, a: [2, { d: 'é', c: null, u: undefined }] })).toBe('d10093329c89448b6ccaff0fdea44c642890b6e1281872881a7bfbf13f12bdce');
    expect(jsonDigest({ a: [2, { c: null, d: 'é' }], b: 1 })).toBe(sha256Hex(['{"a":[2,{"c":null,"d":"é"}],"b":1}']));
  });

  it('fileDigest hashes the files concatenated, and follows a rewritten file', () => {
    const a = path.join(dir, 'a.bin');
    const b = path.join(dir, 'b.bin');
    fs.writeFileSync(a, 'hello ');
    fs.writeFileSync(b, 'world');
    const helloWorld = 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9';
    expect(fileDigest([a, b])).toBe(helloWorld);
    expect(fileDigest([a, b])).toBe(helloWorld);
    fs.writeFileSync(b, 'there!');
    fs.utimesSync(b, new Date(), new Date(Date.now() + 5000));
    expect(fileDigest([a, b])).toBe(sha256Hex(['hello there!']));
  });

  it('cachePath lays entries out as <root>/<kind>/<key><ext>', () => {
    expect(cachePath('/c', 'reference', 'ab12', '.safetensors')).toBe(path.join('/c', 'reference', 'ab12.safetensors'));
    expect(cachePath('/c', 'samples', 'ab12')).toBe(path.join('/c', 'samples', 'ab12'));
  });
});

describe('cachedFile', () => {
  /** An entry whose production is counted; it stores `value` as text. */
  function counted(root: string | null, value: string): { get: () => string; produced: () => number } {
    let produced = 0;
    const get = (): string =>
      cachedFile(
        { root, kind: 'things', key: 'k1', ext: '.txt' },
        (file) => `read:${fs.readFileSync(file, 'utf8')}`,
        (file) => {
          produced++;
          if (file) writeFileAtomic(file, value);
          return `made:${value}`;
        },
      );
    return { get, produced: () => produced };
  }

  it('produces the file once, then reads it; leaves no lock behind', () => {
    const entry = counted(dir, 'v');
    expect(entry.get()).toBe('made:v');
    expect(entry.get()).toBe('read:v');
    expect(entry.produced()).toBe(1);
    expect(fs.readdirSync(path.join(dir, 'things'))).toEqual(['k1.txt']);
  });

  it('with root null produces every time and writes nothing', () => {
    const entry = counted(null, 'v');
    expect(entry.get()).toBe('made:v');
    expect(entry.get()).toBe('made:v');
    expect(entry.produced()).toBe(2);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('does not keep a failed production: the next call produces again', () => {
    let attempts = 0;
    const get = (): number =>
      cachedFile({ root: dir, kind: 'things', key: 'k2', ext: '.txt' }, (file) => Number(fs.readFileSync(file, 'utf8')), (file) => {
        attempts++;
        if (attempts === 1) throw new Error('killed');
        if (file) writeFileAtomic(file, '42');
        return 42;
      });
    expect(get).toThrow('killed');
    expect(fs.existsSync(path.join(dir, 'things', 'k2.txt.lock'))).toBe(false);
    expect(get()).toBe(42);
    expect(get()).toBe(42);
    expect(attempts).toBe(2);
  });
});
