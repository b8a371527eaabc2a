import type { Matrix } from '../bundle/tensor.ts';
import { type FloatArray, type KernelPlan, gemmNT, tsGemmNT } from './gemm.ts';
import { scratchF32 } from './scratch.ts';
import { unitRowsToF32Simd } from './demote-wasm.ts';
import { rowOpsFor } from './row-ops-wasm.ts';
import { rowSumSquaresSimd } from './sumsq-wasm.ts';

/** Rows `idx` of m copied into a new float64 matrix (group sub-sets for per-group methods). */
export function gatherRows(m: Matrix, idx: readonly number[]): Matrix {
  const d = m.cols;
  const out = new Float64Array(idx.length * d);
  idx.forEach((r, i) => {
    for (let k = 0; k < d; k++) out[i * d + k] = m.data[r * d + k];
  });
  return { rows: idx.length, cols: d, data: out };
}

/**
 * Rows of a (subset of a) matrix prepared as the operand of a cosine GEMM. The product of two operand rows,
 * times post[i]·post[j], is x̂_i·x̂_j. Float32 sources are used as they are (raw rows, post = 1/‖x‖: no
 * normalised copy and no extra rounding); other sources are copied as unit rows (post = 1). `exactDot`
 * gives the float64 value with the unit values of `normalizeRows`.
 */
export interface CosineRows {
  readonly n: number;
  readonly d: number;
  /** ‖x_i‖₂ of the raw rows. */
  readonly norms: Float64Array;
  /** 1 / max(‖x_i‖, eps). */
  readonly inv: Float64Array;
  /** x̂_i·x̂_i in float64 (1 up to rounding; 0 for a zero row). */
  readonly self: Float64Array;
  /** Row multiplier turning an operand product into a cosine. */
  readonly post: Float64Array;
  /** Operand rows, row-major, float32 or float64 per the plan. */
  readonly data: FloatArray;
  /** Source matrix and the source row of each operand row. */
  readonly src: Matrix;
  readonly rows: Int32Array;
}

/** Norms in this range keep raw float32 rows (their products neither overflow nor underflow). */
const RAW_MIN = 1e-12;
const RAW_MAX = 1e12;

/** Below this many floats the copy into WebAssembly memory costs more than the SIMD sums save. */
const SIMD_MIN_FLOATS = 1 << 15;

export function cosineRows(m: Matrix, rows: readonly number[] | null, plan: KernelPlan, eps = 1e-12, scratchKey = 'cos.rows'): CosineRows {
  const d = m.cols;
  const n = rows ? rows.length : m.rows;
  const idx = rows ? Int32Array.from(rows) : identity(n);
  // A contiguous run of rows needs no copy: its operand is a view.
  const first = n > 0 ? idx[0] : 0;
  let contiguous = true;
  for (let i = 0; i < n && contiguous; i++) if (idx[i] !== first + i) contiguous = false;
  const x = m.data;
  const norms = new Float64Array(n);
  const inv = new Float64Array(n);
  const self = new Float64Array(n);
  const f32 = plan.precision === 'f32';
  const unitStats = (i: number, sq: number): number => {
    const nrm = Math.sqrt(sq);
    norms[i] = nrm;
    const f = 1 / Math.max(nrm, eps);
    inv[i] = f;
    self[i] = sq * f * f;
    return f;
  };
  // Float64 rows into float32 operands (ToMe's merged state): sums and scaling from one staged copy.
  if (f32 && x instanceof Float64Array && n * d >= SIMD_MIN_FLOATS) {
    const data = scratchF32(scratchKey, n * d);
    if (unitRowsToF32Simd(x, idx, d, unitStats, data)) return { n, d, norms, inv, self, post: new Float64Array(n).fill(1), data, src: m, rows: idx };
  }
  // Sums of squares into `self` first (SIMD when it pays: the same sums, bit for bit), then the unit scales.
  if (!(n * d >= SIMD_MIN_FLOATS && rowSumSquaresSimd(x, idx, d, self))) {
    for (let i = 0; i < n; i++) self[i] = rowSumSquares(x, idx[i] * d, d);
  }
  let rawOk = true;
  for (let i = 0; i < n; i++) {
    unitStats(i, self[i]);
    if (!(norms[i] >= RAW_MIN && norms[i] <= RAW_MAX)) rawOk = false;
  }
  const raw = rawOk && (f32 ? x instanceof Float32Array : x instanceof Float64Array);
  const post = raw ? inv : new Float64Array(n).fill(1);
  let data: FloatArray;
  if (raw && contiguous) data = x.subarray(first * d, (first + n) * d);
  else {
    data = f32 ? scratchF32(scratchKey, n * d) : new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const base = idx[i] * d;
      const o = i * d;
      if (raw) data.set(x.subarray(base, base + d), o);
      else {
        const f = inv[i];
        for (let k = 0; k < d; k++) data[o + k] = x[base + k] * f;
      }
    }
  }
  return { n, d, norms, inv, self, post, data, src: m, rows: idx };
}

function identity(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/**
 * Σ x_k² of one row with four partial sums (hides the add latency). One copy per array type, so each
 * copy's element loads stay monomorphic (a mixed-type call site ran ≈ 2× slower); the arithmetic is the same.
 */
function rowSumSq32(x: Float32Array, base: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const end = base + (d & ~3);
  let k = base;
  for (; k < end; k += 4) {
    const a = x[k];
    const b = x[k + 1];
    const c = x[k + 2];
    const e = x[k + 3];
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += e * e;
  }
  for (; k < base + d; k++) s0 += x[k] * x[k];
  return s0 + s1 + (s2 + s3);
}

function rowSumSq64(x: Float64Array, base: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const end = base + (d & ~3);
  let k = base;
  for (; k < end; k += 4) {
    const a = x[k];
    const b = x[k + 1];
    const c = x[k + 2];
    const e = x[k + 3];
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += e * e;
  }
  for (; k < base + d; k++) s0 += x[k] * x[k];
  return s0 + s1 + (s2 + s3);
}

/** Σ x_k² over x[base, base + d) in float64, four partial sums (the order every row norm here uses). */
export function rowSumSquares(x: Float32Array | Float64Array, base: number, d: number): number {
  return x instanceof Float32Array ? rowSumSq32(x, base, d) : rowSumSq64(x, base, d);
}

/** x̂_i · x̂_j in float64 from the source rows (same unit values as normalizeRows). */
export function exactDot(u: CosineRows, i: number, j: number): number {
  const x = u.src.data;
  const d = u.d;
  const a = u.rows[i] * d;
  const b = u.rows[j] * d;
  const fa = u.inv[i];
  const fb = u.inv[j];
  let s0 = 0;
  let s1 = 0;
  const d2 = d & ~1;
  let k = 0;
  for (; k < d2; k += 2) {
    s0 += x[a + k] * fa * (x[b + k] * fb);
    s1 += x[a + k + 1] * fa * (x[b + k + 1] * fb);
  }
  if (k < d) s0 += x[a + k] * fa * (x[b + k] * fb);
  return s0 + s1;
}

/** x̂_i · ŷ_j in float64 for rows of two operands of the same width. */
export function exactCross(u: CosineRows, i: number, v: CosineRows, j: number): number {
  const x = u.src.data;
  const y = v.src.data;
  const a = u.rows[i] * u.d;
  const b = v.rows[j] * u.d;
  // Float64 sources (merged or gathered rows) in WebAssembly SIMD: the same two sums.
  if (x instanceof Float64Array && y instanceof Float64Array) {
    const ops = rowOpsFor(u.d);
    if (ops) return ops.scaledDot(x, a, u.inv[i], y, b, v.inv[j]);
  }
  return scaledDot(x, a, u.inv[i], y, b, v.inv[j], u.d);
}

/** Σ_k (x[a+k]·fa)·(y[b+k]·fb) with two partial sums (even and odd k), added at the end. */
function scaledDot(x: FloatArray, a: number, fa: number, y: FloatArray, b: number, fb: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  const d2 = d & ~1;
  let k = 0;
  for (; k < d2; k += 2) {
    s0 += x[a + k] * fa * (y[b + k] * fb);
    s1 += x[a + k + 1] * fa * (y[b + k + 1] * fb);
  }
  if (k < d) s0 += x[a + k] * fa * (y[b + k] * fb);
  return s0 + s1;
}

/**
 * Cosines of every row of `u` with every row of `v` ([u.n × v.n], float64 values of the plan's product).
 * `f64Out` receives them; the float32 product goes through a scratch buffer.
 */
export function crossCosines(u: CosineRows, v: CosineRows, plan: KernelPlan, scratchKey = 'cross'): Float64Array {
  const m = u.n;
  const n = v.n;
  const out = new Float64Array(m * n);
  const prod = u.data instanceof Float32Array ? scratchF32(scratchKey, m * n) : out;
  gemmNT(plan, u.data, m, v.data as typeof u.data, n, u.d, prod);
  for (let i = 0; i < m; i++) {
    const pi = u.post[i];
    const o = i * n;
    for (let j = 0; j < n; j++) out[o + j] = prod[o + j] * (pi * v.post[j]);
  }
  return out;
}

/**
 * For every row of u, the row of v with the largest cosine (first maximum) and that cosine, computed in
 * row blocks (no u.n × v.n matrix). With a float32 product, rows whose runner-up lies within 2ε are settled
 * in float64 (`exact`), and every returned maximum is a float64 dot, so rankings built on it are float64 rankings.
 */
export function crossArgmax(u: CosineRows, v: CosineRows, plan: KernelPlan, eps: number, opts: CrossArgmaxOptions = {}): { arg: Int32Array; max: Float64Array } {
  const exact = opts.exact ?? exactCross;
  const m = u.n;
  const n = v.n;
  const d = u.d;
  const arg = new Int32Array(m);
  const max = new Float64Array(m).fill(-Infinity);
  if (n === 0) return { arg, max };
  const blockRows = Math.max(1, Math.min(m, Math.floor((8 << 20) / n)));
  const f32 = u.data instanceof Float32Array;
  const buf = f32 ? (opts.scanner?.buffer(blockRows * n) ?? scratchF32('cross.argmax', blockRows * n)) : new Float64Array(blockRows * n);
  const vp = v.post;
  for (let i0 = 0; i0 < m; i0 += blockRows) {
    const rows = Math.min(blockRows, m - i0);
    const out = buf.subarray(0, rows * n);
    gemmNT(plan, u.data.subarray(i0 * d, (i0 + rows) * d), rows, v.data as typeof u.data, n, d, out);
    const scan = scratchRows(rows);
    if (out instanceof Float32Array && opts.scanner) opts.scanner.scan(out, rows, n, u.post, i0, vp, scan);
    else scanRows(out, rows, n, u.post, i0, vp, scan);
    for (let r = 0; r < rows; r++) {
      const i = i0 + r;
      const pi = u.post[i];
      const o = r * n;
      let best = scan.best[r];
      let top = scan.top[r];
      const second = scan.second[r];
      if (eps > 0) {
        if (second >= top - 2 * eps) {
          // Near-tied: the float64 argmax among the contenders, first maximum in column order.
          let exactTop = -Infinity;
          for (let j = 0; j < n; j++) {
            if (!(out[o + j] * (pi * vp[j]) >= top - 2 * eps)) continue;
            const e = exact(u, i, v, j);
            if (e > exactTop) {
              exactTop = e;
              best = j;
            }
          }
          top = exactTop;
        } else top = exact(u, i, v, best);
      }
      arg[i] = best;
      max[i] = top;
    }
  }
  return { arg, max };
}

/** How crossArgmax re-checks and scans: ToMe's WebAssembly engine supplies both. */
export interface CrossArgmaxOptions {
  /** The float64 value of one pair (default exactCross). */
  exact?: (u: CosineRows, i: number, v: CosineRows, j: number) => number;
  /** Float32 blocks: the buffer the GEMM writes and a scan giving scanRows's results. */
  scanner?: RowScanner;
}

export interface RowScanner {
  buffer(length: number): Float32Array;
  scan(out: Float32Array, rows: number, n: number, post: Float64Array, i0: number, vp: Float64Array, scan: RowScan): void;
}

/** Per row of a block: the first maximum's column, the maximum and the runner-up. */
export interface RowScan {
  best: Int32Array;
  top: Float64Array;
  second: Float64Array;
}

let rowScan: RowScan = { best: new Int32Array(0), top: new Float64Array(0), second: new Float64Array(0) };

function scratchRows(rows: number): RowScan {
  if (rowScan.best.length < rows) rowScan = { best: new Int32Array(rows), top: new Float64Array(rows), second: new Float64Array(rows) };
  return rowScan;
}

/** Each row's first maximum and runner-up of out[r, j]·(post[i0 + r]·vp[j]). */
export function scanRows(out: FloatArray, rows: number, n: number, post: Float64Array, i0: number, vp: Float64Array, scan: RowScan): void {
  for (let r = 0; r < rows; r++) {
    const pi = post[i0 + r];
    const o = r * n;
    let best = 0;
    let top = out[o] * (pi * vp[0]);
    let second = -Infinity;
    for (let j = 1; j < n; j++) {
      const c = out[o + j] * (pi * vp[j]);
      if (c > top) {
        second = top;
        top = c;
        best = j;
      } else if (c > second) second = c;
    }
    scan.best[r] = best;
    scan.top[r] = top;
    scan.second[r] = second;
  }
}

/** One block of the upper staircase of the operand Gram matrix: rows [i0, i0+rows) against columns [i0, n). */
export interface UpperBlock {
  readonly i0: number;
  readonly rows: number;
  /** rows × (n − i0), row-major; entry (r, c) is G[i0 + r, i0 + c]. */
  readonly data: FloatArray;
  readonly cols: number;
}

/** Rows per staircase block: ~1/8 of n (≈56 % of the full product's FLOPs), output ≤ 16 M entries. */
export function staircaseRows(n: number): number {
  const byShare = Math.ceil(n / 8 / 16) * 16;
  const byMemory = Math.max(16, Math.floor((16 << 20) / Math.max(1, n)));
  return Math.max(Math.min(64, n), Math.min(byShare, byMemory));
}

/**
 * Streams the upper staircase of the Gram matrix of unit rows: each row block against every column at or
 * after its first row, so only ≈ half the products are computed and no n×n matrix is held. Entries left of
 * the diagonal inside a block are computed too; visitors skip them.
 */
export function forEachUpperBlock(u: CosineRows, plan: KernelPlan, visit: (b: UpperBlock) => void, blockRows = staircaseRows(u.n), into?: Float32Array): void {
  const { n, d, data } = u;
  // `into` (float32 rows only, ≥ blockRows·n values): a caller's buffer, e.g. in WebAssembly memory.
  const buf = data instanceof Float32Array ? (into ?? scratchF32('stair.block', blockRows * n)) : new Float64Array(blockRows * n);
  for (let i0 = 0; i0 < n; i0 += blockRows) {
    const rows = Math.min(blockRows, n - i0);
    const cols = n - i0;
    const out = buf.subarray(0, rows * cols);
    gemmNT(plan, data.subarray(i0 * d, (i0 + rows) * d), rows, data.subarray(i0 * d), cols, d, out);
    visit({ i0, rows, data: out, cols });
  }
}

/**
 * G = X·Xᵀ for row-major X [n,d] in float64, both halves filled (the small-n dense path). Only the upper
 * triangle's products are formed; the lower half is mirrored, so the result is exactly symmetric.
 */
export function gramSymmetric(x: Float64Array, n: number, d: number): Float64Array {
  const g = new Float64Array(n * n);
  const blockRows = Math.max(1, staircaseRows(n));
  for (let i0 = 0; i0 < n; i0 += blockRows) {
    const rows = Math.min(blockRows, n - i0);
    const cols = n - i0;
    const out = new Float64Array(rows * cols);
    tsGemmNT(x.subarray(i0 * d, (i0 + rows) * d), rows, x.subarray(i0 * d), cols, d, out);
    for (let r = 0; r < rows; r++) {
      const i = i0 + r;
      for (let c = r; c < cols; c++) {
        const v = out[r * cols + c];
        g[i * n + i0 + c] = v;
        g[(i0 + c) * n + i] = v;
      }
    }
  }
  return g;
}
