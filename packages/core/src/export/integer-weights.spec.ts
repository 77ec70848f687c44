import { SATURATION_FREE_INT8, cpuFeatures, integerWeightType, u8s8MaySaturate } from './integer-weights';

describe('integer weight storage', () => {
  const avx2 = { arch: 'x64', flags: ['sse4_2', 'avx2', 'fma', 'avx512f', 'avx512bw'] };
  const vnni = { arch: 'x64', flags: ['avx2', 'fma', 'avx512f', 'avx512_vnni'] };
  const avxVnni = { arch: 'x64', flags: ['avx2', 'avx_vnni'] };

  it('U8S8 may saturate on x86 without VNNI and where the flags are unknown, not with VNNI or on ARM', () => {
    expect(u8s8MaySaturate(avx2)).toBe(true);
    expect(u8s8MaySaturate({ arch: 'x64', flags: null })).toBe(true);
    expect(u8s8MaySaturate({ arch: null, flags: null })).toBe(true);
    expect(u8s8MaySaturate(vnni)).toBe(false);
    expect(u8s8MaySaturate(avxVnni)).toBe(false);
    expect(u8s8MaySaturate({ arch: 'arm64', flags: null })).toBe(false);
  });

  it('±64 is the widest int8 level whose product pairs with uint8 inputs fit int16', () => {
    expect(2 * 255 * SATURATION_FREE_INT8).toBeLessThanOrEqual(32767);
    expect(2 * 255 * (SATURATION_FREE_INT8 + 1)).toBeGreaterThan(32767);
  });

  it('auto keeps int8 for narrow levels or a VNNI CPU, and picks uint8 for wide levels where U8S8 may saturate', () => {
    const narrow = Int8Array.from([-64, 0, 64, 15]);
    const wide = Int8Array.from([-65, 0, 3]);
    const wideHigh = Int8Array.from([0, 65]);
    expect(integerWeightType(narrow, 'auto', avx2)).toBe('int8');
    expect(integerWeightType(wide, 'auto', avx2)).toBe('uint8');
    expect(integerWeightType(wideHigh, 'auto', avx2)).toBe('uint8');
    expect(integerWeightType(wide, 'auto', vnni)).toBe('int8');
    // Forced modes ignore the CPU and the levels.
    expect(integerWeightType(wide, 'int8', avx2)).toBe('int8');
    expect(integerWeightType(narrow, 'uint8', vnni)).toBe('uint8');
  });

  it('reads this machine once: an architecture in Node, flags on Linux', () => {
    const cpu = cpuFeatures();
    expect(cpu.arch).toBe(process.arch);
    if (process.platform === 'linux' && (process.arch === 'x64' || process.arch === 'ia32')) expect(cpu.flags).toContain('sse2');
    expect(cpuFeatures()).toBe(cpu);
  });
});
