// Float64 sums of products of float32 rows as a WebAssembly SIMD loop. Lanes (s0, s1) and (s2, s3) take
// exactly the products and sums of the TypeScript loops' four partial sums (each float32 widened exactly,
// product and sum rounded once each, no fused multiply-add), so callers that add the tail and combine
// s0 + s1 + (s2 + s3) get bit-identical results.

import { addConst, countDown, get, growTo, instantiateKernel, set, SIMD, V128, v128Load, v128Store } from './wasm-module.ts';

const [A, B, N, O] = [0, 1, 2, 3];
const [ACC01, ACC23, VA, VB] = [4, 5, 6, 7];
const load = v128Load(2);
const promoteLow = [SIMD, 0x5f];
const upperHalf = [SIMD, 0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const mulAdd = [SIMD, 0xf2, 0x01, SIMD, 0xf0, 0x01];

/** partial(a, b, n, out): for n groups of four floats at byte offsets a, b, out[0..3] = the four partial sums. */
export function partialSumsCode(): number[] {
  return [
    ...[0x02, 0x40, ...get(N), 0x45, 0x0d, 0], // block; if n == 0 skip
    ...[0x03, 0x40], // loop
    ...get(A), ...load, ...set(VA),
    ...get(B), ...load, ...set(VB),
    ...get(ACC01), ...get(VA), ...promoteLow, ...get(VB), ...promoteLow, ...mulAdd, ...set(ACC01),
    ...get(ACC23), ...get(VA), ...get(VA), ...upperHalf, ...promoteLow, ...get(VB), ...get(VB), ...upperHalf, ...promoteLow, ...mulAdd, ...set(ACC23),
    ...addConst(A, 16),
    ...addConst(B, 16),
    ...countDown(N, 0),
    0x0b, 0x0b, // end loop, end block
    ...get(O), ...get(ACC01), ...v128Store(3),
    ...get(O), ...get(ACC23), ...v128Store(3, 16),
    0x0b,
  ];
}

type Partial = (a: number, b: number, n: number, out: number) => void;

let kernel: { mem: WebAssembly.Memory; fn: Partial } | null | undefined;

/** Rows per copy into WebAssembly memory (bounds the memory the kernel keeps). */
const CHUNK_FLOATS = 1 << 20;

/**
 * out[i] = Σ_k x[idx[i]·d + k]² for every listed row, as rowSumSquares adds it (bit-identical), with the
 * four partial sums in SIMD; false where WebAssembly SIMD is unavailable.
 */
export function rowSumSquaresSimd(x: Float32Array, idx: Int32Array, d: number, out: Float64Array): boolean {
  if (kernel === undefined) {
    try {
      kernel = instantiateKernel<Partial>('partial', 4, [1, 4, V128], partialSumsCode());
    } catch {
      kernel = null;
    }
  }
  if (!kernel || d < 4) return false;
  const per = Math.max(1, Math.floor(CHUNK_FLOATS / d));
  const ROWS_AT = 64;
  growTo(kernel.mem, ROWS_AT + Math.min(per, idx.length) * d * 4);
  const rows = new Float32Array(kernel.mem.buffer, ROWS_AT, Math.min(per, idx.length) * d);
  const sums = new Float64Array(kernel.mem.buffer, 0, 4);
  const head = d & ~3;
  for (let c0 = 0; c0 < idx.length; c0 += per) {
    const c1 = Math.min(idx.length, c0 + per);
    // A contiguous run is one copy.
    if (idx[c1 - 1] - idx[c0] === c1 - 1 - c0) rows.set(x.subarray(idx[c0] * d, (idx[c1 - 1] + 1) * d));
    else for (let i = c0; i < c1; i++) rows.set(x.subarray(idx[i] * d, (idx[i] + 1) * d), (i - c0) * d);
    for (let i = c0; i < c1; i++) {
      const at = ROWS_AT + (i - c0) * d * 4;
      kernel.fn(at, at, head >> 2, 0);
      let s0 = sums[0];
      const base = idx[i] * d;
      for (let k = head; k < d; k++) s0 += x[base + k] * x[base + k];
      out[i] = s0 + sums[1] + (sums[2] + sums[3]);
    }
  }
  return true;
}
