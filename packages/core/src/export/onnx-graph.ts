import * as tf from '@tensorflow/tfjs';
import { onnx } from 'onnx-proto';

/** ONNX opset of every exported graph: per-channel QuantizeLinear/DequantizeLinear need ≥ 13. */
export const ONNX_OPSET = 17;
/** ONNX IR version written into exported models (the one of ONNX 1.10, which opset 17 loads under). */
export const ONNX_IR_VERSION = 8;

/** Element types the exporter writes. */
export type OnnxElementType = 'float32' | 'int64' | 'int32' | 'int8' | 'uint8';

const ELEMENT_TYPE: Record<OnnxElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  int8: onnx.TensorProto.DataType.INT8,
  uint8: onnx.TensorProto.DataType.UINT8,
};

/** An attribute value of an ONNX node: an int, a float, a list of ints or floats, or a string. */
export type OnnxAttribute =
  | {
      /** An integer attribute (e.g. `axis`). */
      int: number;
    }
  | {
      /** A float attribute (e.g. `epsilon`). */
      float: number;
    }
  | {
      /** An integer list (e.g. `perm`, `kernel_shape`). */
      ints: readonly number[];
    }
  | {
      /** A float list. */
      floats: readonly number[];
    }
  | {
      /** A string attribute (e.g. `auto_pad`, `mode`). */
      string: string;
    };

/** A dimension of a graph input or output: a size, or a symbolic name (e.g. `'n'` for the batch). */
export type OnnxDim = number | string;

/** Data of a constant (initializer) tensor. */
export type OnnxConstantData = Float32Array | Int32Array | Int8Array | Uint8Array | BigInt64Array;

/**
 * An ONNX graph under construction: inputs, outputs, constants (initializers) and nodes, with unique value names
 * derived from hints (usually module paths, so a graph viewer shows where each node came from). Values are referred
 * to by name; every `op` returns the name of its (first) output.
 *
 * @example
 * ```ts
 * const g = new OnnxGraph('affine');
 * const x = g.input('x', ['n', 4]);
 * const y = g.op('Add', [g.op('MatMul', [x, g.constant(w, [4, 2], 'w')]), g.constant(b, [2], 'b')]);
 * g.output(y, 'y', ['n', 2]);
 * const bytes = g.encode();   // an ONNX model onnxruntime loads
 * ```
 */
export class OnnxGraph {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private readonly int64Cache = new Map<string, string>();
  private readonly notes = new Map<string, string>();
  private readonly producers = new Map<string, string>();

  /** @param name - Graph name (shown by viewers; also the model's doc string). */
  constructor(readonly name: string) {}

  /** A fresh value name from `hint` (dots and other separators become underscores; repeats get a suffix). */
  fresh(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'v';
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Declares a graph input and returns its value name (the name itself, which must be new). */
  input(name: string, dims: readonly OnnxDim[], type: OnnxElementType = 'float32'): string {
    if (this.used.has(name)) throw new Error(`OnnxGraph '${this.name}': input name '${name}' is already used`);
    this.used.add(name);
    this.inputs.push(valueInfo(name, dims, type));
    return name;
  }

  /** Declares `value` as a graph output named `name` (an Identity node renames it when the names differ). */
  output(value: string, name: string, dims: readonly OnnxDim[], type: OnnxElementType = 'float32'): void {
    if (value !== name) {
      if (this.used.has(name)) throw new Error(`OnnxGraph '${this.name}': output name '${name}' is already used`);
      this.used.add(name);
      this.nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [value], output: [name], name: `${name}_out` }));
    }
    this.outputs.push(valueInfo(name, dims, type));
  }

  /** Adds a constant tensor (an initializer) and returns its value name. */
  constant(data: OnnxConstantData | readonly number[], dims: readonly number[], hint: string, type: OnnxElementType = 'float32'): string {
    const size = dims.reduce((a, b) => a * b, 1);
    const typed = toTyped(data, type);
    if (typed.length !== size) throw new Error(`OnnxGraph.constant '${hint}': ${typed.length} values for dims [${dims.join(', ')}]`);
    const name = this.fresh(hint);
    const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength).slice();
    this.initializers.push(onnx.TensorProto.create({ name, dims: [...dims], dataType: ELEMENT_TYPE[type], rawData: bytes }));
    return name;
  }

  /** A float constant from a tfjs tensor's values (read synchronously), with its shape unless `dims` is given. */
  tensor(t: tf.Tensor, hint: string, dims?: readonly number[]): string {
    return this.constant(t.dataSync() as Float32Array, dims ?? t.shape, hint);
  }

  /** An int64 vector constant (shapes, axes, pads), shared between nodes that use the same values. */
  int64(values: readonly number[], hint = 'shape'): string {
    const key = values.join(',');
    const hit = this.int64Cache.get(key);
    if (hit) return hit;
    const name = this.constant(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length], hint, 'int64');
    this.int64Cache.set(key, name);
    return name;
  }

  /** A float scalar constant. */
  scalar(value: number, hint = 'c'): string {
    return this.constant([value], [], hint);
  }

  /** Adds a node with one output and returns the output's name. `hint` names it (default: the op type). */
  op(type: string, inputs: readonly string[], attributes: Readonly<Record<string, OnnxAttribute>> = {}, hint?: string): string {
    return this.opN(type, inputs, 1, attributes, hint)[0];
  }

  /** Adds a node with `outputs` outputs and returns their names. */
  opN(type: string, inputs: readonly string[], outputs: number, attributes: Readonly<Record<string, OnnxAttribute>> = {}, hint?: string): string[] {
    const base = hint ?? type;
    const names = Array.from({ length: outputs }, (_, i) => this.fresh(outputs === 1 ? base : `${base}_${i}`));
    for (const n of names) this.producers.set(n, type);
    this.nodes.push(
      onnx.NodeProto.create({
        opType: type,
        input: [...inputs],
        output: names,
        name: this.fresh(`${base}_node`),
        attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
      }),
    );
    return names;
  }

  /** The op type of the node that produces `value` (undefined for inputs and constants). */
  producer(value: string): string | undefined {
    return this.producers.get(value);
  }

  /** Records a fact about the graph (e.g. that it depends on the sampler step), for {@link OnnxGraph.note}. */
  setNote(key: string, value: string): void {
    this.notes.set(key, value);
  }

  /** A fact recorded with {@link OnnxGraph.setNote}, or undefined. */
  note(key: string): string | undefined {
    return this.notes.get(key);
  }

  /** Number of nodes so far (tests and summaries). */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The op types used, with their counts (e.g. to check that QDQ pairs were emitted). */
  opCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.nodes) out[n.opType as string] = (out[n.opType as string] ?? 0) + 1;
    return out;
  }

  /** The serialized ONNX model (protobuf bytes). */
  encode(): Uint8Array {
    if (this.outputs.length === 0) throw new Error(`OnnxGraph '${this.name}': no outputs declared`);
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'diffpress',
      docString: this.name,
      graph: onnx.GraphProto.create({ name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dims: readonly OnnxDim[], type: OnnxElementType): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: ELEMENT_TYPE[type], shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function toTyped(data: OnnxConstantData | readonly number[], type: OnnxElementType): OnnxConstantData {
  if (!Array.isArray(data)) {
    const ok =
      (type === 'float32' && data instanceof Float32Array) ||
      (type === 'int32' && data instanceof Int32Array) ||
      (type === 'int8' && data instanceof Int8Array) ||
      (type === 'uint8' && data instanceof Uint8Array) ||
      (type === 'int64' && data instanceof BigInt64Array);
    if (!ok) throw new Error(`OnnxGraph.constant: data of type ${data.constructor.name} for element type ${type}`);
    return data as OnnxConstantData;
  }
  const values = data as readonly number[];
  switch (type) {
    case 'float32':
      return Float32Array.from(values);
    case 'int32':
      return Int32Array.from(values);
    case 'int8':
      return Int8Array.from(values);
    case 'uint8':
      return Uint8Array.from(values);
    case 'int64':
      return BigInt64Array.from(values.map((v) => BigInt(v)));
  }
}

function attribute(name: string, v: OnnxAttribute): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in v) return { name, type: T.INT, i: v.int };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  if ('ints' in v) return { name, type: T.INTS, ints: [...v.ints] };
  if ('floats' in v) return { name, type: T.FLOATS, floats: [...v.floats] };
  return { name, type: T.STRING, s: new TextEncoder().encode(v.string) };
}
