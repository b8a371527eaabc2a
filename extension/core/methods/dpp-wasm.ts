// The greedy DPP's two O(n) passes per pick in WebAssembly SIMD, two tokens per lane pair, with the
// TypeScript loops' operations in their order (each product and sum rounded once, no fused multiply-add),
// so results are bit-identical:
//   project: proj[i] = Σ_{s<steps} c_s[j]·c_s[i], zero first, then s ascending;
//   update:  v = (r_j·row[i]·r[i] − proj[i])·inv; e[i] = v (rounded to c's storage); d2[i] −= e[i]·e[i].
// The pick rows c are stored in float64 or float32 (DppStorage); arithmetic is float64 either way.
// Rows are padded to an even length with zeros (the extra lane computes 0 and is never read).

import { addConst, countDown, f64Load, F64X2, get, growTo, I32, i32Const, instantiateKernels, set, SIMD, V128, V128_ZERO, v128Load, v128Store } from '../numeric/wasm-module.ts';
import { CONTROL_INTS, DppHelper } from './dpp-helper.ts';

const { splat, add, sub, mul } = F64X2;

/**
 * How the pick rows c are stored. Float32 halves the bytes each pick reads back (t·n·4 instead of t·n·8:
 * 30 MB at 8,192 tokens and 910 picks, within a 32 MB L3), and rounds each entry by ≤ 2⁻²⁴ relative,
 * no more than the float32 kernel rows it is computed from already carry (docs/DECISIONS.md).
 */
export type DppStorage = 'f64' | 'f32';

const load = v128Load(3);
const store = v128Store(3);
/** Two float32 at the address, widened exactly to float64 lanes (v128.load64_zero, f64x2.promote_low_f32x4). */
const loadPair32 = [SIMD, 0x5d, 3, 0, SIMD, 0x5f];
/** One stored element of c at the address, widened to float64. */
const elementLoad = (storage: DppStorage): number[] => (storage === 'f64' ? f64Load(0) : [0x2a, 2, 0, 0xbb]);
/** Two lanes of c at the address, as float64. */
const pairLoad = (storage: DppStorage): number[] => (storage === 'f64' ? load : loadPair32);
const width = (storage: DppStorage): number => (storage === 'f64' ? 8 : 4);

// Parameters (byte offsets unless noted): project(c, pairs, steps, jByte, proj, stride, −),
// update(row, r, proj, e, d2, pairs, consts) with consts = [r_j, inv] as float64.
const PARAMS = 7;

/** Rows of c folded into proj per pass in the blocked loop (then one at a time). */
const BLOCK = 8;

function projectCode(storage: DppStorage): number[] {
  const pair = width(storage) * 2;
  const [C, PAIRS, STEPS, J, PROJ, STRIDE] = [0, 1, 2, 3, 4, 5];
  const [I, SRC, DST] = [7, 8, 9];
  // OFF[k] = k·stride (bytes from row s to row s + k); A[k] = splat(c_{s+k}[j]).
  const OFF = Array.from({ length: BLOCK }, (_, k) => 10 + k - 1); // OFF[0] unused
  const A = Array.from({ length: BLOCK }, (_, k) => 10 + BLOCK - 1 + k);
  const rowAddress = (k: number): number[] => (k === 0 ? get(SRC) : [...get(SRC), ...get(OFF[k]), 0x6a]);
  return [
    // proj = 0
    ...get(PAIRS), ...set(I), ...get(PROJ), ...set(DST),
    ...[0x03, 0x40],
    ...get(DST), ...V128_ZERO, ...store,
    ...addConst(DST, 16),
    ...countDown(I, 0),
    0x0b,
    ...Array.from({ length: BLOCK - 1 }, (_, i) => [...get(STRIDE), ...i32Const(i + 1), 0x6c, ...set(OFF[i + 1])]).flat(),
    // Blocks of BLOCK rows: proj = proj + a0·c0 + … + a7·c7, left to right (the same additions as one row per pass).
    ...[0x02, 0x40, 0x03, 0x40], // block; loop
    ...get(STEPS), 0x41, BLOCK, 0x49, 0x0d, 1, // steps < BLOCK: done
    ...Array.from({ length: BLOCK }, (_, k) => [...get(C), ...get(J), 0x6a, ...(k === 0 ? [] : [...get(OFF[k]), 0x6a]), ...elementLoad(storage), ...splat, ...set(A[k])]).flat(),
    ...get(PAIRS), ...set(I), ...get(C), ...set(SRC), ...get(PROJ), ...set(DST),
    ...[0x03, 0x40], // loop pairs
    ...get(DST),
    ...get(DST), ...load,
    ...Array.from({ length: BLOCK }, (_, k) => [...get(A[k]), ...rowAddress(k), ...pairLoad(storage), ...mul, ...add]).flat(),
    ...store,
    ...addConst(SRC, pair), ...addConst(DST, 16),
    ...countDown(I, 0),
    0x0b,
    ...get(C), ...get(OFF[BLOCK - 1]), 0x6a, ...get(STRIDE), 0x6a, ...set(C),
    ...get(STEPS), 0x41, BLOCK, 0x6b, ...set(STEPS),
    0x0c, 0, // next block
    0x0b, 0x0b,
    // The remaining rows one at a time.
    ...[0x02, 0x40, ...get(STEPS), 0x45, 0x0d, 0], // block; if steps == 0 skip
    ...[0x03, 0x40], // loop rows s
    ...get(C), ...get(J), 0x6a, ...elementLoad(storage), ...splat, ...set(A[0]),
    ...get(PAIRS), ...set(I), ...get(C), ...set(SRC), ...get(PROJ), ...set(DST),
    ...[0x03, 0x40], // loop pairs
    ...get(DST), ...get(DST), ...load, ...get(A[0]), ...get(SRC), ...pairLoad(storage), ...mul, ...add, ...store,
    ...addConst(SRC, pair), ...addConst(DST, 16),
    ...countDown(I, 0),
    0x0b,
    ...get(C), ...get(STRIDE), 0x6a, ...set(C),
    ...countDown(STEPS, 0),
    0x0b, 0x0b,
    0x0b,
  ];
}

function updateCode(storage: DppStorage): number[] {
  const [ROW, R, PROJ, E, D2, PAIRS, CONSTS] = [0, 1, 2, 3, 4, 5, 6];
  const [RJ, INV, V] = [7, 8, 9];
  // float32 storage: e = demote(v) (f32x4.demote_f64x2_zero, v128.store64_lane), and d2 subtracts the stored e².
  const storeE = storage === 'f64' ? [...get(E), ...get(V), ...store] : [...get(E), ...get(V), SIMD, 0x5e, 0x22, V, SIMD, 0x5b, 3, 0, 0, ...get(V), SIMD, 0x5f, ...set(V)];
  return [
    ...get(CONSTS), ...f64Load(0), ...splat, ...set(RJ),
    ...get(CONSTS), ...f64Load(8), ...splat, ...set(INV),
    ...[0x03, 0x40],
    // v = ((r_j·row)·r − proj)·inv
    ...get(RJ), ...get(ROW), ...load, ...mul, ...get(R), ...load, ...mul, ...get(PROJ), ...load, ...sub, ...get(INV), ...mul, ...set(V),
    ...storeE,
    ...get(D2), ...get(D2), ...load, ...get(V), ...get(V), ...mul, ...sub, ...store,
    ...addConst(ROW, 16), ...addConst(R, 16), ...addConst(PROJ, 16), ...addConst(E, width(storage) * 2), ...addConst(D2, 16),
    ...countDown(PAIRS, 0),
    0x0b,
    0x0b,
  ];
}

/**
 * proj[i] = Σ_{s<steps} c_s[j]·c_s[i], added in s order (as the reference's inner loop), eight rows of c
 * per pass over proj (then four, then one: the same additions in the same order, fewer passes).
 */
export function projectScalar(c: Float64Array | Float32Array, n: number, steps: number, j: number, proj: Float64Array): void {
  proj.fill(0, 0, n);
  let s = 0;
  for (; s + 8 <= steps; s += 8) {
    const o0 = s * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    const o4 = o3 + n;
    const o5 = o4 + n;
    const o6 = o5 + n;
    const o7 = o6 + n;
    const a0 = c[o0 + j];
    const a1 = c[o1 + j];
    const a2 = c[o2 + j];
    const a3 = c[o3 + j];
    const a4 = c[o4 + j];
    const a5 = c[o5 + j];
    const a6 = c[o6 + j];
    const a7 = c[o7 + j];
    for (let i = 0; i < n; i++) {
      proj[i] = proj[i] + a0 * c[o0 + i] + a1 * c[o1 + i] + a2 * c[o2 + i] + a3 * c[o3 + i] + a4 * c[o4 + i] + a5 * c[o5 + i] + a6 * c[o6 + i] + a7 * c[o7 + i];
    }
  }
  for (; s + 4 <= steps; s += 4) {
    const o0 = s * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    const a0 = c[o0 + j];
    const a1 = c[o1 + j];
    const a2 = c[o2 + j];
    const a3 = c[o3 + j];
    for (let i = 0; i < n; i++) proj[i] = proj[i] + a0 * c[o0 + i] + a1 * c[o1 + i] + a2 * c[o2 + i] + a3 * c[o3 + i];
  }
  for (; s < steps; s++) {
    const o = s * n;
    const a = c[o + j];
    for (let i = 0; i < n; i++) proj[i] += a * c[o + i];
  }
}

/** The scalar form of update: v = (r_j·row[i]·r[i] − proj[i])·inv; e[i] = v (as stored); d2[i] −= e[i]·e[i]. */
export function updateScalar(row: Float64Array, r: Float64Array, proj: Float64Array, e: Float64Array | Float32Array, d2: Float64Array, n: number, rj: number, inv: number): void {
  for (let i = 0; i < n; i++) {
    e[i] = (rj * row[i] * r[i] - proj[i]) * inv;
    const v = e[i];
    d2[i] -= v * v;
  }
}

type Kernel = (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => void;

/** Views of one greedy run's buffers inside the module's memory (valid until the next `buffers` call). */
export interface DppBuffers {
  /** Row length in float64s (n rounded up to even). */
  readonly stride: number;
  /** Picks' update rows c_s, [t, stride], in the storage asked for. */
  readonly c: Float64Array | Float32Array;
  readonly row: Float64Array;
  readonly r: Float64Array;
  readonly proj: Float64Array;
  readonly d2: Float64Array;
  project(steps: number, j: number): void;
  /** e = c_step from row, r, proj; d2 −= e². */
  update(step: number, rj: number, inv: number): void;
  /** project(step, j) then update(step, rj, inv): on two threads (each half of the tokens) when asked for. */
  step(step: number, j: number, rj: number, inv: number): void;
}

const STORAGES: readonly DppStorage[] = ['f64', 'f32'];
/** Bytes at the start of the memory for the helper thread's control block (int32 slots). */
const CONTROL_BYTES = CONTROL_INTS * 4;

type Kernels = Readonly<Record<DppStorage, { project: Kernel; update: Kernel }>>;

export class DppWasm {
  /** The second thread, started on first use (undefined: not tried; null: unavailable). */
  private helper: DppHelper | null | undefined;

  private constructor(
    private readonly mem: WebAssembly.Memory,
    private readonly module: WebAssembly.Module,
    private readonly kernels: Kernels,
  ) {}

  private twoThreads(): DppHelper | null {
    if (this.helper === undefined) {
      this.helper = DppHelper.start(this.module, this.mem, 0, STORAGES.map((storage) => [`project_${storage}`, `update_${storage}`] as const));
    }
    return this.helper;
  }

  /**
   * Buffers for n tokens and t picks, c stored as `storage`; `threads` 2 splits each step between this thread
   * and a helper. The per-token vectors start at zero; the pick rows of c are not cleared (each is written by
   * update before project reads it), which saves a t·n memset.
   */
  buffers(n: number, t: number, storage: DppStorage = 'f64', threads = 1): DppBuffers {
    const stride = n + (n & 1);
    const bytes = stride * 8;
    const w = width(storage);
    const cBytes = stride * w;
    const constsAt = CONTROL_BYTES;
    const rowAt = constsAt + 16;
    const rAt = rowAt + bytes;
    const projAt = rAt + bytes;
    const d2At = projAt + bytes;
    const cAt = d2At + bytes;
    growTo(this.mem, cAt + t * cBytes);
    new Uint8Array(this.mem.buffer, constsAt, cAt - constsAt).fill(0);
    const buf = this.mem.buffer;
    const consts = new Float64Array(buf, constsAt, 2);
    const pairs = stride >> 1;
    const { project: projectFn, update: updateFn } = this.kernels[storage];
    const helper = threads > 1 && pairs > 1 ? this.twoThreads() : null;
    const kind = STORAGES.indexOf(storage);
    // Kernel arguments for the token pairs [p0, p0 + count), in the helper's order [c, pairs, steps, j, proj,
    // stride, row, r, e, d2, consts]: every per-token pointer starts p0 pairs in, and the pick's column offset
    // moves back by as much, so c + j still addresses c_s[j] (i32 addition wraps).
    const argsFor = (p0: number, count: number, step: number, j: number): number[] => {
      const tokenBytes = p0 * 2 * w;
      const f64Bytes = p0 * 16;
      return [cAt + tokenBytes, count, step, j * w - tokenBytes, projAt + f64Bytes, cBytes, rowAt + f64Bytes, rAt + f64Bytes, cAt + step * cBytes + tokenBytes, d2At + f64Bytes, constsAt];
    };
    // The two calls the helper's worker makes on its share (dpp-helper.ts).
    const projectOn = (a: readonly number[]): void => projectFn(a[0], a[1], a[2], a[3], a[4], a[5], 0);
    const updateOn = (a: readonly number[]): void => updateFn(a[6], a[7], a[4], a[8], a[9], a[1], a[10]);
    const setConsts = (rj: number, inv: number): void => {
      consts[0] = rj;
      consts[1] = inv;
    };
    return {
      stride,
      c: storage === 'f64' ? new Float64Array(buf, cAt, t * stride) : new Float32Array(buf, cAt, t * stride),
      row: new Float64Array(buf, rowAt, stride),
      r: new Float64Array(buf, rAt, stride),
      proj: new Float64Array(buf, projAt, stride),
      d2: new Float64Array(buf, d2At, stride),
      project(steps, j) {
        projectOn(argsFor(0, pairs, steps, j));
      },
      update(step, rj, inv) {
        setConsts(rj, inv);
        updateOn(argsFor(0, pairs, step, 0));
      },
      step(step, j, rj, inv) {
        setConsts(rj, inv);
        // With a helper, it takes the upper half of the pairs while this thread does the lower half.
        const mine = helper ? pairs >> 1 : pairs;
        if (helper) helper.post(kind, argsFor(mine, pairs - mine, step, j));
        const a = argsFor(0, mine, step, j);
        projectOn(a);
        updateOn(a);
        helper?.wait();
      },
    };
  }

  private static cached: DppWasm | null | undefined;

  /** The kernels, or null where WebAssembly SIMD is unavailable (callers then use the TypeScript loops). */
  static load(): DppWasm | null {
    if (DppWasm.cached === undefined) {
      try {
        const bodies = STORAGES.flatMap((storage) => [
          { name: `project_${storage}`, locals: [2, 3 + BLOCK - 1, I32, BLOCK, V128], code: projectCode(storage) },
          { name: `update_${storage}`, locals: [1, 3, V128], code: updateCode(storage) },
        ]);
        // Shared memory lets a helper thread run the same kernels on it; unshared where that is unavailable.
        let built;
        try {
          built = instantiateKernels<Kernel>(PARAMS, bodies, true);
        } catch {
          built = instantiateKernels<Kernel>(PARAMS, bodies);
        }
        const { mem, module, fns } = built;
        const kernels = Object.fromEntries(STORAGES.map((storage) => [storage, { project: fns[`project_${storage}`], update: fns[`update_${storage}`] }])) as Kernels;
        DppWasm.cached = new DppWasm(mem, module, kernels);
      } catch {
        DppWasm.cached = null;
      }
    }
    return DppWasm.cached;
  }
}
