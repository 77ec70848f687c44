/**
 * `@diffpress/core`: the tensor engine every diffpress package builds on.
 *
 * - **Engine** — {@link initEngine} picks the backend (`tensorflow` → `wasm` → `cpu`, or `DIFFPRESS_BACKEND`) and
 *   installs training kernels that tfjs's wasm and cpu backends lack or run slowly ({@link registerTrainingKernels}).
 * - **Straight-through ops** — {@link roundSTE}, {@link signSTE}, {@link approxSign}, {@link gradScale},
 *   {@link clampSTE}.
 * - **Quantizer primitives** — the uniform affine {@link fakeQuantize} and the {@link UniformQuantizer} module
 *   (per channel, per tensor, or per sampler step read per row from the call context), range estimators
 *   ({@link minmaxParams}, {@link mseSearchParams}, {@link RangeTracker}), LSQ ({@link lsqQuantize},
 *   {@link lsqInitStep}), and composable layer replacement ({@link WeightLayer}, {@link copyModuleInto}).
 * - **Seeded randomness** — noise that is a pure function of (seed, stream, index): {@link seededNormal},
 *   {@link seededNormalBatch}, and the sequential {@link Rng}.
 * - **Numerics** — float64 symmetric eigen-decomposition and matrix square roots: {@link symmetricEigen},
 *   {@link sqrtmPsd}, {@link traceSqrtProduct}.
 * - **Modules** — a PyTorch-like {@link Module} system with path-based surgery ({@link Module.select},
 *   {@link Module.replace}) and the layers of diffusion UNets.
 * - **Checkpoints** — the safetensors format.
 * - **ONNX export and runtime** — an {@link OnnxGraph} builder, export rules per layer class
 *   ({@link registerExportRule}; core's layers and {@link UniformQuantizer} as QuantizeLinear/DequantizeLinear), and
 *   {@link OrtSession}, a synchronous onnxruntime-node session on tfjs tensors.
 * - **Caches** — content keys ({@link jsonDigest}, {@link fileDigest}), the `<root>/<kind>/<key>` layout
 *   ({@link cachePath}) and entries produced once by processes sharing a folder ({@link cachedFile}, {@link produceOnce}).
 *
 * @packageDocumentation
 */
import { registerCoreExportRules } from './export/layer-rules';
import { registerQuantExportRules } from './export/quant-rules';

export * from './engine/backend';
export * from './engine/kernels/register';
export * from './ops/ste';
export * from './ops/activation-norm';
export * from './quant/fake-quant';
export * from './quant/ranges';
export * from './quant/range-tracker';
export * from './quant/step-slots';
export * from './quant/uniform-quantizer';
export * from './quant/lsq';
export * from './quant/replaced-layers';
export * from './random/philox';
export * from './random/seeded';
export * from './numerics/linalg';
export * from './nn/glob';
export * from './nn/module';
export * from './nn/call-context';
export * from './nn/init';
export * from './nn/layers/activations';
export * from './nn/layers/attention';
export * from './nn/layers/conv2d';
export * from './nn/layers/dropout';
export * from './nn/layers/group-norm';
export * from './nn/layers/linear';
export * from './nn/layers/module-list';
export * from './nn/layers/resample';
export * from './nn/layers/sequential';
export * from './io/float16';
export * from './io/safetensors';
export * from './io/torch-pickle';
export * from './io/tensor-file';
export * from './io/atomic';
export * from './io/lock';
export * from './io/content-cache';
export * from './method/contract';
export * from './io/checkpoint';
export * from './export/onnx-graph';
export * from './export/export-rules';
export * from './export/layer-rules';
export * from './export/quant-rules';
export * from './export/integer-weights';
export * from './export/ort-session';

// Core's layers export to ONNX as soon as core is loaded; method packages register their own layer types.
registerCoreExportRules();
registerQuantExportRules();
