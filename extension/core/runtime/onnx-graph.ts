// ONNX model bytes ⇄ onnx-proto objects, and an index over a graph's nodes for walking it.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { InputError } from '../errors.ts';

const { onnx } = onnxProto;

export type ModelProto = OnnxTypes.IModelProto;
export type GraphProto = OnnxTypes.IGraphProto;
export type NodeProto = OnnxTypes.INodeProto;
export type TensorProto = OnnxTypes.ITensorProto;
export type ValueInfoProto = OnnxTypes.IValueInfoProto;

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;

/** int64 fields decode as numbers or Long objects depending on size. */
export function toInt(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function decodeModel(bytes: Uint8Array, label: string): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new InputError(`${label} is not a valid ONNX model (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) throw new InputError(`${label} is not a valid ONNX model (no graph nodes).`);
  return model;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** New graph content to add to an existing model. */
export interface GraphAdditions {
  nodes: NodeProto[];
  initializers: TensorProto[];
  outputs: ValueInfoProto[];
}

/**
 * Append nodes/initializers/outputs without re-encoding the model: a protobuf parser merges a repeated
 * embedded message field, so `bytes ‖ ModelProto{graph: additions}` decodes as the original graph with
 * the additions concatenated. Saves re-serialising hundreds of megabytes of weights. onnxruntime's
 * (C++ protobuf) parser merges as the spec says; onnx-proto's protobufjs decoder replaces the graph
 * instead, so inspect the original model in JS, not the result.
 * With `inPlace` (only for bytes from readModelFile) the tail goes into the spare room after the file,
 * so the weights are not copied at all.
 */
export function appendToModel(bytes: Uint8Array, add: GraphAdditions, inPlace = false): Uint8Array {
  const tail = onnx.ModelProto.encode({ graph: { node: add.nodes, initializer: add.initializers, output: add.outputs } }).finish();
  const end = bytes.byteOffset + bytes.length;
  if (inPlace && bytes.buffer.byteLength - end >= tail.length) {
    const out = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length + tail.length);
    out.set(tail, bytes.length);
    return out;
  }
  const out = new Uint8Array(bytes.length + tail.length);
  out.set(bytes, 0);
  out.set(tail, bytes.length);
  return out;
}

/** Room left after a model file read by readModelFile, for the surgery tail (a few KB in practice). */
export const SURGERY_ROOM = 1 << 20;

/**
 * Read an ONNX file into a buffer with SURGERY_ROOM unused bytes after it; returns a view of the file's
 * bytes. Only appendToModel(…, inPlace = true) may write into that room.
 */
export function readModelFile(path: string): Uint8Array {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const buf = new Uint8Array(new ArrayBuffer(size + SURGERY_ROOM));
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== size) throw new InputError(`${path} changed while it was read.`);
    return buf.subarray(0, size);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `ONNX file not found: ${path}.` : `Cannot read ${path} (${code ?? String(err)}).`);
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** A graph output carrying only its element type (ORT accepts outputs without shapes). */
export function floatOutput(name: string): ValueInfoProto {
  return { name, type: { tensorType: { elemType: FLOAT } } };
}

export function int64Initializer(name: string, values: readonly number[]): TensorProto {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) };
}

/** ONNX metadata key the project's generated models carry, so their provenance survives a copy. */
export const WEIGHTS_KIND_KEY = 'prunelens.weights_kind';

export function metadataValue(model: ModelProto, key: string): string | null {
  for (const p of model.metadataProps ?? []) if (p.key === key) return p.value ?? null;
  return null;
}

export function attrInt(node: NodeProto, name: string): number | null {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a && a.i !== undefined && a.i !== null ? toInt(a.i) : null;
}

export function attrInts(node: NodeProto, name: string): number[] | null {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a ? (a.ints ?? []).map(toInt) : null;
}

export function attrString(node: NodeProto, name: string): string | null {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a?.s ? new TextDecoder().decode(a.s) : null;
}

/** Initializers whose bytes live in a separate file (large exports): a session from bytes cannot load those. */
export function usesExternalData(model: ModelProto): boolean {
  const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;
  return (model.graph?.initializer ?? []).some((t) => t.dataLocation === EXTERNAL);
}

/** Ops whose output is a known function of constants and shapes only (never of pixel or token values). */
const SHAPE_OPS = new Set(['Shape', 'Size', 'Constant']);

/** Producer/consumer index over one graph (top level; subgraphs of If/Loop are not walked). */
export class GraphIndex {
  readonly nodes: NodeProto[];
  readonly producer = new Map<string, number>();
  readonly consumers = new Map<string, number[]>();
  readonly initializers = new Set<string>();
  private readonly initializerProtos = new Map<string, TensorProto>();
  /** Graph inputs that are fed at run time (not initializers). */
  readonly dataInputs: string[];
  readonly outputs: string[];
  private readonly staticMemo = new Map<string, boolean>();

  constructor(readonly graph: GraphProto) {
    this.nodes = graph.node ?? [];
    for (const t of graph.initializer ?? []) {
      if (!t.name) continue;
      this.initializers.add(t.name);
      this.initializerProtos.set(t.name, t);
    }
    this.nodes.forEach((n, i) => {
      for (const o of n.output ?? []) if (o) this.producer.set(o, i);
      for (const x of n.input ?? []) {
        if (!x) continue;
        const list = this.consumers.get(x) ?? [];
        list.push(i);
        this.consumers.set(x, list);
      }
    });
    this.dataInputs = (graph.input ?? []).map((v) => v.name ?? '').filter((n) => n && !this.initializers.has(n));
    this.outputs = (graph.output ?? []).map((v) => v.name ?? '');
  }

  has(tensor: string): boolean {
    return this.producer.has(tensor) || this.initializers.has(tensor) || this.dataInputs.includes(tensor);
  }

  /** The initializer of that name (weights and constants stored in the graph), or null. */
  initializer(tensor: string): TensorProto | null {
    return this.initializerProtos.get(tensor) ?? null;
  }

  nodeOf(tensor: string): NodeProto | null {
    const i = this.producer.get(tensor);
    return i === undefined ? null : this.nodes[i];
  }

  /** True when the tensor never depends on a runtime input's values (weights, constants, shape arithmetic). */
  isStatic(tensor: string): boolean {
    const memo = this.staticMemo.get(tensor);
    if (memo !== undefined) return memo;
    let result: boolean;
    if (this.initializers.has(tensor)) result = true;
    else {
      const i = this.producer.get(tensor);
      if (i === undefined) result = false;
      else {
        const n = this.nodes[i];
        this.staticMemo.set(tensor, false); // cycle guard (graphs are acyclic; be safe)
        result = SHAPE_OPS.has(n.opType ?? '') || (n.input ?? []).every((x) => !x || this.isStatic(x));
      }
    }
    this.staticMemo.set(tensor, result);
    return result;
  }

  /** Indices of every node reachable forward from the given tensors. */
  descendants(tensors: readonly string[]): Set<number> {
    const seen = new Set<number>();
    const stack = [...tensors];
    while (stack.length > 0) {
      const t = stack.pop() as string;
      for (const i of this.consumers.get(t) ?? []) {
        if (seen.has(i)) continue;
        seen.add(i);
        for (const o of this.nodes[i].output ?? []) if (o) stack.push(o);
      }
    }
    return seen;
  }

  /** Whether the tensor is produced inside the given node set. */
  producedIn(tensor: string, set: Set<number>): boolean {
    const i = this.producer.get(tensor);
    return i !== undefined && set.has(i);
  }
}
