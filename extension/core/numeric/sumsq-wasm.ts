// Float64 sums of products of float32 or float64 rows as WebAssembly SIMD loops. Lanes (s0, s1) and (s2, s3)
// take exactly the products and sums of the TypeScript loops' four partial sums (each float32 widened exactly,
// product and sum rounded once each, no fused multiply-add), so callers that add the tail and combine
// s0 + s1 + (s2 + s3) get bit-identical results.

import { addConst, countDown, F64X2, get, growTo, I32, instantiateKernel, set, UPPER_HALF, V128, V128_ZERO, v128Load, v128Store } from './wasm-module.ts';

const { promoteLow } = F64X2;
const mulAdd = [...F64X2.mul, ...F64X2.add];

const [A, B, N, O] = [0, 1, 2, 3];
const [ACC01, ACC23, VA, VB] = [4, 5, 6, 7];
const load = v128Load(2);

/** partial(a, b, n, out): for n groups of four floats at byte offsets a, b, out[0..3] = the four partial sums. */
export function partialSumsCode(): number[] {
  return [
    ...[0x02, 0x40, ...get(N), 0x45, 0x0d, 0], // block; if n == 0 skip
    ...[0x03, 0x40], // loop
    ...get(A), ...load, ...set(VA),
    ...get(B), ...load, ...set(VB),
    ...get(ACC01), ...get(VA), ...promoteLow, ...get(VB), ...promoteLow, ...mulAdd, ...set(ACC01),
    ...get(ACC23), ...get(VA), ...get(VA), ...UPPER_HALF, ...promoteLow, ...get(VB), ...get(VB), ...UPPER_HALF, ...promoteLow, ...mulAdd, ...set(ACC23),
    ...addConst(A, 16),
    ...addConst(B, 16),
    ...countDown(N, 0),
    0x0b, 0x0b, // end loop, end block
    ...get(O), ...get(ACC01), ...v128Store(3),
    ...get(O), ...get(ACC23), ...v128Store(3, 16),
    0x0b,
  ];
}

/**
 * squares(a, pairs, groups, stride, out): for each pair of rows (a, a + stride bytes), then the next pair at
 * a + 2·stride, the four partial sums of squares of each row (as `partial` gives them) at out, out + 32.
 * Two rows' accumulator chains interleave: each row's own additions stay in order, so the sums are the same.
 * `wide`: float64 rows (a group of four is two loads); otherwise float32 rows widened lane by lane.
 */
export function squaresCode(wide: boolean): number[] {
  const [ROWS_A, PAIRS, GROUPS, STRIDE, OUT] = [0, 1, 2, 3, 4];
  const [P, Q, K, A01, A23, B01, B23, VA, VB, VSQ, VA2, VB2] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
  const square = (acc: number, value: number[]): number[] => [...get(acc), ...value, 0x22, VSQ, ...get(VSQ), ...mulAdd, ...set(acc)];
  const low = (v: number): number[] => (wide ? get(v) : [...get(v), ...promoteLow]);
  const high = (v: number, v2: number): number[] => (wide ? get(v2) : [...get(v), ...get(v), ...UPPER_HALF, ...promoteLow]);
  const loadRow = (ptr: number, v: number, v2: number): number[] => [
    ...get(ptr), ...load, ...set(v),
    ...(wide ? [...get(ptr), ...v128Load(3, 16), ...set(v2)] : []),
  ];
  const groupBytes = wide ? 32 : 16;
  return [
    ...[0x02, 0x40, ...get(PAIRS), 0x45, 0x0d, 0],
    ...[0x03, 0x40], // loop pairs
    ...zero(A01), ...zero(A23), ...zero(B01), ...zero(B23),
    ...get(ROWS_A), ...set(P), ...get(ROWS_A), ...get(STRIDE), 0x6a, ...set(Q), ...get(GROUPS), ...set(K),
    ...[0x02, 0x40, ...get(K), 0x45, 0x0d, 0],
    ...[0x03, 0x40],
    ...loadRow(P, VA, VA2), ...loadRow(Q, VB, VB2),
    ...square(A01, low(VA)), ...square(A23, high(VA, VA2)),
    ...square(B01, low(VB)), ...square(B23, high(VB, VB2)),
    ...addConst(P, groupBytes), ...addConst(Q, groupBytes),
    ...countDown(K, 0),
    0x0b, 0x0b,
    ...get(OUT), ...get(A01), ...v128Store(3),
    ...get(OUT), ...get(A23), ...v128Store(3, 16),
    ...get(OUT), ...get(B01), ...v128Store(3, 32),
    ...get(OUT), ...get(B23), ...v128Store(3, 48),
    ...addConst(OUT, 32), ...addConst(OUT, 32),
    ...get(ROWS_A), ...get(STRIDE), 0x41, 1, 0x74, 0x6a, ...set(ROWS_A), // next pair: a + 2·stride
    ...countDown(PAIRS, 0),
    0x0b, 0x0b,
    0x0b,
  ];
}

const zero = (local: number): number[] => [...V128_ZERO, ...set(local)];

type Squares = (a: number, pairs: number, groups: number, stride: number, out: number) => void;

const kernels = new Map<'f32' | 'f64', { mem: WebAssembly.Memory; fn: Squares } | null>();

function kernelFor(kind: 'f32' | 'f64'): { mem: WebAssembly.Memory; fn: Squares } | null {
  let k = kernels.get(kind);
  if (k === undefined) {
    try {
      k = instantiateKernel<Squares>('squares', 5, [2, 3, I32, 9, V128], squaresCode(kind === 'f64'));
    } catch {
      k = null;
    }
    kernels.set(kind, k);
  }
  return k;
}

/**
 * Bytes per copy into WebAssembly memory: 256 KB, so the sums read rows the copy has just left in the cache
 * (576×1024 rows: 163 µs against 201 µs with 4 MB copies). It also bounds the memory the kernel keeps.
 */
const CHUNK_BYTES = 1 << 18;

/**
 * out[i] = Σ_k x[idx[i]·d + k]² for every listed row, as rowSumSquares adds it (bit-identical), with the
 * four partial sums in SIMD; false where WebAssembly SIMD is unavailable.
 */
export function rowSumSquaresSimd(x: Float32Array | Float64Array, idx: Int32Array, d: number, out: Float64Array): boolean {
  const wide = x instanceof Float64Array;
  const kernel = kernelFor(wide ? 'f64' : 'f32');
  if (!kernel || d < 4) return false;
  const bytes = x.BYTES_PER_ELEMENT;
  const per = Math.max(1, Math.floor(CHUNK_BYTES / bytes / d));
  const chunk = Math.min(per, idx.length);
  const ROWS_AT = 64;
  const sumsAt = (ROWS_AT + chunk * d * bytes + 15) & ~15;
  growTo(kernel.mem, sumsAt + chunk * 32);
  const rows = wide ? new Float64Array(kernel.mem.buffer, ROWS_AT, chunk * d) : new Float32Array(kernel.mem.buffer, ROWS_AT, chunk * d);
  const sums = new Float64Array(kernel.mem.buffer, sumsAt, chunk * 4);
  const head = d & ~3;
  for (let c0 = 0; c0 < idx.length; c0 += per) {
    const c1 = Math.min(idx.length, c0 + per);
    // A contiguous run is one copy.
    if (idx[c1 - 1] - idx[c0] === c1 - 1 - c0) rows.set(x.subarray(idx[c0] * d, (idx[c1 - 1] + 1) * d));
    else for (let i = c0; i < c1; i++) rows.set(x.subarray(idx[i] * d, (idx[i] + 1) * d), (i - c0) * d);
    const count = c1 - c0;
    kernel.fn(ROWS_AT, count >> 1, head >> 2, d * bytes, sumsAt);
    // An odd last row is paired with itself.
    if (count % 2 === 1) kernel.fn(ROWS_AT + (count - 1) * d * bytes, 1, head >> 2, 0, sumsAt + (count - 1) * 32);
    for (let i = c0; i < c1; i++) {
      const o = (i - c0) * 4;
      let s0 = sums[o];
      const base = idx[i] * d;
      for (let k = head; k < d; k++) s0 += x[base + k] * x[base + k];
      out[i] = s0 + sums[o + 1] + (sums[o + 2] + sums[o + 3]);
    }
  }
  return true;
}
