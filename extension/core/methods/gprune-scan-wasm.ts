// G-Prune's threshold scan over a float32 staircase block in WebAssembly SIMD: per row, the groups of four
// entries that hold at least one value not below the row's threshold (NaN included). Most of the Gram lies
// far below θ, so TypeScript then visits only these groups. onnxruntime writes each block straight into
// this module's memory.

import { addConst, countDown, get, growTo, I32, instantiateKernels, set, SIMD, V128, v128Load } from '../numeric/wasm-module.ts';

// groups(data, rows, cols, thr, out): out[0] = count, out[1..] = byte offsets of the candidate groups, row by
// row; each row holds ⌊cols/4⌋ groups from its first entry (the caller checks the rest).
const [DATA, ROWS, COLS, THR, OUT] = [0, 1, 2, 3, 4];
const [R, K, P, CNT, ROWBYTES, T] = [5, 6, 7, 8, 9, 10];

function groupsCode(): number[] {
  return [
    ...get(COLS), 0x41, 2, 0x74, ...set(ROWBYTES),
    ...[0x41, 0], ...set(CNT),
    ...[0x41, 0], ...set(R),
    ...[0x02, 0x40, ...get(ROWS), 0x45, 0x0d, 0], // block; rows == 0: done
    ...[0x02, 0x40, ...get(COLS), 0x41, 2, 0x76, 0x45, 0x0d, 0], // block; no whole group: done
    ...[0x03, 0x40], // loop rows
    ...get(THR), ...get(R), 0x41, 2, 0x74, 0x6a, 0x2a, 2, 0, SIMD, 0x13, ...set(T), // T = splat(thr[r])
    ...get(DATA), ...get(R), ...get(ROWBYTES), 0x6c, 0x6a, ...set(P),
    ...get(COLS), 0x41, 2, 0x76, ...set(K),
    ...[0x03, 0x40], // loop groups
    // any lane not below T: bitmask(lt) != 0b1111
    ...get(P), ...v128Load(2), ...get(T), SIMD, 0x43, SIMD, 0xa4, 0x01, 0x41, 15, 0x47,
    ...[0x04, 0x40], // if
    ...get(OUT), ...get(CNT), 0x41, 2, 0x74, 0x6a, ...get(P), 0x36, 2, 4, // out[1 + cnt] = p
    ...addConst(CNT, 1),
    0x0b,
    ...addConst(P, 16),
    ...countDown(K, 0),
    0x0b,
    ...addConst(R, 1),
    ...get(R), ...get(ROWS), 0x47, 0x0d, 0,
    0x0b,
    0x0b, 0x0b,
    ...get(OUT), ...get(CNT), 0x36, 2, 0,
    0x0b,
  ];
}

type Groups = (data: number, rows: number, cols: number, thr: number, out: number) => void;

export class ThresholdScan {
  private constructor(
    private readonly mem: WebAssembly.Memory,
    private readonly fn: Groups,
  ) {}

  private static readonly DATA_AT = 64;
  private thrAt = 0;
  private outAt = 0;

  /** Room for blocks of up to rows × n floats; the returned view is where the GEMM writes each block. */
  prepare(rows: number, n: number): Float32Array {
    const dataBytes = rows * n * 4;
    this.thrAt = (ThresholdScan.DATA_AT + dataBytes + 15) & ~15;
    this.outAt = (this.thrAt + rows * 4 + 15) & ~15;
    growTo(this.mem, this.outAt + 4 * (1 + rows * Math.ceil(n / 4)));
    return new Float32Array(this.mem.buffer, ThresholdScan.DATA_AT, rows * n);
  }

  /**
   * Element offsets (into the block) of the first entry of every candidate group of a rows × cols block that
   * starts `at` floats into the prepared view, rows in order; thresholds per row, as float32 (callers round
   * them down). The list is overwritten by the next call.
   */
  groups(rows: number, cols: number, thr: Float32Array, at = 0): Int32Array {
    new Float32Array(this.mem.buffer, this.thrAt, rows).set(thr.subarray(0, rows));
    const base = ThresholdScan.DATA_AT + at * 4;
    this.fn(base, rows, cols, this.thrAt, this.outAt);
    const out = new Int32Array(this.mem.buffer, this.outAt);
    const list = out.subarray(1, 1 + out[0]);
    for (let q = 0; q < list.length; q++) list[q] = (list[q] - base) >> 2;
    return list;
  }

  private static cached: ThresholdScan | null | undefined;

  /** The scan, or null where WebAssembly SIMD is unavailable. */
  static load(): ThresholdScan | null {
    if (ThresholdScan.cached === undefined) {
      try {
        const { mem, fns } = instantiateKernels<Groups>(5, [{ name: 'groups', locals: [2, 5, I32, 1, V128], code: groupsCode() }]);
        ThresholdScan.cached = new ThresholdScan(mem, fns.groups);
      } catch {
        ThresholdScan.cached = null;
      }
    }
    return ThresholdScan.cached;
  }
}
