// tsGemmNT in WebAssembly SIMD: C = A·Bᵀ in float64 with tsGemmNT's exact summation, every entry
// ((0 + Σ₀) + Σ₁) + … where Σ_b adds the products of one 256-wide depth block in index order from 0. Lanes
// hold two adjacent columns (B is packed as column pairs interleaved per depth index), so each lane performs
// the scalar kernel's operations in its order: bit-identical, whatever the register blocking.

import { addConst, countDown, f64Load, F64X2, get, growTo, I32, i32Const, instantiateKernels, set, tee, V128, V128_ZERO, v128Load, v128Store } from './wasm-module.ts';
import type { FloatArray } from './gemm.ts';

const { splat, mul, add } = F64X2;

/** Depth block of tsGemmNT. */
const DEPTH = 256;

const [A, BP, C, PAIRS, K, NB] = [0, 1, 2, 3, 4, 5];
const [JP, T0, T, PA, PB, PC, KB, BLK] = [6, 7, 8, 9, 10, 11, 12, 13];
const [S0, S1, S2, S3, VB] = [14, 15, 16, 17, 18];
const i32 = { add: 0x6a, sub: 0x6b, mul: 0x6c, shl: 0x74, ltU: 0x49 };


/** S_r += splat(A[row r, t]) · VB, row r at PA + r·KB. */
function rowProduct(r: number, s: number): number[] {
  const addr = r === 0 ? get(PA) : [...get(PA), ...get(KB), ...(r > 1 ? [...i32Const(r), i32.mul] : []), i32.add];
  return [...get(s), ...addr, ...f64Load(0), ...splat, ...get(VB), ...mul, ...add, ...set(s)];
}

/** C[row r, pair] += S_r, row r at PC + r·NB. */
function rowStore(r: number, s: number): number[] {
  const addr = r === 0 ? get(PC) : [...get(PC), ...get(NB), ...(r > 1 ? [...i32Const(r), i32.mul] : []), i32.add];
  return [...addr, ...addr, ...v128Load(3), ...get(s), ...add, ...v128Store(3)];
}

/**
 * rows(a, bp, c, pairs, k, nb) for `rows` ∈ {1, 4}: A rows at a (k float64s apart), packed B at bp
 * (pairs × k × 2), C rows at c (nb bytes apart); adds every column pair's blocks into C.
 */
function blockCode(rows: number): number[] {
  const sums = [S0, S1, S2, S3].slice(0, rows);
  return [
    ...get(K), ...i32Const(3), i32.shl, ...set(KB),
    ...get(BP), ...set(PB), ...get(C), ...set(PC), ...get(PAIRS), ...set(JP),
    ...[0x02, 0x40, ...get(JP), 0x45, 0x0d, 0],
    ...[0x03, 0x40], // loop column pairs
    ...i32Const(0), ...set(T0),
    ...[0x02, 0x40, 0x03, 0x40], // loop depth blocks while T0 < K
    ...get(T0), ...get(K), i32.ltU, 0x45, 0x0d, 1,
    // BLK = min(DEPTH, K − T0)
    ...i32Const(DEPTH), ...get(K), ...get(T0), i32.sub, ...tee(BLK), ...i32Const(DEPTH), ...get(BLK), i32.ltU, 0x1b, ...set(T),
    ...sums.flatMap((s) => [...V128_ZERO, ...set(s)]),
    ...get(A), ...get(T0), ...i32Const(3), i32.shl, i32.add, ...set(PA),
    ...get(PB), ...get(T0), ...i32Const(4), i32.shl, i32.add, ...set(BLK), // BLK now walks the packed B
    ...[0x03, 0x40], // loop t
    ...get(BLK), ...v128Load(3), ...set(VB),
    ...sums.flatMap((s, r) => rowProduct(r, s)),
    ...addConst(PA, 8), ...addConst(BLK, 16),
    ...countDown(T, 0),
    0x0b,
    ...sums.flatMap((s, r) => rowStore(r, s)),
    ...get(T0), ...i32Const(DEPTH), i32.add, ...set(T0),
    0x0c, 0, // br loop
    0x0b, 0x0b,
    ...get(PB), ...get(K), ...i32Const(4), i32.shl, i32.add, ...set(PB),
    ...addConst(PC, 16),
    ...countDown(JP, 0),
    0x0b, 0x0b,
    0x0b,
  ];
}

type Block = (a: number, bp: number, c: number, pairs: number, k: number, nb: number) => void;
let kernel: { mem: WebAssembly.Memory; fns: Record<'quad' | 'single', Block> } | null | undefined;

/** Operands beyond this many bytes in all stay in TypeScript (the kernel's memory is kept between calls). */
const MAX_BYTES = 16 << 20;

/**
 * C = A·Bᵀ (m×k by n×k, row-major) into `out` (m×n float64), bit-identical to tsGemmNT; false where
 * WebAssembly SIMD is unavailable or the operands are too large to stage.
 */
export function gemmNTSimd(a: FloatArray, m: number, b: FloatArray, n: number, k: number, out: Float64Array): boolean {
  const pairs = n >> 1;
  const aBytes = m * k * 8;
  const bBytes = pairs * k * 16;
  const cBytes = m * n * 8;
  if (pairs === 0 || k === 0 || aBytes + bBytes + cBytes > MAX_BYTES) return false;
  if (kernel === undefined) {
    try {
      const locals = [2, 8, I32, 5, V128];
      const made = instantiateKernels<Block>(6, [
        { name: 'quad', locals, code: blockCode(4) },
        { name: 'single', locals, code: blockCode(1) },
      ]);
      kernel = { mem: made.mem, fns: made.fns as Record<'quad' | 'single', Block> };
    } catch {
      kernel = null;
    }
  }
  if (!kernel) return false;
  const aAt = 64;
  const bAt = aAt + aBytes;
  const cAt = bAt + bBytes;
  growTo(kernel.mem, cAt + cBytes);
  const buf = kernel.mem.buffer;
  new Float64Array(buf, aAt, m * k).set(a.subarray(0, m * k));
  const bp = new Float64Array(buf, bAt, pairs * k * 2);
  for (let p = 0; p < pairs; p++) {
    const b0 = 2 * p * k;
    const o = p * k * 2;
    for (let t = 0; t < k; t++) {
      bp[o + 2 * t] = b[b0 + t];
      bp[o + 2 * t + 1] = b[b0 + k + t];
    }
  }
  const c = new Float64Array(buf, cAt, m * n);
  c.fill(0);
  const quads = m >> 2;
  for (let q = 0; q < quads; q++) kernel.fns.quad(aAt + q * 4 * k * 8, bAt, cAt + q * 4 * n * 8, pairs, k, n * 8);
  for (let i = quads * 4; i < m; i++) kernel.fns.single(aAt + i * k * 8, bAt, cAt + i * n * 8, pairs, k, n * 8);
  out.set(c);
  if (n & 1) {
    // The last column of an odd width, in tsGemmNT's block order.
    const j = n - 1;
    for (let i = 0; i < m; i++) {
      let acc = 0;
      for (let k0 = 0; k0 < k; k0 += DEPTH) {
        let s = 0;
        for (let t = k0; t < Math.min(k, k0 + DEPTH); t++) s += a[i * k + t] * b[j * k + t];
        acc += s;
      }
      out[i * n + j] = acc;
    }
  }
  return true;
}
