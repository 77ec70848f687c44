import { formatPath, getPath, parsePath, setPath } from './paths';

describe('recipe paths', () => {
  it('parses dotted paths with indices and formats them back', () => {
    expect(parsePath('pipeline[1].config.bits')).toEqual(['pipeline', 1, 'config', 'bits']);
    expect(parsePath('sample.steps')).toEqual(['sample', 'steps']);
    expect(parsePath('a[0][2]')).toEqual(['a', 0, 2]);
    expect(formatPath(['pipeline', 1, 'config', 'bits'])).toBe('pipeline[1].config.bits');
    expect(formatPath([])).toBe('');
  });

  it.each(['', '.a', 'a.', 'a..b', '[0]', 'a[x]', 'a[0]b', 'a[1'])('rejects %p', (p) => {
    expect(() => parsePath(p)).toThrow(/is not a recipe path/);
  });

  it('gets and sets without touching the original', () => {
    const r = { sample: { steps: 10 }, pipeline: [{ method: 'x', config: { bits: 4 } }] };
    expect(getPath(r, ['pipeline', 0, 'config', 'bits'])).toBe(4);
    expect(getPath(r, ['pipeline', 3, 'config'])).toBeUndefined();
    expect(getPath(r, ['sample', 'steps', 'x'])).toBeUndefined();
    const s = setPath(r, ['pipeline', 0, 'config', 'bits'], 8);
    expect(s.pipeline[0].config.bits).toBe(8);
    expect(r.pipeline[0].config.bits).toBe(4);
    expect(setPath(r, ['sample', 'eta'], 0.5).sample).toEqual({ steps: 10, eta: 0.5 });
    expect(setPath(r, ['ablation', 'axes'], [1])).toMatchObject({ ablation: { axes: [1] } });
    expect(() => setPath(r, ['pipeline', 2, 'config'], {})).toThrow(/is not an object or list/);
    expect(() => setPath(r, ['pipeline', 1], {})).toThrow(/past the end/);
    expect(() => setPath(r, ['sample', 'steps', 'x'], 1)).toThrow(/sample.steps is not an object or list/);
  });

  it('removes an object key for a null value (so an axis can drop the pipeline)', () => {
    const r = { sample: { steps: 10 }, pipeline: [{ method: 'x' }] };
    expect(setPath(r, ['pipeline'], null)).toEqual({ sample: { steps: 10 } });
    expect(r.pipeline).toHaveLength(1);
  });
});
