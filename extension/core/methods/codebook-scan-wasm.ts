// Column scans of the codebook's float32 product ĉ·xᵀ [P, L] in WebAssembly SIMD (four tokens per lane
// group): each token's max over prototypes, then how many prototypes reach its contender floor and the last
// that did. onnxruntime writes the product straight into this module's memory.

import { addConst, countDown, get, growTo, I32, instantiateKernels, set, SIMD, V128, v128Load, v128Store } from '../numeric/wasm-module.ts';

const load = v128Load(2);
const store = v128Store(2);
const f32x4Max = [SIMD, 0xe9, 0x01];
const f32x4Ge = [SIMD, 0x46];
const i32x4Sub = [SIMD, 0xb1, 0x01];
const i32x4Splat = [SIMD, 0x11];
const bitselect = [SIMD, 0x52];

// Parameters of both: prod, rows, vecs, stride (bytes between rows), out. Callers pass rows, vecs ≥ 1.
const [PROD, ROWS, VECS, STRIDE, OUT] = [0, 1, 2, 3, 4];

/** colmax: out[g] = max(out[g], row[g]) over every row, for `vecs` groups of four floats. */
function colMax(): number[] {
  const [I, SRC, O] = [5, 6, 7];
  return [
    ...[0x03, 0x40], // loop rows
    ...get(VECS), ...set(I), ...get(PROD), ...set(SRC), ...get(OUT), ...set(O),
    ...[0x03, 0x40], // loop groups
    ...get(O), ...get(O), ...load, ...get(SRC), ...load, ...f32x4Max, ...store,
    ...addConst(SRC, 16), ...addConst(O, 16),
    ...countDown(I, 0),
    0x0b,
    ...get(PROD), ...get(STRIDE), 0x6a, ...set(PROD),
    ...countDown(ROWS, 0),
    0x0b,
    0x0b,
  ];
}

/**
 * colcount: with floor at out, count at out + 16·vecs and last at out + 32·vecs: for every row p and float
 * g with row[g] ≥ floor[g], count[g] += 1 and last[g] = p.
 */
function colCount(): number[] {
  const [I, SRC, F, P, SPAN, PV, MASK] = [5, 6, 7, 8, 9, 10, 11];
  return [
    ...get(VECS), 0x41, 4, 0x74, ...set(SPAN), // span = vecs · 16 bytes
    ...[0x41, 0], ...set(P),
    ...[0x03, 0x40], // loop rows
    ...get(P), ...i32x4Splat, ...set(PV),
    ...get(VECS), ...set(I), ...get(PROD), ...set(SRC), ...get(OUT), ...set(F),
    ...[0x03, 0x40], // loop groups
    ...get(SRC), ...load, ...get(F), ...load, ...f32x4Ge, ...set(MASK),
    ...get(F), ...get(SPAN), 0x6a, // &count[g]
    ...get(F), ...get(SPAN), 0x6a, ...load, ...get(MASK), ...i32x4Sub, ...store,
    ...get(F), ...get(SPAN), 0x6a, ...get(SPAN), 0x6a, // &last[g]
    ...get(PV), ...get(F), ...get(SPAN), 0x6a, ...get(SPAN), 0x6a, ...load, ...get(MASK), ...bitselect, ...store,
    ...addConst(SRC, 16), ...addConst(F, 16),
    ...countDown(I, 0),
    0x0b,
    ...get(PROD), ...get(STRIDE), 0x6a, ...set(PROD),
    ...addConst(P, 1),
    ...get(ROWS), ...get(P), 0x47, 0x0d, 0, // br_if rows != p
    0x0b,
    0x0b,
  ];
}

/** top[i] = max(top[i], max_p prod[p, i]) for columns from..cols − 1 (the scalar form of colmax). */
export function columnMaxima(prod: Float32Array, rows: number, cols: number, from: number, top: Float32Array): void {
  for (let p = 0; p < rows; p++) {
    const o = p * cols;
    for (let i = from; i < cols; i++) if (prod[o + i] > top[i]) top[i] = prod[o + i];
  }
}

/** The scalar form of colcount for columns from..cols − 1 (count and last start at 0). */
export function columnContenders(prod: Float32Array, rows: number, cols: number, floor: Float32Array, from: number, count: Int32Array, last: Int32Array): void {
  for (let p = 0; p < rows; p++) {
    const o = p * cols;
    for (let i = from; i < cols; i++) {
      if (prod[o + i] >= floor[i]) {
        count[i]++;
        last[i] = p;
      }
    }
  }
}

type Scan = (prod: number, rows: number, vecs: number, stride: number, out: number) => void;

/** Per-token results of the two scans (length L each). */
export interface ColumnScan {
  readonly top: Float32Array;
  readonly count: Int32Array;
  readonly last: Int32Array;
}

/** The product buffer and both scans, in one WebAssembly memory reused across runs. */
export class CodebookScan {
  private constructor(
    private readonly mem: WebAssembly.Memory,
    private readonly colmax: Scan,
    private readonly colcount: Scan,
  ) {}

  private static readonly PROD_AT = 64;
  private rows = 0;
  private cols = 0;

  /** A [rows, cols] float32 view for the product (valid until the next call). */
  product(rows: number, cols: number): Float32Array {
    this.rows = rows;
    this.cols = cols;
    const groups = cols >> 2;
    growTo(this.mem, this.metaAt() + 3 * 16 * groups);
    return new Float32Array(this.mem.buffer, CodebookScan.PROD_AT, rows * cols);
  }

  private metaAt(): number {
    return (CodebookScan.PROD_AT + this.rows * this.cols * 4 + 15) & ~15;
  }

  /** Column maxima of the product last handed out. */
  maxima(): Float32Array {
    const { rows, cols } = this;
    const groups = cols >> 2;
    const at = this.metaAt();
    const top = new Float32Array(cols).fill(-Infinity);
    const prod = new Float32Array(this.mem.buffer, CodebookScan.PROD_AT, rows * cols);
    if (groups > 0) {
      const head = new Float32Array(this.mem.buffer, at, groups * 4);
      head.fill(-Infinity);
      this.colmax(CodebookScan.PROD_AT, rows, groups, cols * 4, at);
      top.set(head);
    }
    columnMaxima(prod, rows, cols, groups * 4, top);
    return top;
  }

  /** Per column: how many rows reach floor (float32) and the last of them. */
  contenders(floor: Float32Array): { count: Int32Array; last: Int32Array } {
    const { rows, cols } = this;
    const groups = cols >> 2;
    const at = this.metaAt();
    const count = new Int32Array(cols);
    const last = new Int32Array(cols);
    const prod = new Float32Array(this.mem.buffer, CodebookScan.PROD_AT, rows * cols);
    if (groups > 0) {
      new Float32Array(this.mem.buffer, at, groups * 4).set(floor.subarray(0, groups * 4));
      new Int32Array(this.mem.buffer, at + 16 * groups, groups * 8).fill(0);
      this.colcount(CodebookScan.PROD_AT, rows, groups, cols * 4, at);
      count.set(new Int32Array(this.mem.buffer, at + 16 * groups, groups * 4));
      last.set(new Int32Array(this.mem.buffer, at + 32 * groups, groups * 4));
    }
    columnContenders(prod, rows, cols, floor, groups * 4, count, last);
    return { count, last };
  }

  private static cached: CodebookScan | null | undefined;

  /** The scans, or null where WebAssembly SIMD is unavailable. */
  static load(): CodebookScan | null {
    if (CodebookScan.cached === undefined) {
      try {
        const { mem, fns } = instantiateKernels<Scan>(5, [
          { name: 'colmax', locals: [1, 3, I32], code: colMax() },
          { name: 'colcount', locals: [2, 5, I32, 2, V128], code: colCount() },
        ]);
        CodebookScan.cached = new CodebookScan(mem, fns.colmax, fns.colcount);
      } catch {
        CodebookScan.cached = null;
      }
    }
    return CodebookScan.cached;
  }
}
