import { onnxRuntimeStatus } from '@diffpress/core';
import { OnnxUNet, PipelineModel } from '@diffpress/diffusion';
import { SamplingModel } from '@diffpress/eval';
import { RecipeRuntime } from '../recipe/schema';

/** The runtime a unit samples and evaluates on, resolved from the recipe and this machine. */
export interface RuntimeSettings {
  /** `tfjs` or `onnx`. */
  kind: 'tfjs' | 'onnx';
  /** onnxruntime intra-op threads. */
  threads: number;
  /** Export of fake-quantized layers. */
  quantization: 'qdq' | 'float';
  /** Why `onnx` was asked for but `tfjs` is used (onnxruntime-node not usable here), else absent. */
  fallback?: string;
}

/**
 * The recipe's runtime on this machine: `onnx` when asked for and onnxruntime-node loads, else `tfjs` (with the
 * reason in `fallback`).
 */
export function runtimeSettings(runtime: RecipeRuntime | undefined): RuntimeSettings {
  const r = typeof runtime === 'string' ? { kind: runtime } : (runtime ?? { kind: 'tfjs' as const });
  const settings: RuntimeSettings = { kind: r.kind, threads: ('threads' in r ? r.threads : undefined) ?? 1, quantization: ('quantization' in r ? r.quantization : undefined) ?? 'qdq' };
  if (settings.kind === 'onnx') {
    const status = onnxRuntimeStatus();
    if (!status.available) return { ...settings, kind: 'tfjs', fallback: status.reason };
  }
  return settings;
}

/**
 * What of the runtime enters unit keys: nothing for tfjs (so recipes without a runtime keep their keys), the kind
 * and the quantization export for onnx. Threads do not change results and stay out.
 */
export function runtimeKey(settings: RuntimeSettings): { kind: 'onnx'; quantization: 'qdq' | 'float' } | undefined {
  return settings.kind === 'onnx' ? { kind: 'onnx', quantization: settings.quantization } : undefined;
}

/**
 * The model to sample and evaluate with: the model itself on tfjs, or the same model with its UNet on onnxruntime.
 * `release` frees the runtime's sessions (not the tfjs UNet).
 */
export function onRuntime(model: PipelineModel, settings: RuntimeSettings): { model: SamplingModel; release: () => void } {
  if (settings.kind === 'tfjs') return { model, release: () => undefined };
  const unet = new OnnxUNet(model.unet, { threads: settings.threads, quantization: settings.quantization });
  return { model: { ...model, unet }, release: () => unet.dispose() };
}

/** One line for reports: `tfjs`, or `onnx: onnxruntime-node <version> (cpu, <threads> per worker, <quantization>)`. */
export function runtimeSummary(settings: RuntimeSettings): string {
  if (settings.kind === 'tfjs') return settings.fallback ? `tfjs (onnx asked for: ${settings.fallback})` : 'tfjs';
  const status = onnxRuntimeStatus();
  const version = status.available ? status.version : 'unknown';
  return `onnx: onnxruntime-node ${version} (cpu, ${settings.threads} thread${settings.threads === 1 ? '' : 's'} per worker, ${settings.quantization})`;
}
