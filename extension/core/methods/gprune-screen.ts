// G-Prune's sparse staircase: an int8 GEMM (≈ 3× float32's throughput on VNNI cores) bounds every entry of a
// row block, and float32 GEMMs run only on the column ranges where some entry may reach the edge band.
// Every entry skipped is one the float32 scan would have dropped (its float32 value below θ − ε), so the
// graph is the same, edge for edge.

import { type KernelPlan } from '../numeric/gemm.ts';
import type { CosineRows } from '../numeric/gram.ts';
import { loadOrtGemm, type OrtGemm } from '../numeric/ort-gemm.ts';
import { Int8Screen, type QuantStats } from './gprune-screen-wasm.ts';

/** Columns [j0, j0 + cols) of a row block; its float32 product (rows × cols) starts `at` floats into the block buffer. */
export interface ColumnRange {
  readonly j0: number;
  readonly cols: number;
  readonly at: number;
}

/** |x·f − round(x·f)| ≤ ½ plus float32 rounding of x·f (|x·f| ≤ 127): 127·2⁻²⁴ < 10⁻⁵. */
const DELTA = 0.50001;
/** Float32 arithmetic of the screen kernel (a few ulps of values ≤ 1 + bound), with room to spare. */
const KERNEL_SLACK = 1e-5;
/** A float32 GEMM call costs about as much as this many multiply-adds beside its work (≈ 10 µs here). */
const CALL_MACS = 750_000;

export const screenLimits = {
  /** Groups smaller than this are not screened: at 576 tokens the int8 pass costs what it saves. */
  minTokens: 1024,
  /** A group whose last screen left more than this share of the staircase to float32 is not screened again. */
  maxKeptShare: 0.75,
};

/** What the last graph computed in float32 (for tests and benchmarks). */
export const screenStats = { screened: false, f32Entries: 0, staircaseEntries: 0 };

/** Share of the staircase the last screen of a group (features, size) left to float32: dense graphs skip it. */
const keptShare = new WeakMap<object, Map<number, number>>();

function lastShare(u: CosineRows): number {
  return keptShare.get(u.src.data)?.get(u.n) ?? 0;
}

function recordShare(u: CosineRows, share: number): void {
  let byN = keptShare.get(u.src.data);
  if (!byN) keptShare.set(u.src.data, (byN = new Map()));
  byN.set(u.n, share);
}

function enabled(): boolean {
  return process.env.PRUNELENS_SCREEN !== '0';
}

let int8Checked: boolean | undefined;

/**
 * Whether onnxruntime's uint8 × int8 GEMM is exact at the extremes the screen feeds it. Without VNNI, x64
 * kernels add byte products in pairs into int16 and may saturate (255·127·2 > 32767); such a machine
 * gets no screen rather than a wrong bound.
 */
function int8Exact(ort: OrtGemm): boolean {
  if (int8Checked !== undefined) return int8Checked;
  const k = 64;
  const a = new Uint8Array(2 * k);
  const b = new Int8Array(2 * k);
  for (let t = 0; t < k; t++) {
    a[t] = 255; // q = 127
    a[k + t] = 1; // q = −127
    b[t] = 127;
    b[k + t] = t % 2 === 0 ? -127 : 127;
  }
  const out = new Int32Array(4);
  try {
    ort.screenedGemm(null, { a, p: 2, b, q: 2, out }, k);
    const want = [127 * 127 * k, 0, -127 * 127 * k, 0];
    int8Checked = want.every((v, i) => out[i] === v);
  } catch {
    int8Checked = false;
  }
  return int8Checked;
}

/**
 * The screen for a graph whose skipped entries must lie below `floor` (θ − 2ε: the float32 scan's lower band
 * edge, less the float32 error), or null where it does not apply: float64 plans, small groups, θ near 0, no
 * kernels, or a group the screen did not thin out last time.
 */
export function screenFor(u: CosineRows, plan: KernelPlan, floor: number, blockRows: number): Screened | null {
  screenStats.screened = false;
  screenStats.f32Entries = 0;
  screenStats.staircaseEntries = 0;
  const data = u.data;
  if (!enabled() || plan.backend !== 'ort' || plan.precision !== 'f32' || !(data instanceof Float32Array)) return null;
  if (u.n < screenLimits.minTokens || blockRows < 4 || blockRows % 4 !== 0) return null;
  if (lastShare(u) > screenLimits.maxKeptShare) return null;
  // The screen's threshold must stay clearly positive: padding lanes (s = 0) and zero rows score 0.
  const thr = floor - KERNEL_SLACK;
  if (!(thr > 0.01)) return null;
  const kernels = Int8Screen.load();
  const ort = loadOrtGemm();
  if (!kernels || !ort || !int8Exact(ort)) return null;
  const width = Math.ceil(u.d / 16) * 16;
  let stats: QuantStats | null;
  try {
    kernels.prepare(u.n, width, blockRows);
    stats = kernels.quantize(data, u.d);
  } catch {
    // WebAssembly memory could not grow (huge groups): the unscreened scan needs none of it.
    return null;
  }
  if (!stats) return null;
  screenStats.screened = true;
  return new Screened(u, data, ort, kernels, stats.f, stats.absSum, width, thr, blockRows);
}

/** Per-row terms of the screen's upper bound on a cosine: (Q_ij + a_i + b_j)·s_i·s_j. */
export interface BoundTerms {
  readonly a: Float64Array;
  readonly b: Float64Array;
  readonly s: Float64Array;
}

/**
 * With x = (q + δ)/f per row, |δ| ≤ DELTA, and L = Σ|q| ≤ f·Σ|x|·(1 + width·2⁻²³) + width·DELTA (Σ|x| summed
 * in float32): |x_i·x_j − Q_ij/(f_i f_j)| ≤ (DELTA·(L_i + L_j) + width·DELTA²)/(f_i f_j). In cosine units
 * (post = 1/‖x‖): a = DELTA·L, b = a + width·DELTA², s = post/f. A zero row (f = 0) quantises to zeros and
 * gets s = 0: its bound is 0, as its cosine is.
 */
export function boundTerms(f: Float32Array, absSum: Float32Array, post: Float64Array, width: number): BoundTerms {
  const n = f.length;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const s = new Float64Array(n);
  const square = width * DELTA * DELTA;
  for (let i = 0; i < n; i++) {
    if (f[i] === 0) continue;
    const l1 = absSum[i] * (1 + width * 2 ** -23) * f[i] + width * DELTA;
    a[i] = DELTA * l1;
    b[i] = a[i] + square;
    s[i] = post[i] / f[i];
  }
  return { a, b, s };
}

/** One graph's screen: the quantised rows live in the kernels' memory until the next graph. */
class Screened {
  private readonly terms: BoundTerms;
  private readonly colA: Float32Array;
  private readonly colS: Float32Array;

  constructor(
    private readonly u: CosineRows,
    /** u's operand rows (float32: screenFor checked). */
    private readonly data: Float32Array,
    private readonly ort: OrtGemm,
    private readonly kernels: Int8Screen,
    f: Float32Array,
    absSum: Float32Array,
    private readonly width: number,
    private readonly thr: number,
    readonly blockRows: number,
  ) {
    this.terms = boundTerms(f, absSum, u.post, width);
    kernels.setRowTerms(this.terms.b, this.terms.s);
    this.colA = new Float32Array(blockRows);
    this.colS = new Float32Array(blockRows);
  }

  /**
   * Column ranges of row block [i0, i0 + rows) that need float32 products: the block's own square, then the
   * flagged columns after it (nearby runs merged). Each range's product lands in the scan's view.
   */
  ranges(i0: number, rows: number, into: Float32Array): ColumnRange[] {
    const { u, data, ort, kernels, width } = this;
    const n = u.n;
    const d = u.d;
    const after = i0 + rows;
    const m = n - after;
    const out: ColumnRange[] = [];
    let at = 0;
    const push = (j0: number, cols: number): void => {
      out.push({ j0, cols, at });
      at += rows * cols;
    };
    // Unflagged columns between two runs are computed when that is cheaper than another call.
    const gap = Math.max(1, Math.round(CALL_MACS / (rows * d)));
    let runStart = i0;
    let runEnd = after;
    if (m > 0) {
      const block = kernels.block(m, rows);
      ort.screenedGemm(null, { a: kernels.offsetRows(after, n), p: m, b: kernels.signedRows(i0, after), q: rows, out: block }, width);
      const colA = this.colA.subarray(0, rows);
      const colS = this.colS.subarray(0, rows);
      for (let r = 0; r < rows; r++) {
        colA[r] = this.terms.a[i0 + r];
        colS[r] = this.terms.s[i0 + r];
      }
      const flags = kernels.screen(m, after, colA, colS, this.thr);
      for (let c = 0; c < m; c++) {
        if (flags[c] === 0) continue;
        const j = after + c;
        if (j - runEnd > gap) {
          push(runStart, runEnd - runStart);
          runStart = j;
        }
        runEnd = j + 1;
      }
    }
    push(runStart, runEnd - runStart);
    const rowsData = data.subarray(i0 * d, after * d);
    for (const { j0, cols, at: from } of out) {
      ort.screenedGemm({ a: rowsData, m: rows, b: data.subarray(j0 * d, (j0 + cols) * d), n: cols, out: into.subarray(from, from + rows * cols) }, null, d);
    }
    screenStats.f32Entries += at;
    screenStats.staircaseEntries += rows * (n - i0);
    if (after === n) recordShare(u, screenStats.f32Entries / screenStats.staircaseEntries);
    return out;
  }
}

export type { Screened };
