import { matchesAnyGlob, matchesGlob } from './glob';

describe('matchesGlob', () => {
  it.each([
    ['down.1.res.0.conv1', 'down.*.res.*.conv1', true],
    ['down.1.res.0.conv2', 'down.*.res.*.conv1', false],
    ['down.1.res.0.conv1', 'down.*.conv1', false],
    ['down.1.res.0.conv1', 'down.**.conv1', true],
    ['conv1', '**.conv1', true],
    ['a.b.c', '**', true],
    ['', '**', true],
    ['mid.attn.q', '**.attn.*', true],
    ['up.2.res_skip', 'up.*.res*', true],
    ['up.2.xres', 'up.*.res*', false],
    ['temb.0', 'temb.?', true],
    ['temb.10', 'temb.?', false],
    ['stem', 'stem', true],
    ['stem.weight', 'stem', false],
    ['a.b', 'a.**.b', true],
    ['a.x.y.b', 'a.**.b', true],
    ['a.x.y.c', 'a.**.b', false],
  ])('%s ~ %s → %s', (path, pattern, expected) => {
    expect(matchesGlob(path, pattern)).toBe(expected);
  });

  it('treats regex characters literally', () => {
    expect(matchesGlob('a+b', 'a+b')).toBe(true);
    expect(matchesGlob('aab', 'a+b')).toBe(false);
  });

  it('matchesAnyGlob is an OR over patterns', () => {
    expect(matchesAnyGlob('out', ['stem', 'out'])).toBe(true);
    expect(matchesAnyGlob('mid', ['stem', 'out'])).toBe(false);
    expect(matchesAnyGlob('mid', [])).toBe(false);
  });
});
