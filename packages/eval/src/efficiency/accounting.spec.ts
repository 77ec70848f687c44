import { LayerInfo, unetLayerInventory, unetPresets } from '@diffpress/diffusion';
import { FP32, accountEfficiency, compressionRatios, isDefaultFpLayer, precisionOf, uniformBits } from './accounting';

const MIB = 2 ** 20;

describe('accountEfficiency on hand-computed layers', () => {
  // One 3×3 conv 4 → 8 at 10×10 and one linear 8 → 2, plus a norm and an attention product.
  const layers: LayerInfo[] = [
    { path: 'a.conv', kind: 'conv', part: 'encoder', block: 'a', role: 'conv1', inChannels: 4, outChannels: 8, kernel: [3, 3], positions: 100, weights: 288, biases: 8, macs: 28800 },
    { path: 'a.norm', kind: 'norm', part: 'encoder', block: 'a', role: 'norm1', inChannels: 8, outChannels: 8, kernel: [1, 1], positions: 100, weights: 0, biases: 16, macs: 0 },
    { path: 'mid.qk', kind: 'matmul', part: 'middle', block: 'mid', role: 'qk', inChannels: 8, outChannels: 8, kernel: [1, 1], positions: 4, weights: 0, biases: 0, macs: 128 },
    { path: 'time.lin', kind: 'linear', part: 'time', block: 'time', role: 'linear1', inChannels: 8, outChannels: 2, kernel: [1, 1], positions: 1, weights: 16, biases: 2, macs: 16 },
  ];

  it('counts full precision as params × 4 bytes and MACs = OPs, without attention matmuls (paper style)', () => {
    const r = accountEfficiency(layers);
    expect(r.params).toBe(288 + 8 + 16 + 16 + 2);
    expect(r.sizeBytes).toBe(330 * 4);
    expect(r.macs).toBe(28800 + 16);
    expect(r.ops).toBe(28816);
    expect(r.bops).toBe(0);
    expect(r.byPart.encoder.macs).toBe(28800);
    expect(r.byPart.time.macs).toBe(16);
    expect(r.byPart.middle.macs).toBe(0);
  });

  it('prices W4A8 weights at 4 bits and OPs at MACs·4·8/64', () => {
    const r = accountEfficiency(layers, { bits: new Map([['a.conv', { weightBits: 4, activationBits: 8 }]]) });
    expect(r.sizeBytes).toBe((288 * 4) / 8 + (8 + 16 + 16 + 2) * 4);
    expect(r.bops).toBe(28800 * 32);
    expect(r.fpMacs).toBe(16);
    expect(r.ops).toBe((28800 * 32) / 64 + 16);
  });

  it('prices weight-only quantization (W4A32) at 4-bit size but FP MACs (the weights are dequantized before multiplying)', () => {
    const r = accountEfficiency(layers, { bits: new Map([['a.conv', { weightBits: 4, activationBits: 32 }]]) });
    expect(r.sizeBytes).toBe((288 * 4) / 8 + (8 + 16 + 16 + 2) * 4);
    expect(r.bops).toBe(0);
    expect(r.fpMacs).toBe(28800 + 16);
    expect(r.ops).toBe(28816);
  });

  it('adds matmuls, per-channel scales and extras in the as-implemented style', () => {
    const bits = new Map([['a.*', { weightBits: 1, activationBits: 1 }]]);
    const r = accountEfficiency(layers, {
      bits, style: 'as-implemented', extras: [{ path: 'a.conv.kmap', part: 'encoder', macs: 900, params: 9, precision: FP32 }],
    });
    // conv: 288 one-bit weights + 8 biases·32 + (8 channel scales + 1 activation step)·32 bits.
    const convBits = 288 + 8 * 32 + 9 * 32;
    expect(r.sizeBytes).toBe((convBits + 16 * 32 + 18 * 32 + 9 * 32) / 8);
    expect(r.params).toBe(330 + 9 + 9);
    expect(r.bops).toBe(28800);
    expect(r.fpMacs).toBe(128 + 16 + 900);
    expect(r.ops).toBe(28800 / 64 + 128 + 16 + 900);
  });

  it('resolves exact paths before globs, and unmatched layers are FP', () => {
    const bits = new Map([['a.*', { weightBits: 2, activationBits: 2 }], ['a.conv', { weightBits: 8, activationBits: 8 }]]);
    expect(precisionOf(bits, 'a.conv')).toEqual({ weightBits: 8, activationBits: 8 });
    expect(precisionOf(bits, 'a.other')).toEqual({ weightBits: 2, activationBits: 2 });
    expect(precisionOf(bits, 'b.conv')).toEqual(FP32);
  });
});

describe('paper architecture checks (binarization spec §3)', () => {
  const ldm4 = unetLayerInventory(unetPresets['ldm4-bedrooms']);
  const fp = accountEfficiency(ldm4);

  it('LDM-4 LSUN-Bedrooms: 274.06 M params, 1045.4 MiB FP32, 96.02 G conv+linear MACs', () => {
    expect((fp.params / 1e6).toFixed(2)).toBe('274.06');
    expect(fp.sizeMiB.toFixed(1)).toBe('1045.4');
    expect((fp.macs / 1e9).toFixed(2)).toBe('96.02');
    expect(fp.ops).toBe(fp.macs);
  });

  it('LDM-4 W4A4 and W2A4: within 0.5 MiB / 0.4 G OPs of the papers’ 134.9 / 24.3 and 69.8 / 12.3', () => {
    const w4a4 = accountEfficiency(ldm4, { bits: uniformBits(ldm4, { weightBits: 4, activationBits: 4 }) });
    const w2a4 = accountEfficiency(ldm4, { bits: uniformBits(ldm4, { weightBits: 2, activationBits: 4 }) });
    // The plain rule: 134.68 MiB / 24.04 G and 69.63 / 12.05 (the spec's 134.7 / 24.0 and 69.6 / 12.0).
    expect(w4a4.sizeMiB.toFixed(1)).toBe('134.7');
    expect((w4a4.ops / 1e9).toFixed(1)).toBe('24.0');
    expect(w2a4.sizeMiB.toFixed(1)).toBe('69.6');
    expect((w2a4.ops / 1e9).toFixed(1)).toBe('12.0');
    expect(Math.abs(w4a4.sizeMiB - 134.9)).toBeLessThan(0.5);
    expect(Math.abs(w4a4.ops / 1e9 - 24.3)).toBeLessThan(0.4);
    expect(Math.abs(w2a4.sizeMiB - 69.8)).toBeLessThan(0.5);
    expect(Math.abs(w2a4.ops / 1e9 - 12.3)).toBeLessThan(0.4);
  });

  it('BiDM W1A1 on LDM-4: 92.09 G BOPs (residual 1×1 skips, 3.88 G MACs, and the FP layers excluded)', () => {
    const keepFp = (l: LayerInfo): boolean => isDefaultFpLayer(l) || l.role === 'shortcut';
    const skips = ldm4.filter((l) => l.role === 'shortcut').reduce((s, l) => s + l.macs, 0);
    expect((skips / 1e9).toFixed(2)).toBe('3.88');
    const w1a1 = accountEfficiency(ldm4, { bits: uniformBits(ldm4, { weightBits: 1, activationBits: 1 }, { keepFp }) });
    expect((w1a1.bops / 1e9).toFixed(2)).toBe('92.09');
  });

  it('LDM-8 LSUN-Churches: 294.97 M params, 1125.2 MiB', () => {
    const r = accountEfficiency(unetLayerInventory(unetPresets['ldm8-churches']));
    expect((r.params / 1e6).toFixed(2)).toBe('294.97');
    expect(r.sizeMiB.toFixed(1)).toBe('1125.2');
  });

  it('DDIM CIFAR-10: 35,746,307 params', () => {
    expect(accountEfficiency(unetLayerInventory(unetPresets['ddim-cifar10'])).params).toBe(35746307);
  });

  it('splits the totals into UNet parts that add up', () => {
    const parts = Object.values(fp.byPart);
    expect(parts.reduce((s, p) => s + p.macs, 0)).toBe(fp.macs);
    expect(parts.reduce((s, p) => s + p.params, 0)).toBe(fp.params);
    expect(fp.byPart.time.macs).toBeGreaterThan(0);
    expect(fp.byPart.decoder.macs).toBeGreaterThan(fp.byPart.encoder.macs);
    expect(fp.sizeBytes / MIB).toBeCloseTo(fp.sizeMiB, 12);
    // Every total, quantized too (BOPs and FP MACs are then both non-zero), is the sum over the parts.
    const w4a4 = accountEfficiency(ldm4, { bits: uniformBits(ldm4, { weightBits: 4, activationBits: 4 }) });
    const q = Object.values(w4a4.byPart);
    expect(w4a4.bops).toBeGreaterThan(0);
    expect(w4a4.fpMacs).toBeGreaterThan(0);
    for (const key of ['params', 'sizeBytes', 'macs', 'fpMacs', 'bops', 'ops'] as const) {
      expect(q.reduce((s, p) => s + p[key], 0)).toBeCloseTo(w4a4[key], 0);
    }
  });

  it('gives compression ratios against the FP baseline', () => {
    const w4a4 = accountEfficiency(ldm4, { bits: uniformBits(ldm4, { weightBits: 4, activationBits: 4 }) });
    const r = compressionRatios(fp, w4a4);
    expect(r.size).toBeCloseTo(fp.sizeBytes / w4a4.sizeBytes, 12);
    expect(r.ops).toBeCloseTo(fp.ops / w4a4.ops, 12);
  });
});
