// F³A cell sums for eight rows at once as a WebAssembly SIMD loop (f64x2 lanes). The module is a few dozen
// bytes assembled here; each lane adds exactly what the TypeScript loop adds, in the same order (wasm float
// arithmetic is IEEE binary64 and deterministic), so the tags are identical.

import { growTo, I32, instantiateKernel, sleb, uleb, V128 } from '../../numeric/wasm-module.ts';

/** z[c·8 + l] = Σ_t xt[wires[c·s + t]·8 + l] for c < m, l < 8 (byte offsets into the kernel's memory). */
export interface SumsKernel {
  /** The kernel's memory; views must be re-taken after `reserve`. */
  buffer(): ArrayBuffer;
  /** Grow the memory to at least `bytes`. */
  reserve(bytes: number): void;
  sums(xt: number, z: number, wires: number, m: number, s: number): void;
}

const op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  brIf: 0x0d,
  get: 0x20,
  set: 0x21,
  tee: 0x22,
  i32Load: 0x28,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Shl: 0x74,
  simd: 0xfd,
};
// SIMD sub-opcodes (after 0xfd, LEB128).
const V128_LOAD = [0x00];
const V128_STORE = [0x0b];
const V128_CONST = [0x0c];
const F64X2_ADD = [0xf0, 0x01];

// Parameters 0–4, then locals.
const [X, Z, W, M, S] = [0, 1, 2, 3, 4];
const [T, B] = [5, 6];
const ACC = [7, 8, 9, 10];

function code(): number[] {
  const code: number[] = [];
  const emit = (...b: number[]): void => {
    code.push(...b);
  };
  emit(op.block, 0x40, op.get, M, op.i32Eqz, op.brIf, 0);
  emit(op.loop, 0x40); // cells
  for (const a of ACC) emit(op.simd, ...V128_CONST, ...new Array<number>(16).fill(0), op.set, a);
  emit(op.get, S, op.set, T);
  emit(op.loop, 0x40); // wires of the cell, in sampling order
  // b = xt + wires[·]·64 (eight float64 lanes per coordinate); wires += 4
  emit(op.get, X, op.get, W, op.i32Load, 2, 0, op.i32Const, 6, op.i32Shl, op.i32Add, op.set, B);
  ACC.forEach((a, q) => emit(op.get, a, op.get, B, op.simd, ...V128_LOAD, 3, ...uleb(16 * q), op.simd, ...F64X2_ADD, op.set, a));
  emit(op.get, W, op.i32Const, 4, op.i32Add, op.set, W);
  emit(op.get, T, op.i32Const, 1, op.i32Sub, op.tee, T, op.brIf, 0, op.end);
  ACC.forEach((a, q) => emit(op.get, Z, op.get, a, op.simd, ...V128_STORE, 3, ...uleb(16 * q)));
  emit(op.get, Z, op.i32Const, ...sleb(64), op.i32Add, op.set, Z);
  emit(op.get, M, op.i32Const, 1, op.i32Sub, op.tee, M, op.brIf, 0, op.end);
  emit(op.end, op.end);
  return code;
}

let cached: SumsKernel | null | undefined;

/** The SIMD kernel, or null where WebAssembly SIMD is unavailable (callers then sum in TypeScript). */
export function loadSums(): SumsKernel | null {
  if (cached !== undefined) return cached;
  try {
    const { mem, fn } = instantiateKernel<SumsKernel['sums']>('sums', 5, [2, 2, I32, 4, V128], code());
    cached = { buffer: () => mem.buffer, reserve: (bytes) => growTo(mem, bytes), sums: fn };
  } catch {
    cached = null;
  }
  return cached;
}
