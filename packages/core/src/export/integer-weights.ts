/**
 * Which element type integer weights are stored in. onnxruntime's x86 kernels for uint8 activations × int8 weights
 * (U8S8) use `vpmaddubsw` unless the CPU has VNNI: it adds the int16 products of adjacent pairs with saturation,
 * so a pair `a₁b₁ + a₂b₂` beyond ±32 767 is clipped and the product is wrong (measured on an AVX2 EPYC without VNNI:
 * a W8A8 UNet export differed from its tfjs forward by 9.8e-2, 8.6 % of its output's range, in every element).
 * uint8 weights (U8U8) widen to int16 before multiplying and are exact on every CPU; int8 ones run faster where
 * they are exact (tools/bench/onnx-qdq.ts).
 */

/** How integer weights are stored: `auto` picks int8 wherever it is exact on this CPU (see {@link integerWeightType}). */
export type IntegerWeightMode = 'auto' | 'int8' | 'uint8';

/**
 * The largest |int8 weight| with which no pair of products with a uint8 input can saturate int16:
 * 2 · 255 · 64 = 32 640 ≤ 32 767 (65 would give 33 150).
 */
export const SATURATION_FREE_INT8 = 64;

/** What decides whether int8 weights are exact: the processor's architecture and (x86) its feature flags. */
export interface CpuFeatures {
  /** `process.arch`: `x64`, `ia32`, `arm64`, …, or null when unknown (no Node process). */
  arch: string | null;
  /** The x86 feature flags (`/proc/cpuinfo`), or null when they cannot be read (not Linux, no access). */
  flags: readonly string[] | null;
}

/**
 * Whether onnxruntime's U8S8 integer products may saturate on this CPU: on x86 unless the flags show VNNI
 * (`avx512_vnni` or `avx_vnni`, whose `vpdpbusd` accumulates in int32), and also when the flags cannot be read
 * (safe side). ARM's dot-product instructions accumulate in int32: no saturation.
 */
export function u8s8MaySaturate(cpu: CpuFeatures): boolean {
  if (cpu.arch !== 'x64' && cpu.arch !== 'ia32' && cpu.arch !== null) return false;
  if (!cpu.flags) return true;
  return !cpu.flags.includes('avx512_vnni') && !cpu.flags.includes('avx_vnni');
}

let detected: CpuFeatures | undefined;

/** This machine's {@link CpuFeatures} (read once; flags from `/proc/cpuinfo` on Linux, else null). */
export function cpuFeatures(): CpuFeatures {
  if (detected) return detected;
  const arch = typeof process !== 'undefined' && typeof process.arch === 'string' ? process.arch : null;
  let flags: string[] | null = null;
  try {
    const text: string = require('node:fs').readFileSync('/proc/cpuinfo', 'utf8');
    const line = text.split('\n').find((l) => /^flags\s*:/.test(l));
    if (line) flags = line.slice(line.indexOf(':') + 1).trim().split(/\s+/);
  } catch {
    // Not Linux, or no file system (a browser): flags unknown.
  }
  detected = { arch, flags };
  return detected;
}

/**
 * The type a weight's signed 8-bit levels are stored in. `int8` and `uint8` force it; `auto` keeps int8 when every
 * level lies within ±{@link SATURATION_FREE_INT8} (always true below 8 bits) or this CPU cannot saturate
 * ({@link u8s8MaySaturate}), else uint8 (the levels shifted by 128, as the zero points: the same dequantized values).
 * An `auto` export is exact on the machine it was made on; a file meant for unknown x86 CPUs should be made with
 * `uint8`.
 */
export function integerWeightType(levels: Int8Array, mode: IntegerWeightMode = 'auto', cpu: CpuFeatures = cpuFeatures()): 'int8' | 'uint8' {
  if (mode !== 'auto') return mode;
  if (!u8s8MaySaturate(cpu)) return 'int8';
  for (let i = 0; i < levels.length; i++) if (levels[i] > SATURATION_FREE_INT8 || levels[i] < -SATURATION_FREE_INT8) return 'uint8';
  return 'int8';
}
