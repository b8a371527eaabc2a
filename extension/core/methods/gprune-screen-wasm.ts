// G-Prune's int8 screen in WebAssembly SIMD. `quantize` turns float32 operand rows into int8 rows
// q = round(x·f), f = 127 / max|x| per row (plus the same bytes offset by 128, for onnxruntime's
// uint8 × int8 GEMM) and reports max|x|, f and Σ|x| per row. `screen` flags, per row of an int32 product
// block, whether any lane's upper bound on the cosine, (Q + a_i + b_j)·s_i·s_j, reaches the threshold.

import { addConst, countDown, F32, get, growTo, I32, i32Const, instantiateKernels, set, simd, V128, V128_ZERO, v128Load, v128Store } from '../numeric/wasm-module.ts';

const f32Load = (offset: number): number[] => [0x2a, 2, offset];
const f32Store = (offset: number): number[] => [0x38, 2, offset];
const f32Const = (v: number): number[] => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)];
const lane = (i: number): number[] => [...simd(0x1f), i];
const [F32X4_SPLAT, I32X4_SPLAT, I8X16_SPLAT, ANY_TRUE, OR, XOR, NARROW8, NARROW16, I32X4_SUB] = [0x13, 0x11, 0x0f, 0x53, 0x50, 0x51, 0x65, 0x85, 0xb1];
const [GE, ABS, ADD, MUL, MAX, CONVERT] = [0x46, 0xe0, 0xe4, 0xe6, 0xe9, 0xfa];
const [F32_MAX, F32_DIV, F32_GT, SELECT] = [0x97, 0x95, 0x5e, 0x1b];

const PARAMS = 7;

// quantize(src, rows, width, s8, u8, stats): rows of `width` floats (a multiple of 16) at byte offset src;
// stats gets (max|x|, f, Σ|x|) per row as float32.
function quantizeCode(): number[] {
  const [SRC, ROWS, WIDTH, S8, U8, STATS] = [0, 1, 2, 3, 4, 5];
  const [P, K, M, F, ACC, SUM, FV, OFFSET, MAGIC, MAGIC_BITS, F2, F3, F4] = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const abs = (offset: number): number[] => [...get(P), ...v128Load(2, offset), ...simd(ABS)];
  // round(x·f) via the float32 magic constant 1.5·2²³ (ties to even, exact for |x·f| < 2²²): the integer sits
  // in the sum's low mantissa bits, so subtracting the constant's bit pattern leaves it as an int32.
  const scaled = (offset: number): number[] => [...get(P), ...v128Load(2, offset), ...get(FV), ...simd(MUL), ...get(MAGIC), ...simd(ADD), ...get(MAGIC_BITS), ...simd(I32X4_SUB)];
  return [
    ...[0x41, 0x80, 0x7f], ...simd(I8X16_SPLAT), ...set(OFFSET), // splat(-128): flips the sign bit
    ...f32Const(12582912), ...simd(F32X4_SPLAT), ...set(MAGIC),
    ...i32Const(0x4b400000), ...simd(I32X4_SPLAT), ...set(MAGIC_BITS),
    ...[0x02, 0x40, ...get(ROWS), 0x45, 0x0d, 0],
    ...[0x03, 0x40], // loop rows
    // max|x| and Σ|x|
    ...V128_ZERO, ...set(ACC), ...V128_ZERO, ...set(SUM),
    // 16 floats per step, combined in a tree so the loop-carried chains are one max and one add long
    ...get(SRC), ...set(P), ...get(WIDTH), 0x41, 4, 0x76, ...set(K),
    ...[0x03, 0x40],
    ...abs(0), 0x22, FV, ...abs(16), 0x22, F2, ...simd(MAX), ...abs(32), 0x22, F3, ...abs(48), 0x22, F4, ...simd(MAX), ...simd(MAX),
    ...get(ACC), ...simd(MAX), ...set(ACC),
    ...get(FV), ...get(F2), ...simd(ADD), ...get(F3), ...get(F4), ...simd(ADD), ...simd(ADD),
    ...get(SUM), ...simd(ADD), ...set(SUM),
    ...addConst(P, 32), ...addConst(P, 32),
    ...countDown(K, 0),
    0x0b,
    ...get(ACC), ...lane(0), ...get(ACC), ...lane(1), F32_MAX, ...get(ACC), ...lane(2), ...get(ACC), ...lane(3), F32_MAX, F32_MAX, 0x21, M,
    // f = m > 0 ? 127 / m : 0 (NaN stays NaN in m; the caller rejects it)
    ...f32Const(127), ...get(M), F32_DIV, ...f32Const(0), ...get(M), ...f32Const(0), F32_GT, SELECT, 0x21, F,
    ...get(STATS), ...get(M), ...f32Store(0),
    ...get(STATS), ...get(F), ...f32Store(4),
    ...get(STATS), ...get(SUM), ...lane(0), ...get(SUM), ...lane(1), 0x92, ...get(SUM), ...lane(2), ...get(SUM), ...lane(3), 0x92, 0x92, ...f32Store(8),
    ...addConst(STATS, 12),
    // q = nearest(x·f), 16 at a time, narrowed with saturation (|x·f| ≤ 127 up to rounding)
    ...get(F), ...simd(F32X4_SPLAT), ...set(FV),
    ...get(SRC), ...set(P), ...get(WIDTH), 0x41, 4, 0x76, ...set(K),
    ...[0x03, 0x40],
    ...scaled(0), ...scaled(16), ...simd(NARROW16), ...scaled(32), ...scaled(48), ...simd(NARROW16), ...simd(NARROW8), ...set(ACC),
    ...get(S8), ...get(ACC), ...v128Store(0),
    ...get(U8), ...get(ACC), ...get(OFFSET), ...simd(XOR), ...v128Store(0),
    ...addConst(P, 32), ...addConst(P, 32), ...addConst(S8, 16), ...addConst(U8, 16),
    ...countDown(K, 0),
    0x0b,
    ...get(P), ...set(SRC),
    ...countDown(ROWS, 0),
    0x0b, 0x0b,
    0x0b,
  ];
}

// screen(c, rows, groups, cols, rowTerms, flags, thr): c is rows × 4·groups int32; cols holds a_i then s_i
// (4·groups float32 each); rowTerms holds (b_j, s_j) per row; flags gets one byte per row.
function screenCode(): number[] {
  const [C, ROWS, GROUPS, COLS, ROW_TERMS, FLAGS, THR] = [0, 1, 2, 3, 4, 5, 6];
  const [K, A, S, SCALE_AT, T, BJ, SJ, ACC] = [7, 8, 9, 10, 11, 12, 13, 14];
  return [
    ...get(THR), ...f32Load(0), ...simd(F32X4_SPLAT), ...set(T),
    ...get(COLS), ...get(GROUPS), 0x41, 4, 0x74, 0x6a, ...set(SCALE_AT),
    ...[0x02, 0x40, ...get(ROWS), 0x45, 0x0d, 0],
    ...[0x03, 0x40], // loop rows
    ...get(ROW_TERMS), ...f32Load(0), ...simd(F32X4_SPLAT), ...set(BJ),
    ...get(ROW_TERMS), ...f32Load(4), ...simd(F32X4_SPLAT), ...set(SJ),
    ...V128_ZERO, ...set(ACC),
    ...get(COLS), ...set(A), ...get(SCALE_AT), ...set(S), ...get(GROUPS), ...set(K),
    ...[0x03, 0x40],
    ...get(C), ...v128Load(2), ...simd(CONVERT), ...get(A), ...v128Load(2), ...simd(ADD), ...get(BJ), ...simd(ADD),
    ...get(S), ...v128Load(2), ...simd(MUL), ...get(SJ), ...simd(MUL), ...get(T), ...simd(GE),
    ...get(ACC), ...simd(OR), ...set(ACC),
    ...addConst(C, 16), ...addConst(A, 16), ...addConst(S, 16),
    ...countDown(K, 0),
    0x0b,
    ...get(FLAGS), ...get(ACC), ...simd(ANY_TRUE), 0x3a, 0, 0,
    ...addConst(FLAGS, 1), ...addConst(ROW_TERMS, 8),
    ...countDown(ROWS, 0),
    0x0b, 0x0b,
    0x0b,
  ];
}

type Kernel = (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => void;

/** Per-row quantisation statistics (float32 values as the kernel used them). */
export interface QuantStats {
  readonly max: Float32Array;
  /** 127 / max|x| (0 for a zero row). */
  readonly f: Float32Array;
  readonly absSum: Float32Array;
}

const align16 = (bytes: number): number => (bytes + 15) & ~15;

/** Kernel memory: quantised rows (int8 and uint8), then the screen's product block and per-row terms. */
export class Int8Screen {
  private constructor(
    private readonly mem: WebAssembly.Memory,
    private readonly quantizeFn: Kernel,
    private readonly screenFn: Kernel,
  ) {}

  private n = 0;
  private width = 0;
  private s8At = 0;
  private u8At = 0;
  private statsAt = 0;
  private stageAt = 0;
  private stageRows = 0;
  private blockAt = 0;
  private colsAt = 0;
  private rowTermsAt = 0;
  private flagsAt = 0;
  private thrAt = 0;

  /** Room for n rows padded to `width` (a multiple of 16) and product blocks of up to n × blockRows. */
  prepare(n: number, width: number, blockRows: number): void {
    this.n = n;
    this.width = width;
    this.stageRows = Math.max(1, Math.min(n, Math.floor((1 << 20) / width)));
    this.thrAt = 64;
    this.stageAt = 128;
    this.s8At = align16(this.stageAt + this.stageRows * width * 4);
    this.u8At = align16(this.s8At + n * width);
    this.statsAt = align16(this.u8At + n * width);
    this.blockAt = align16(this.statsAt + n * 12);
    this.colsAt = align16(this.blockAt + n * blockRows * 4);
    this.rowTermsAt = align16(this.colsAt + blockRows * 8);
    this.flagsAt = align16(this.rowTermsAt + n * 8);
    growTo(this.mem, this.flagsAt + n);
  }

  /** Quantises rows [0, n) of `data` (row width d ≤ width, zero-padded); null if a row is not finite. */
  quantize(data: Float32Array, d: number): QuantStats | null {
    const { n, width, mem } = this;
    for (let r0 = 0; r0 < n; r0 += this.stageRows) {
      const rows = Math.min(this.stageRows, n - r0);
      const stage = new Float32Array(mem.buffer, this.stageAt, rows * width);
      if (width === d) stage.set(data.subarray(r0 * d, (r0 + rows) * d));
      else {
        stage.fill(0);
        for (let r = 0; r < rows; r++) stage.set(data.subarray((r0 + r) * d, (r0 + r + 1) * d), r * width);
      }
      this.quantizeFn(this.stageAt, rows, width, this.s8At + r0 * width, this.u8At + r0 * width, this.statsAt + r0 * 12, 0);
    }
    const stats = new Float32Array(mem.buffer, this.statsAt, n * 3);
    const max = new Float32Array(n);
    const f = new Float32Array(n);
    const absSum = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      max[i] = stats[3 * i];
      f[i] = stats[3 * i + 1];
      absSum[i] = stats[3 * i + 2];
      if (!Number.isFinite(max[i]) || !Number.isFinite(absSum[i])) return null;
    }
    return { max, f, absSum };
  }

  /** Int8 rows [from, to) (the GEMM's transposed operand). */
  signedRows(from: number, to: number): Int8Array {
    return new Int8Array(this.mem.buffer, this.s8At + from * this.width, (to - from) * this.width);
  }

  /** Uint8 rows (q + 128) [from, to). */
  offsetRows(from: number, to: number): Uint8Array {
    return new Uint8Array(this.mem.buffer, this.u8At + from * this.width, (to - from) * this.width);
  }

  /** Where the product block (rows × cols int32) is written. */
  block(rows: number, cols: number): Int32Array {
    return new Int32Array(this.mem.buffer, this.blockAt, rows * cols);
  }

  /** Row terms (b_j, s_j) of every row, set once per graph. */
  setRowTerms(b: Float64Array, s: Float64Array): void {
    const t = new Float32Array(this.mem.buffer, this.rowTermsAt, 2 * this.n);
    for (let j = 0; j < this.n; j++) {
      t[2 * j] = b[j];
      t[2 * j + 1] = s[j];
    }
  }

  /**
   * flags[r] = 1 where row r (global row first + r) of the block has a lane with (Q + a_i + b_j)·s_i·s_j ≥ thr;
   * `a` and `s` hold the block's column terms (length a multiple of 4).
   */
  screen(rows: number, first: number, a: Float32Array, s: Float32Array, thr: number): Uint8Array {
    const cols = a.length;
    new Float32Array(this.mem.buffer, this.colsAt, cols).set(a);
    new Float32Array(this.mem.buffer, this.colsAt + cols * 4, cols).set(s);
    new Float32Array(this.mem.buffer, this.thrAt, 1)[0] = thr;
    this.screenFn(this.blockAt, rows, cols >> 2, this.colsAt, this.rowTermsAt + first * 8, this.flagsAt, this.thrAt);
    return new Uint8Array(this.mem.buffer, this.flagsAt, rows);
  }

  private static cached: Int8Screen | null | undefined;

  /** The kernels, or null where WebAssembly SIMD is unavailable. */
  static load(): Int8Screen | null {
    if (Int8Screen.cached === undefined) {
      try {
        const { mem, fns } = instantiateKernels<Kernel>(PARAMS, [
          { name: 'quantize', locals: [3, 2, I32, 2, F32, 9, V128], code: quantizeCode() },
          { name: 'screen', locals: [2, 4, I32, 4, V128], code: screenCode() },
        ]);
        Int8Screen.cached = new Int8Screen(mem, fns.quantize, fns.screen);
      } catch {
        Int8Screen.cached = null;
      }
    }
    return Int8Screen.cached;
  }
}
