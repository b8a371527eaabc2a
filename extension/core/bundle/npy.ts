import { InputError } from '../errors.ts';
import { type DType, type Tensor, type TensorData, tensorSize } from './tensor.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR_TO_DTYPE: Record<string, DType> = {
  '<f2': 'float16',
  '<f4': 'float32',
  '<f8': 'float64',
  '<i4': 'int32',
  '<i8': 'int64',
  '|u1': 'uint8',
  '<u1': 'uint8',
  '|b1': 'bool',
  '<b1': 'bool',
};

const DTYPE_TO_DESCR: Record<DType, string> = {
  float16: '<f2',
  float32: '<f4',
  float64: '<f8',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  bool: '|b1',
};

const BYTES: Record<DType, number> = { float16: 2, float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1 };

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/** Parse the Python-literal header dict of a .npy file, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }. */
function parseHeader(text: string, name: string): NpyHeader {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new InputError(`Array "${name}" has a malformed .npy header.`);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s.replace(/L$/, '')));
  if (dims.some((v) => !Number.isInteger(v) || v < 0)) throw new InputError(`Array "${name}" has an invalid shape in its .npy header.`);
  return { descr: descr[1], fortranOrder: fortran[1] === 'True', shape: dims };
}

/** Decode IEEE half-precision bits to a JS number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function floatToHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = (mant | 0x800000) >> (1 - e);
    return sign | ((m + 0x1000) >> 13);
  }
  const rounded = (e << 10) | (mant >> 13);
  // round to nearest even on the dropped 13 bits
  const rest = mant & 0x1fff;
  return sign | (rest > 0x1000 || (rest === 0x1000 && rounded & 1) ? rounded + 1 : rounded);
}

/** Read one .npy file. `name` is the array name used in error messages. */
export function parseNpy(bytes: Uint8Array, name: string): Tensor {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new InputError(`Array "${name}" is not a .npy array (bad magic bytes).`);
  }
  const major = bytes[6];
  let headerLen: number;
  let offset: number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new InputError(`Array "${name}" is truncated (header cut off).`);
    headerLen = view.getUint32(8, true);
    offset = 12;
  } else {
    throw new InputError(`Array "${name}" uses unsupported .npy format version ${major}.`);
  }
  if (offset + headerLen > bytes.length) throw new InputError(`Array "${name}" is truncated (header cut off).`);
  const header = parseHeader(new TextDecoder('latin1').decode(bytes.subarray(offset, offset + headerLen)), name);
  const dtype = DESCR_TO_DTYPE[header.descr];
  if (!dtype) {
    const hint = header.descr.startsWith('>') ? ' (big-endian; save it little-endian)' : '';
    throw new InputError(`Array "${name}" has unsupported dtype ${header.descr}${hint}; use float16/32/64, int32/64, uint8 or bool.`);
  }
  if (header.fortranOrder && header.shape.length > 1) {
    throw new InputError(`Array "${name}" is in Fortran order; save it with np.ascontiguousarray first.`);
  }
  const count = tensorSize(header.shape);
  const start = offset + headerLen;
  const needed = count * BYTES[dtype];
  if (bytes.length - start < needed) {
    throw new InputError(`Array "${name}" is truncated: expected ${needed} data bytes, found ${bytes.length - start}.`);
  }
  // Copy: aligned and detached from the source (Buffer#slice would return a view, not a copy).
  const raw = new Uint8Array(needed);
  raw.set(bytes.subarray(start, start + needed));
  const dv = new DataView(raw.buffer);
  let data: TensorData;
  switch (dtype) {
    case 'float32':
      data = new Float32Array(raw.buffer, 0, count);
      break;
    case 'float64':
      data = new Float64Array(raw.buffer, 0, count);
      break;
    case 'int32':
      data = new Int32Array(raw.buffer, 0, count);
      break;
    case 'uint8':
    case 'bool':
      data = raw;
      break;
    case 'float16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      data = out;
      break;
    }
    case 'int64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const v = dv.getBigInt64(8 * i, true);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new InputError(`Array "${name}" holds an int64 value beyond ±2^53 at element ${i}.`);
        }
        out[i] = Number(v);
      }
      data = out;
      break;
    }
  }
  return { dtype, shape: header.shape, data };
}

/** Serialise a tensor as .npy (format 1.0, little-endian, C order), in its declared dtype. */
export function serializeNpy(t: Tensor): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${DTYPE_TO_DESCR[t.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const count = t.data.length;
  const body = new Uint8Array(count * BYTES[t.dtype]);
  const dv = new DataView(body.buffer);
  for (let i = 0; i < count; i++) {
    const v = t.data[i];
    switch (t.dtype) {
      case 'float16':
        dv.setUint16(2 * i, floatToHalf(v), true);
        break;
      case 'float32':
        dv.setFloat32(4 * i, v, true);
        break;
      case 'float64':
        dv.setFloat64(8 * i, v, true);
        break;
      case 'int32':
        dv.setInt32(4 * i, v, true);
        break;
      case 'int64':
        dv.setBigInt64(8 * i, BigInt(Math.trunc(v)), true);
        break;
      case 'uint8':
        dv.setUint8(i, v);
        break;
      case 'bool':
        dv.setUint8(i, v ? 1 : 0);
        break;
    }
  }
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}
