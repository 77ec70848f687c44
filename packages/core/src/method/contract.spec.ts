import { COMPRESSION_STATE_FORMAT, METHOD_FAMILIES, checkCompressionState, withholdInput } from './contract';

describe('compression-state sidecar', () => {
  const good = { format: COMPRESSION_STATE_FORMAT, base: 'unet-mnist-s-eps', history: [], bitWidths: { 'down.0.conv': { weightBits: 4, activationBits: 8 } } };

  it('accepts the current format and returns it unchanged', () => {
    expect(checkCompressionState(good, 'x.json')).toBe(good);
  });

  it('refuses a newer format with a message that names the file and both versions', () => {
    expect(() => checkCompressionState({ ...good, format: COMPRESSION_STATE_FORMAT + 1 }, 'm/compression-state.json')).toThrow(
      `m/compression-state.json: compression-state format ${COMPRESSION_STATE_FORMAT + 1} is newer than this version of diffpress understands (${COMPRESSION_STATE_FORMAT}); update diffpress`,
    );
  });

  it('refuses malformed content', () => {
    expect(() => checkCompressionState(null, 'a')).toThrow(/no numeric 'format'/);
    expect(() => checkCompressionState({ format: 1, base: 3, history: [], bitWidths: {} }, 'a')).toThrow(/needs 'base'/);
    expect(() => checkCompressionState({ format: 1, base: 'b', history: {}, bitWidths: {} }, 'a')).toThrow(/'history' \(array\)/);
  });

  it('lists the four families of the architecture guide', () => {
    expect(METHOD_FAMILIES).toEqual(['binarization', 'ptq', 'distillation', 'encoder-propagation']);
  });
});

describe('withholdInput', () => {
  it('makes reading the field throw, while a spread copy simply lacks it', () => {
    const ctx = withholdInput({ seed: 3, sampler: { steps: 4 } as { steps: number } | undefined }, 'sampler', 'undeclared sampler');
    expect(() => ctx.sampler).toThrow('undeclared sampler');
    const copy = { ...ctx, seed: 4 };
    expect(copy).toEqual({ seed: 4 });
    expect(ctx.seed).toBe(3);
  });
});
