import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';


const { onnx } = onnxProto;

/**
 * A tiny ONNX graph builder over onnx-proto: enough for the project's own generated models
 * (the PruneLens Probe and the CLIP-architecture test graphs). Opset 17, IR 8.
 */
export type AttrValue = number | string | number[] | Float32Array | { float: number } | { ints: number[] } | { floats: number[] };

const F32 = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const I8 = onnx.TensorProto.DataType.INT8;

export type ElemType = 'float32' | 'int64';
const ELEM: Record<ElemType, number> = { float32: F32, int64: I64 };

function attribute(name: string, v: AttrValue): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (v instanceof Float32Array) return { name, type: T.FLOATS, floats: Array.from(v) };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.INTS, ints: v.ints };
}

export class GraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh tensor name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, elem: ElemType, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  output(name: string, elem: ElemType, dims: (number | string)[]): void {
    this.outputs.push(valueInfo(name, elem, dims));
  }

  /** Float32 constant initializer. */
  constF(name: string, dims: number[], values: ArrayLike<number>): string {
    const data = Float32Array.from(values);
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer ${name}: ${data.length} values for dims [${dims}]`);
    this.initializers.push({ name, dims, dataType: F32, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** Int8 constant initializer (quantized weights, zero points). */
  constI8(name: string, dims: number[], values: Int8Array): string {
    if (values.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer ${name}: ${values.length} values for dims [${dims}]`);
    this.initializers.push({ name, dims, dataType: I8, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    return name;
  }

  /** Int64 constant initializer (shapes, axes, indices). */
  constI(name: string, dims: number[], values: ArrayLike<number>): string {
    const data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: I64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** Add a node; returns its output names. `outputs` may be given explicitly (real export names) or generated. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs?: string[] | number, nodeName?: string): string[] {
    const outs = Array.isArray(outputs) ? outputs : Array.from({ length: outputs ?? 1 }, () => this.fresh(opType));
    this.nodes.push({
      opType,
      name: nodeName ?? this.fresh(`node_${opType}`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Single-output convenience. */
  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string, nodeName?: string): string {
    return this.op(opType, inputs, attrs, output ? [output] : 1, nodeName)[0];
  }

  build(): Uint8Array {
    const model: OnnxTypes.IModelProto = {
      irVersion: 8,
      producerName: 'prunelens',
      opsetImport: [{ domain: '', version: 17 }],
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

export function valueInfo(name: string, elem: ElemType, dims: (number | string)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[elem],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Seeded PRNG (mulberry32) so generated weights are reproducible run to run; one shared copy in the core. */
export { mulberry32 } from '../../extension/core/numeric/prng.ts';
