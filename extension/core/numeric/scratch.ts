// Reusable work buffers for the kernels, so warm runs (a budget slider, `prune --repeat`) do not pay for
// fresh zeroed pages on every call. Each key is owned by one call site; a buffer is only valid until the
// next request for the same key. Buffers beyond RETAIN_BYTES in total are not kept.

const RETAIN_BYTES = 192 << 20;

type Kind = 'f32' | 'f64' | 'i32';
type Buffer = Float32Array | Float64Array | Int32Array;
const pool = new Map<string, Buffer>();

function retained(): number {
  let total = 0;
  for (const b of pool.values()) total += b.byteLength;
  return total;
}

function get(kind: Kind, key: string, length: number): Buffer {
  const id = `${kind}:${key}`;
  const hit = pool.get(id);
  if (hit && hit.length >= length) return hit.subarray(0, length);
  if (hit) pool.delete(id);
  const buf = kind === 'f32' ? new Float32Array(length) : kind === 'i32' ? new Int32Array(length) : new Float64Array(length);
  if (retained() + buf.byteLength <= RETAIN_BYTES) pool.set(id, buf);
  return buf;
}

/** A float32 work buffer of `length` (contents unspecified). */
export function scratchF32(key: string, length: number): Float32Array {
  return get('f32', key, length) as Float32Array;
}

/** A float64 work buffer of `length` (contents unspecified). */
export function scratchF64(key: string, length: number): Float64Array {
  return get('f64', key, length) as Float64Array;
}

/** An int32 work buffer of `length` (contents unspecified). */
export function scratchI32(key: string, length: number): Int32Array {
  return get('i32', key, length) as Int32Array;
}

/** Drop every retained buffer (e.g. after a one-off 16k-token run). */
export function releaseScratch(): void {
  pool.clear();
}
