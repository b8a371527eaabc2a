// Float32 operand rows x·f from float64 rows as a WebAssembly SIMD loop: each product is rounded once to
// float64 (f64x2.mul) and once to float32 (f32x4.demote_f64x2_zero), exactly as the TypeScript store of
// x[k] * f into a Float32Array rounds it, so the operands are bit-identical. The row's sum of squares (which
// gives f) comes from the same staged copy, so each source row is read from memory once.

import { squaresCode } from './sumsq-wasm.ts';
import { addConst, countDown, f64Load, F64X2, get, growTo, I32, instantiateKernels, set, SIMD, tee, V128, v128Load, v128Store } from './wasm-module.ts';

const { splat, mul } = F64X2;

const [ROWS, COUNT, D, INV, OUT, STRIDE] = [0, 1, 2, 3, 4, 5];
const demote = [SIMD, 0x5e];
/** Lanes 0–1 of the first operand, then lanes 0–1 of the second (the two demoted halves side by side). */
const joinLow = [SIMD, 0x0d, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/**
 * scale(rows, count, d, inv, out): `count` rows of d float64s; row i × inv[i] → out, but each row's d mod 4
 * tail. `strided`: a sixth parameter gives the bytes from one source row to the next (rows need not be
 * adjacent); locals then start one index later.
 */
export function scaleCode(strided = false): number[] {
  const [P, K, GROUPS, TAIL, F] = [5, 6, 7, 8, 9].map((i) => (strided ? i + 1 : i));
  const skipTail = (ptr: number, shift: number): number[] => [...get(ptr), ...get(TAIL), 0x41, shift, 0x74, 0x6a, ...set(ptr)];
  const nextRow = strided ? [...get(ROWS), ...get(STRIDE), 0x6a, ...tee(ROWS), ...set(P)] : skipTail(P, 3);
  return [
    ...get(D), 0x41, 2, 0x76, ...set(GROUPS), // d >> 2 (unsigned)
    ...get(D), 0x41, 3, 0x71, ...set(TAIL), // d & 3
    ...get(ROWS), ...set(P),
    ...[0x02, 0x40, ...get(COUNT), 0x45, 0x0d, 0],
    ...[0x03, 0x40], // loop rows
    ...get(INV), ...f64Load(), ...splat, ...set(F), ...addConst(INV, 8),
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
    ...nextRow, ...skipTail(OUT, 2),
    ...countDown(COUNT, 0),
    0x0b, 0x0b,
    0x0b,
  ];
}

type Kernel = (a: number, b: number, c: number, d: number, e: number) => void;

let kernel: { mem: WebAssembly.Memory; squares: Kernel; scale: Kernel } | null | undefined;

/** Bytes of float64 rows per copy into WebAssembly memory (stays in cache between the copy and the loops). */
const CHUNK_BYTES = 1 << 18;

/**
 * Unit float32 operand rows from float64 rows: for every listed row, its sum of squares (as rowSumSquares adds
 * it), then f = scaleOf(i, sum) and data row i = float32(x row idx[i] · f), bit-identical to the TypeScript
 * loops; false where WebAssembly SIMD is unavailable (nothing is called then).
 */
export function unitRowsToF32Simd(x: Float64Array, idx: Int32Array, d: number, scaleOf: (i: number, sumSq: number) => number, data: Float32Array): boolean {
  if (kernel === undefined) {
    try {
      const made = instantiateKernels<Kernel>(5, [
        { name: 'squares', locals: [2, 3, I32, 9, V128], code: squaresCode(true) },
        { name: 'scale', locals: [2, 4, I32, 1, V128], code: scaleCode() },
      ]);
      kernel = { mem: made.mem, squares: made.fns.squares, scale: made.fns.scale };
    } catch {
      kernel = null;
    }
  }
  if (!kernel || d < 4) return false;
  const per = Math.max(1, Math.floor(CHUNK_BYTES / 8 / d));
  const chunk = Math.min(per, idx.length);
  const ROWS_AT = 64;
  const invAt = ROWS_AT + chunk * d * 8;
  const sumsAt = invAt + chunk * 8;
  const outAt = sumsAt + chunk * 32;
  growTo(kernel.mem, outAt + chunk * d * 4);
  const rows = new Float64Array(kernel.mem.buffer, ROWS_AT, chunk * d);
  const invs = new Float64Array(kernel.mem.buffer, invAt, chunk);
  const sums = new Float64Array(kernel.mem.buffer, sumsAt, chunk * 4);
  const out = new Float32Array(kernel.mem.buffer, outAt, chunk * d);
  const head = d & ~3;
  for (let c0 = 0; c0 < idx.length; c0 += per) {
    const c1 = Math.min(idx.length, c0 + per);
    const count = c1 - c0;
    if (idx[c1 - 1] - idx[c0] === count - 1) rows.set(x.subarray(idx[c0] * d, (idx[c1 - 1] + 1) * d));
    else for (let i = c0; i < c1; i++) rows.set(x.subarray(idx[i] * d, (idx[i] + 1) * d), (i - c0) * d);
    kernel.squares(ROWS_AT, count >> 1, head >> 2, d * 8, sumsAt);
    // An odd last row is paired with itself.
    if (count % 2 === 1) kernel.squares(ROWS_AT + (count - 1) * d * 8, 1, head >> 2, 0, sumsAt + (count - 1) * 32);
    for (let i = 0; i < count; i++) {
      let s0 = sums[4 * i];
      for (let k = head; k < d; k++) s0 += rows[i * d + k] * rows[i * d + k];
      invs[i] = scaleOf(c0 + i, s0 + sums[4 * i + 1] + (sums[4 * i + 2] + sums[4 * i + 3]));
    }
    kernel.scale(ROWS_AT, count, d, invAt, outAt);
    if (head < d) {
      for (let i = 0; i < count; i++) for (let k = head; k < d; k++) out[i * d + k] = rows[i * d + k] * invs[i];
    }
    data.set(out.subarray(0, count * d), c0 * d);
  }
  return true;
}
