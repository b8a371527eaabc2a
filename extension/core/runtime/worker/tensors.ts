import type { Tensor as OrtTensor } from 'onnxruntime-node';
import type { WireDType, WireTensor } from './protocol.ts';

type OrtModule = typeof import('onnxruntime-node');

const WIRE_TYPES: readonly WireDType[] = ['float32', 'float64', 'int32', 'int64', 'uint8', 'int8', 'bool'];

export function toOrtTensor(ort: OrtModule, t: WireTensor): OrtTensor {
  // onnxruntime-node's constructor overloads are keyed on the literal type; the data matches by construction.
  return new ort.Tensor(t.type, t.data as Float32Array, t.dims);
}

export function fromOrtTensor(name: string, t: OrtTensor): WireTensor {
  const type = t.type as WireDType;
  if (!WIRE_TYPES.includes(type)) throw new Error(`output ${name}: tensor type ${t.type} cannot be returned`);
  return { type, dims: [...t.dims], data: t.data as WireTensor['data'] };
}
