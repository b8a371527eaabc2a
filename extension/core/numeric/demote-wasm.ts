// Float32 operand rows x·f from float64 rows as a WebAssembly SIMD loop: each product is rounded once to
// float64 (f64x2.mul) and once to float32 (f32x4.demote_f64x2_zero), exactly as the TypeScript store of
// x[k] * f into a Float32Array rounds it, so the operands are bit-identical.

import { addConst, countDown, get, growTo, I32, instantiateKernel, set, SIMD, V128, v128Load, v128Store } from './wasm-module.ts';

const [ROWS, COUNT, GROUPS, INV, OUT, TAIL] = [0, 1, 2, 3, 4, 5];
const [P, K, F] = [6, 7, 8];
const f64Load = [0x2b, 3, 0];
const splat = [SIMD, 0x14];
const mul = [SIMD, 0xf2, 0x01];
const demote = [SIMD, 0x5e];
/** Lanes 0–1 of the first operand, then lanes 0–1 of the second (the two demoted halves side by side). */
const joinLow = [SIMD, 0x0d, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
const skipTail = (ptr: number, shift: number): number[] => [...get(ptr), ...get(TAIL), 0x41, shift, 0x74, 0x6a, ...set(ptr)];

/** scale(rows, count, groups, inv, out, tail): `count` rows of groups·4 + tail float64s; row i × inv[i] → out. */
function scaleCode(): number[] {
  return [
    ...get(ROWS), ...set(P),
    ...[0x02, 0x40, ...get(COUNT), 0x45, 0x0d, 0],
    ...[0x03, 0x40], // loop rows
    ...get(INV), ...f64Load, ...splat, ...set(F), ...addConst(INV, 8),
    ...get(GROUPS), ...set(K),
    ...[0x02, 0x40, ...get(K), 0x45, 0x0d, 0],
    ...[0x03, 0x40], // loop groups of four
    ...get(OUT),
    ...get(P), ...v128Load(3), ...get(F), ...mul, ...demote,
    ...get(P), ...v128Load(3, 16), ...get(F), ...mul, ...demote,
    ...joinLow, ...v128Store(2),
    ...addConst(P, 32), ...addConst(OUT, 16),
    ...countDown(K, 0),
    0x0b, 0x0b,
    ...skipTail(P, 3), ...skipTail(OUT, 2),
    ...countDown(COUNT, 0),
    0x0b, 0x0b,
    0x0b,
  ];
}

type Scale = (rows: number, count: number, groups: number, inv: number, out: number, tail: number) => void;

let kernel: { mem: WebAssembly.Memory; fn: Scale } | null | undefined;

/** Bytes of float64 rows per copy into WebAssembly memory (stays in cache between the copy and the loop). */
const CHUNK_BYTES = 1 << 18;

/**
 * data row i = float32(x row idx[i] · inv[i]) for every listed row, bit-identical to the TypeScript loop;
 * false where WebAssembly SIMD is unavailable.
 */
export function scaleRowsToF32Simd(x: Float64Array, idx: Int32Array, inv: Float64Array, d: number, data: Float32Array): boolean {
  if (kernel === undefined) {
    try {
      kernel = instantiateKernel<Scale>('scale', 6, [2, 2, I32, 1, V128], scaleCode());
    } catch {
      kernel = null;
    }
  }
  if (!kernel || d < 4) return false;
  const per = Math.max(1, Math.floor(CHUNK_BYTES / 8 / d));
  const chunk = Math.min(per, idx.length);
  const ROWS_AT = 64;
  const invAt = ROWS_AT + chunk * d * 8;
  const outAt = invAt + chunk * 8;
  growTo(kernel.mem, outAt + chunk * d * 4);
  const rows = new Float64Array(kernel.mem.buffer, ROWS_AT, chunk * d);
  const invs = new Float64Array(kernel.mem.buffer, invAt, chunk);
  const out = new Float32Array(kernel.mem.buffer, outAt, chunk * d);
  const head = d & ~3;
  for (let c0 = 0; c0 < idx.length; c0 += per) {
    const c1 = Math.min(idx.length, c0 + per);
    const count = c1 - c0;
    if (idx[c1 - 1] - idx[c0] === count - 1) rows.set(x.subarray(idx[c0] * d, (idx[c1 - 1] + 1) * d));
    else for (let i = c0; i < c1; i++) rows.set(x.subarray(idx[i] * d, (idx[i] + 1) * d), (i - c0) * d);
    invs.set(inv.subarray(c0, c1));
    kernel.fn(ROWS_AT, count, head >> 2, invAt, outAt, d - head);
    if (head < d) {
      for (let i = 0; i < count; i++) for (let k = head; k < d; k++) out[i * d + k] = rows[i * d + k] * invs[i];
    }
    data.set(out.subarray(0, count * d), c0 * d);
  }
  return true;
}
