// G-Prune's edge scan of an unscreened float32 staircase block in one WebAssembly pass: per row, the SIMD
// test of each group of four against the row's float32 threshold, then, in the groups that pass (and the
// last < 4 columns), the per-entry test of scanRangeF32 in its float64 operations. Entries that are clearly
// edges come out with their value; entries within the float32 error of a decision come out marked, for
// TypeScript to settle in float64. onnxruntime writes each block straight into this module's memory.
//
// edges(data, rows, cols, i0, j0, thr, floor, pi, post, band, outCol, outVal, rowEnd), byte offsets:
//   row r (global i = i0 + r) holds cols float32 values from data + r·cols·4 (column c is global j0 + c);
//   thr[r] float32 (SIMD pre-test), floor[r] and pi[r] float64, post[j] float64 (global j),
//   band = [lo, hi, maskBand] float64, then (out) the number of entries to settle as int32;
//   outCol[q] = j for an edge with value outVal[q], or −j − 1 for an entry to settle;
//   rowEnd[r] = entries written after row r.
// Only columns j > i are scanned.

import { addConst, BLOCK, BR, BR_IF, END, F64, get, growTo, I32, i32Const, IF, instantiateKernels, type KernelBody, LOOP, SELECT, set, SIMD, tee, V128, v128Load } from '../numeric/wasm-module.ts';

const PARAMS = ['data', 'rows', 'cols', 'i0', 'j0', 'thr', 'floor', 'pi', 'post', 'band', 'outCol', 'outVal', 'rowEnd'] as const;
const [DATA, ROWS, COLS, I0, J0, THR, FLOOR, PI, POST, BAND, OUT_COL, OUT_VAL, ROW_END] = PARAMS.map((_, i) => i);
const L = PARAMS.length;
// i32 locals, then f64, then v128.
const [R, C, C0, WHOLE, ROW, CNT, J, Q, FLAG, SETTLE] = [L, L + 1, L + 2, L + 3, L + 4, L + 5, L + 6, L + 7, L + 8, L + 9];
const [LO, HI, MB, GLO, PIV, V] = [L + 10, L + 11, L + 12, L + 13, L + 14, L + 15];
const T = L + 16;
const LOCALS = [3, 10, I32, 6, F64, 1, V128];

const [I_ADD, I_SUB, I_MUL, I_SHL, I_AND, I_GE_S, I_NE, I_EQZ] = [0x6a, 0x6b, 0x6c, 0x74, 0x71, 0x4e, 0x47, 0x45];
const [F_LT, F_GE, F_ABS, F_MUL, F_PROMOTE] = [0x63, 0x66, 0x99, 0xa2, 0xbb];
const f64At = (offset: number): number[] => [0x2b, 3, offset];

/** scanRangeF32's test of local column `col` of the current row: skip, emit (j, v), or emit −j − 1. */
function entry(col: number): number[] {
  return [
    ...BLOCK,
    // g = float32 entry widened; g < floor: no edge
    ...get(ROW), ...get(col), ...i32Const(2), I_SHL, I_ADD, 0x2a, 2, 0, F_PROMOTE, ...tee(V),
    ...get(GLO), F_LT, BR_IF, 0,
    // v = g·pi·post[j]; v < lo: no edge
    ...get(J0), ...get(col), I_ADD, ...set(J),
    ...get(V), ...get(PIV), F_MUL, ...get(POST), ...get(J), ...i32Const(3), I_SHL, I_ADD, ...f64At(0), F_MUL, ...tee(V),
    ...get(LO), F_LT, BR_IF, 0,
    // outCol[cnt] = v ≥ hi && |v| ≥ maskBand ? j : −j − 1 (and one more to settle); outVal[cnt] = v
    ...get(V), ...get(HI), F_GE, ...get(V), F_ABS, ...get(MB), F_GE, I_AND, ...set(FLAG),
    ...get(SETTLE), ...get(FLAG), I_EQZ, I_ADD, ...set(SETTLE),
    ...get(OUT_COL), ...get(CNT), ...i32Const(2), I_SHL, I_ADD,
    ...get(J), ...i32Const(-1), ...get(J), I_SUB, ...get(FLAG),
    SELECT,
    0x36, 2, 0,
    ...get(OUT_VAL), ...get(CNT), ...i32Const(3), I_SHL, I_ADD, ...get(V), 0x39, 3, 0,
    ...addConst(CNT, 1),
    END,
  ];
}

function edgesCode(): number[] {
  const lane = (q: number): number[] => [
    // columns left of the row's first (j ≤ i) are skipped
    ...get(C), ...i32Const(q), I_ADD, ...tee(Q), ...get(C0), I_GE_S, ...IF, ...entry(Q), END,
  ];
  const row = [
    ...get(DATA), ...get(R), ...get(COLS), I_MUL, ...i32Const(2), I_SHL, I_ADD, ...set(ROW),
    ...get(FLOOR), ...get(R), ...i32Const(3), I_SHL, I_ADD, ...f64At(0), ...set(GLO),
    ...get(PI), ...get(R), ...i32Const(3), I_SHL, I_ADD, ...f64At(0), ...set(PIV),
    ...get(THR), ...get(R), ...i32Const(2), I_SHL, I_ADD, 0x2a, 2, 0, SIMD, 0x13, ...set(T),
    // c0 = max(0, i0 + r + 1 − j0): the first column with j > i
    ...get(I0), ...get(R), I_ADD, ...i32Const(1), I_ADD, ...get(J0), I_SUB, ...tee(C0), ...i32Const(0), ...get(C0), ...i32Const(0), I_GE_S, SELECT, ...set(C0),
    // groups of four from the one holding c0
    ...get(C0), ...i32Const(-4), I_AND, ...set(C),
    ...BLOCK, ...LOOP,
    ...get(C), ...get(WHOLE), I_GE_S, BR_IF, 1,
    // any lane not below thr: bitmask(lt) != 0b1111
    ...get(ROW), ...get(C), ...i32Const(2), I_SHL, I_ADD, ...v128Load(2), ...get(T), SIMD, 0x43, SIMD, 0xa4, 0x01, ...i32Const(15), I_NE,
    ...IF, ...lane(0), ...lane(1), ...lane(2), ...lane(3), END,
    ...addConst(C, 4),
    BR, 0,
    END, END,
    // the last cols mod 4 columns, each tested
    ...get(C0), ...get(WHOLE), ...get(C0), ...get(WHOLE), I_GE_S, SELECT, ...set(C),
    ...BLOCK, ...LOOP,
    ...get(C), ...get(COLS), I_GE_S, BR_IF, 1,
    ...entry(C),
    ...addConst(C, 1),
    BR, 0,
    END, END,
    ...get(ROW_END), ...get(R), ...i32Const(2), I_SHL, I_ADD, ...get(CNT), 0x36, 2, 0,
  ];
  return [
    ...get(BAND), ...f64At(0), ...set(LO),
    ...get(BAND), ...f64At(8), ...set(HI),
    ...get(BAND), ...f64At(16), ...set(MB),
    ...get(COLS), ...i32Const(-4), I_AND, ...set(WHOLE),
    ...i32Const(0), ...set(CNT),
    ...i32Const(0), ...set(SETTLE),
    ...i32Const(0), ...set(R),
    ...BLOCK, ...get(ROWS), I_EQZ, BR_IF, 0,
    ...LOOP,
    ...row,
    ...addConst(R, 1),
    ...get(R), ...get(ROWS), I_NE, BR_IF, 0,
    END, END,
    // band[3] (as int32) = entries to settle
    ...get(BAND), ...get(SETTLE), 0x36, 2, 24,
    END,
  ];
}

type EdgesFn = (...layout: number[]) => void;

export const edgeScanKnobs = {
  /** False: the two-pass scan (SIMD group list, then TypeScript) runs instead (tests). */
  enabled: true,
  /** Entries one call may write at most (rows are scanned in chunks that cannot overflow it): 3 MB of output. */
  capacity: 1 << 18,
};

/** One chunk's output: per row the end of its entries; columns (−j − 1: settle j in float64) and values. */
export interface EdgeChunk {
  /** How many entries are marked to settle (0: every entry is an edge as written). */
  readonly settle: number;
  readonly rowEnd: Int32Array;
  readonly col: Int32Array;
  readonly val: Float64Array;
}

export class EdgeScan {
  private constructor(
    private readonly mem: WebAssembly.Memory,
    private readonly fn: EdgesFn,
  ) {}

  private static readonly DATA_AT = 64;
  private blockRows = 0;
  private n = 0;
  private capacity = 0;
  private at = { thr: 0, floor: 0, pi: 0, post: 0, band: 0, outCol: 0, outVal: 0, rowEnd: 0 };

  /**
   * Room for blocks of up to rows × n floats (the returned view is where the GEMM writes each block) and
   * for the per-column scale `post` (n float64s, copied in) and the decision band.
   */
  prepare(rows: number, n: number, post: Float64Array, band: { lo: number; hi: number; maskBand: number }): Float32Array {
    let end = EdgeScan.DATA_AT + rows * n * 4;
    const take = (bytes: number): number => {
      const start = (end + 15) & ~15;
      end = start + bytes;
      return start;
    };
    // At least one whole row per call.
    this.capacity = Math.max(n, edgeScanKnobs.capacity);
    this.at = { thr: take(4 * rows), floor: take(8 * rows), pi: take(8 * rows), post: take(8 * n), band: take(32), rowEnd: take(4 * rows), outCol: take(4 * this.capacity), outVal: take(8 * this.capacity) };
    growTo(this.mem, end);
    this.blockRows = rows;
    this.n = n;
    const buf = this.mem.buffer;
    new Float64Array(buf, this.at.post, n).set(post.subarray(0, n));
    new Float64Array(buf, this.at.band, 3).set([band.lo, band.hi, band.maskBand]);
    return new Float32Array(buf, EdgeScan.DATA_AT, rows * n);
  }

  /** Rows per call so that a chunk of `cols`-wide rows cannot write more than the output holds. */
  chunkRows(cols: number): number {
    return Math.max(1, Math.min(this.blockRows, Math.floor(this.capacity / Math.max(1, cols))));
  }

  /**
   * Rows [r0, r0 + rows) of the block at the start of the prepared view (cols wide; global row i0 + r, global
   * column i0 + c, as the staircase lays them out), with per-row thresholds, floors and scales for those rows.
   */
  scan(r0: number, rows: number, cols: number, i0: number, thr: Float32Array, floor: Float64Array, pi: Float64Array): EdgeChunk {
    if (r0 + rows > this.blockRows || i0 + cols > this.n) throw new Error('EdgeScan.scan: chunk outside the prepared block');
    const buf = this.mem.buffer;
    const a = this.at;
    new Float32Array(buf, a.thr, rows).set(thr.subarray(0, rows));
    new Float64Array(buf, a.floor, rows).set(floor.subarray(0, rows));
    new Float64Array(buf, a.pi, rows).set(pi.subarray(0, rows));
    this.fn(EdgeScan.DATA_AT + r0 * cols * 4, rows, cols, i0 + r0, i0, a.thr, a.floor, a.pi, a.post, a.band, a.outCol, a.outVal, a.rowEnd);
    const rowEnd = new Int32Array(buf, a.rowEnd, rows);
    const count = rows > 0 ? rowEnd[rows - 1] : 0;
    return { settle: new Int32Array(buf, a.band + 24, 1)[0], rowEnd, col: new Int32Array(buf, a.outCol, count), val: new Float64Array(buf, a.outVal, count) };
  }

  private static cached: EdgeScan | null | undefined;

  /** The scan, or null where WebAssembly SIMD is unavailable. */
  static load(): EdgeScan | null {
    if (!edgeScanKnobs.enabled) return null;
    if (EdgeScan.cached === undefined) {
      try {
        const body: KernelBody = { name: 'edges', locals: LOCALS, code: edgesCode() };
        const { mem, fns } = instantiateKernels<EdgesFn>(L, [body]);
        EdgeScan.cached = new EdgeScan(mem, fns.edges);
      } catch {
        EdgeScan.cached = null;
      }
    }
    return EdgeScan.cached;
  }
}
