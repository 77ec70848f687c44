import * as tf from '@tensorflow/tfjs';
import { AnyModule } from '../nn/module';
import { IntegerWeightMode } from './integer-weights';
import { OnnxGraph } from './onnx-graph';

/** How fake-quantized layers are written. */
export type QuantExportMode = 'qdq' | 'float';

/** Options of an export, read by the rules. */
export interface ExportOptions {
  /**
   * `qdq` (default): quantizers of ≤ 8 bits become QuantizeLinear/DequantizeLinear pairs and quantized weights
   * int8/uint8 initializers with a DequantizeLinear, so onnxruntime fuses them into integer kernels. `float`: the
   * same arithmetic as the tfjs fake-quant in float ops (for checks; no speed-up).
   */
  quantization?: QuantExportMode;
  /**
   * The sampler step whose parameters per-step layers (TFMQ-DM's per-step activation quantizers) are written with;
   * a graph is then valid for that step only (see {@link ExportContext.markStepDependent}).
   */
  step?: number;
  /**
   * The element type of integer weights in QDQ graphs (default `auto`: int8 wherever onnxruntime's int8 kernels are
   * exact on this CPU, else uint8; see {@link integerWeightType}).
   */
  integerWeights?: IntegerWeightMode;
}

/** A class of modules, as rules are registered by. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ModuleClass<M> = abstract new (...args: any[]) => M;

/**
 * The export rule of a module class: writes the module's forward pass into `ctx.graph` and returns the output
 * value. Feature maps are NCHW inside exported graphs (the tfjs modules are NHWC); vectors `[n, C]` and token
 * tensors `[n, L, C]` keep their layout. A rule exports its children with {@link ExportContext.child}.
 */
export type ExportRule<M> = (module: M, inputs: readonly string[], ctx: ExportContext) => string;

/** A weight in ONNX layout, and the axis of its output channels (per-channel quantization parameters go there). */
export interface OnnxWeight {
  /** Values in ONNX layout. */
  data: Float32Array;
  /** ONNX dims (conv `[out, in, kh, kw]`, linear `[in, out]`). */
  dims: number[];
  /** Axis of the output channels in `dims`. */
  channelAxis: number;
  /** Axis of the input channels in `dims` (a split shortcut quantizes input halves separately). */
  inputAxis: number;
}

/**
 * How a weight layer (core's `WeightLayer`: a conv, a linear, or another method's wrapper of one) exports with a
 * weight given as a graph value, as its `forwardWith(x, weight)` does in tfjs: quantization wrappers write their
 * quantized weight and call this.
 */
export interface WeightExportRule<M> {
  /** Converts a weight in the layer's tfjs layout (e.g. a kernel `[kh, kw, in, out]`) to ONNX layout. */
  onnxWeight(module: M, weight: tf.Tensor): OnnxWeight;
  /** Writes `forwardWith(x, weight)` with `weight` a graph value in ONNX layout; returns the output value. */
  forwardWith(module: M, x: string, weight: string, ctx: ExportContext): string;
  /**
   * Whether onnxruntime runs this layer on an integer kernel when its input and weight are dequantized integers
   * (and nothing else about the layer changes): then quantized weights are stored as integers, else as
   * fake-quantized floats. Default false.
   */
  integerKernel?: boolean;
}

const rules = new Map<ModuleClass<unknown>, ExportRule<never>>();
const weightRules = new Map<ModuleClass<unknown>, WeightExportRule<never>>();

/**
 * Registers how modules of exactly class `cls` export (subclasses need their own rule: a subclass may compute
 * something else). Each package registers the rules of its own layer types when it is loaded.
 *
 * @example
 * ```ts
 * registerExportRule(SiLU, (_m, [x], ctx) => ctx.graph.op('Mul', [x, ctx.graph.op('Sigmoid', [x])]));
 * ```
 */
export function registerExportRule<M>(cls: ModuleClass<M>, rule: ExportRule<M>): void {
  rules.set(cls as ModuleClass<unknown>, rule as ExportRule<never>);
}

/** Registers the weight-value export of a weight layer class (see {@link WeightExportRule}). */
export function registerWeightExportRule<M>(cls: ModuleClass<M>, rule: WeightExportRule<M>): void {
  weightRules.set(cls as ModuleClass<unknown>, rule as WeightExportRule<never>);
}

/** Whether modules of `module`'s class have an export rule. */
export function hasExportRule(module: object): boolean {
  return rules.has(module.constructor as ModuleClass<unknown>);
}

/** Error of an export: names the module path and class that could not be written. */
export class ExportError extends Error {
  /**
   * @param path - Module path (`''` for the root).
   * @param className - The module's class.
   * @param reason - What is missing or wrong.
   */
  constructor(
    readonly path: string,
    readonly className: string,
    reason: string,
  ) {
    super(`ONNX export of '${path || '<root>'}' (${className}): ${reason}`);
    this.name = 'ExportError';
  }
}

/**
 * Where an export rule writes: the graph, the module path being exported (for value names and errors), the export
 * options, and whether the graph came out step-dependent.
 */
export class ExportContext {
  /**
   * @param graph - The graph written to.
   * @param path - Module path of the module being exported.
   * @param options - Export options.
   * @param shared - State shared by every context of one export.
   */
  constructor(
    readonly graph: OnnxGraph,
    readonly path = '',
    readonly options: Readonly<ExportOptions> = {},
    private readonly shared: { stepDependent: boolean } = { stepDependent: false },
  ) {}

  /** A value-name hint under the current path (`down.0.res.1` + `conv` → `down_0_res_1_conv`). */
  hint(leaf: string): string {
    return this.path ? `${this.path}.${leaf}` : leaf;
  }

  /** Exports `module` (the child named `name` of the current module, or any module) and returns its output. */
  child(name: string, module: object, inputs: readonly string[]): string {
    return exportModule(module, inputs, this.at(name));
  }

  /** The context of the child named `name`. */
  at(name: string): ExportContext {
    return new ExportContext(this.graph, this.path ? `${this.path}.${name}` : name, this.options, this.shared);
  }

  /** Called by rules that wrote per-step parameters: the graph is valid for {@link ExportOptions.step} only. */
  markStepDependent(): void {
    this.shared.stepDependent = true;
  }

  /** Whether any rule wrote per-step parameters. */
  get stepDependent(): boolean {
    return this.shared.stepDependent;
  }

  /** An {@link ExportError} for the current module. */
  error(module: object, reason: string): ExportError {
    return new ExportError(this.path, module.constructor.name, reason);
  }

  /** The weight-export rule of `module`'s class, or an {@link ExportError} naming it. */
  weightRule<M extends object>(module: M): WeightExportRule<M> {
    const rule = weightRules.get(module.constructor as ModuleClass<unknown>);
    if (!rule) throw this.error(module, 'no weight export rule for this layer type (its package registers one with registerWeightExportRule)');
    return rule as WeightExportRule<M>;
  }
}

/**
 * Writes `module`'s forward pass on `inputs` into `ctx.graph` with the rule registered for its class.
 *
 * @throws ExportError naming the module path and class when the class has no rule.
 */
export function exportModule(module: object, inputs: readonly string[], ctx: ExportContext): string {
  const rule = rules.get(module.constructor as ModuleClass<unknown>);
  if (!rule) throw ctx.error(module, 'no ONNX export rule for this layer type (its package registers one with registerExportRule)');
  if ((module as AnyModule).training) throw ctx.error(module, 'the module is in training mode; export runs in eval mode (call .eval())');
  return (rule as ExportRule<object>)(module, inputs, ctx);
}
