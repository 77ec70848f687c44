import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic, writeJsonAtomic } from './atomic';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates parent folders, replaces an existing file and leaves no temporary file', () => {
    const file = path.join(dir, 'a', 'b', 'x.bin');
    writeFileAtomic(file, new Uint8Array([1, 2, 3]));
    writeFileAtomic(file, 'second');
    expect(fs.readFileSync(file, 'utf8')).toBe('second');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['x.bin']);
  });

  it('removes its temporary file and keeps the old content when the rename fails', () => {
    const target = path.join(dir, 'occupied');
    fs.mkdirSync(path.join(target, 'child'), { recursive: true });
    // Renaming a file over a non-empty folder fails.
    expect(() => writeFileAtomic(target, 'data')).toThrow();
    expect(fs.readdirSync(dir)).toEqual(['occupied']);
  });

  it('writes JSON with two-space indentation and a final newline', () => {
    const file = path.join(dir, 's.json');
    writeJsonAtomic(file, { step: 3, path: 'c' });
    expect(fs.readFileSync(file, 'utf8')).toBe('{\n  "step": 3,\n  "path": "c"\n}\n');
  });
});
