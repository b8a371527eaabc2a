import { type FloatArray, type KernelPlan, planErrorBound } from '../numeric/gemm.ts';
import { type CosineRows, exactDot, forEachUpperBlock, staircaseRows } from '../numeric/gram.ts';
import { roundDown32 } from '../numeric/float32.ts';
import { ThresholdScan } from './gprune-scan-wasm.ts';
import { EdgeScan } from './gprune-edge-scan-wasm.ts';
import { type ColumnRange, screenFor } from './gprune-screen.ts';
import { scratchF32, scratchF64, scratchI32 } from '../numeric/scratch.ts';
import { type GPruneSettings, isEdge } from './gprune-limits.ts';

/**
 * Thresholded similarity graph: diagonal in float64 plus upper-triangle edges (j > i) in CSR. `col` and `sim`
 * live in reused scratch buffers: valid until the next graph is built.
 */
export interface Graph {
  readonly n: number;
  readonly diag: Float64Array;
  /** Row i's upper edges are start[i] .. start[i+1]. */
  readonly start: Int32Array;
  readonly col: Int32Array;
  readonly sim: Float64Array;
  /** Whether the self-similarity passes the edge test. */
  readonly selfEdge: Uint8Array;
  readonly rechecked: number;
}

/** Edge count of the previous graph: the next list starts that large, so warm runs do not regrow it. */
let lastEdges = 0;

/**
 * Streams the upper staircase of the cosine Gram (float32 GEMM blocks for large groups) and keeps the
 * thresholded entries. Every edge decision is exact: an entry within the float32 error bound of a
 * decision is recomputed in float64 (float64 plans decide on the value itself, as the dense code did).
 */
export function buildGraph(u: CosineRows, s: GPruneSettings, plan: KernelPlan): Graph {
  const eps = planErrorBound(plan, u.d);
  const n = u.n;
  const post = u.post;
  const diag = new Float64Array(n);
  const selfEdge = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    diag[i] = u.self[i];
    selfEdge[i] = isEdge(diag[i], s) ? 1 : 0;
  }
  const start = new Int32Array(n + 1);
  const edges = new EdgeList(Math.min(Math.max(1024, n * 16, lastEdges), (n * (n - 1)) / 2 + 1));
  let maxPost = 0;
  for (let i = 0; i < n; i++) if (post[i] > maxPost) maxPost = post[i];
  const band: Band = { eps, lo: s.theta - eps, hi: s.theta + eps, maskBand: 1e-6 * s.temperature + eps, maxPost };
  const simd = u.data instanceof Float32Array && eps > 0 ? ThresholdScan.load() : null;
  // Screening computes the same blocks in column ranges; its int8 blocks need a multiple of 4 rows.
  const screened = simd ? screenFor(u, plan, band.lo - band.eps, staircaseRows(n) & ~3) : null;
  const blockRows = screened ? screened.blockRows : staircaseRows(n);
  const scan = new BlockScan(u, s, band, start, edges, simd, blockRows);
  // Unscreened float32 blocks land in the fused edge scan's memory, which returns the edges themselves.
  const fused = simd && !screened ? EdgeScan.load() : null;
  if (fused) {
    const into = fused.prepare(blockRows, n, post, band);
    forEachUpperBlock(u, plan, (b) => scan.visitFused(fused, b.i0, b.rows, b.cols), blockRows, into);
  } else {
    // Float32 blocks land in the SIMD scan's memory, which points out the groups worth a look.
    const into = simd ? simd.prepare(blockRows, n) : undefined;
    if (screened && into) {
      for (let i0 = 0; i0 < n; i0 += blockRows) {
        const rows = Math.min(blockRows, n - i0);
        scan.visit(i0, rows, into, screened.ranges(i0, rows, into));
      }
    } else forEachUpperBlock(u, plan, (b) => scan.visit(b.i0, b.rows, b.data, [{ j0: b.i0, cols: b.cols, at: 0 }]), blockRows, into);
  }
  const rechecked = scan.rechecked;
  start[n] = edges.count;
  lastEdges = edges.count;
  return { n, diag, start, col: edges.cols(), sim: edges.values(), selfEdge, rechecked };
}

/** Scans row blocks (one or more column ranges each) into the edge list, row by row in column order. */
class BlockScan {
  rechecked = 0;
  private readonly thr: Float32Array;

  constructor(
    private readonly u: CosineRows,
    private readonly s: GPruneSettings,
    private readonly band: Band,
    private readonly start: Int32Array,
    private readonly edges: EdgeList,
    private readonly simd: ThresholdScan | null,
    blockRows: number,
  ) {
    this.thr = new Float32Array(simd ? blockRows : 0);
  }

  /**
   * Rows [i0, i0 + rows) of an unscreened block (columns i0 .. i0 + cols) in the fused scan's memory: the
   * kernel returns each row's edges in column order and marks the entries to settle in float64 here.
   */
  visitFused(fused: EdgeScan, i0: number, rows: number, cols: number): void {
    const { u, s, band, edges } = this;
    const n = u.n;
    const per = fused.chunkRows(cols);
    const floor = scratchF64('gprune.scan.floor', per);
    const pi = scratchF64('gprune.scan.pi', per);
    const thr = scratchF32('gprune.scan.thr', per);
    let rechecked = 0;
    for (let r0 = 0; r0 < rows; r0 += per) {
      const m = Math.min(per, rows - r0);
      for (let r = 0; r < m; r++) {
        pi[r] = u.post[i0 + r0 + r];
        floor[r] = rowFloor(band, pi[r]);
        thr[r] = roundDown32(floor[r]);
      }
      const out = fused.scan(r0, m, cols, i0, thr, floor, pi);
      if (out.settle === 0) {
        // Every entry is an edge as written: rows start at their offsets, one copy for the chunk.
        const base = edges.count;
        for (let r = 0; r < m; r++) this.start[i0 + r0 + r] = base + (r > 0 ? out.rowEnd[r - 1] : 0);
        edges.reserve(out.col.length);
        edges.col.set(out.col, base);
        edges.sim.set(out.val, base);
        edges.count = base + out.col.length;
        continue;
      }
      let q = 0;
      for (let r = 0; r < m; r++) {
        const i = i0 + r0 + r;
        this.start[i] = edges.count;
        edges.reserve(n - i - 1);
        const { col, sim } = edges;
        let count = edges.count;
        for (const end = out.rowEnd[r]; q < end; q++) {
          const j = out.col[q];
          if (j >= 0) {
            col[count] = j;
            sim[count++] = out.val[q];
            continue;
          }
          // Within the float32 error of a decision: settle it in float64.
          rechecked++;
          const e = exactDot(u, i, -j - 1);
          if (isEdge(e, s)) {
            col[count] = -j - 1;
            sim[count++] = e;
          }
        }
        edges.count = count;
      }
    }
    this.rechecked += rechecked;
  }

  /** Rows [i0, i0 + rows) whose products over `ranges` sit in `data` (each range's rows × cols at its offset). */
  visit(i0: number, rows: number, data: FloatArray, ranges: readonly ColumnRange[]): void {
    const { u, s, band, edges, simd, thr } = this;
    const n = u.n;
    const cands: Int32Array[] = [];
    if (simd && data instanceof Float32Array) {
      for (let r = 0; r < rows; r++) thr[r] = roundDown32(rowFloor(band, u.post[i0 + r]));
      // Each list is overwritten by the next call: keep a copy per range.
      for (const range of ranges) {
        const list = simd.groups(rows, range.cols, thr, range.at);
        cands.push(ranges.length === 1 ? list : list.slice());
      }
    }
    const cursor = new Int32Array(ranges.length);
    let rechecked = 0;
    for (let r = 0; r < rows; r++) {
      const i = i0 + r;
      this.start[i] = edges.count;
      edges.reserve(n - i - 1);
      for (let k = 0; k < ranges.length; k++) {
        const { j0, cols, at } = ranges[k];
        const rowAt = r * cols;
        const off = at + rowAt - j0;
        const cand = cands[k];
        if (cand && data instanceof Float32Array) {
          // This row's candidate groups (a group at range offset e covers columns e − rowAt + j0 .. + 3), then
          // the columns after its last whole group.
          const rowEnd = rowAt + cols;
          let q = cursor[k];
          for (; q < cand.length && cand[q] < rowEnd; q++) {
            const jg = cand[q] - rowAt + j0;
            rechecked += scanRangeF32(data, off, i, Math.max(i + 1, jg), jg + 4, u, s, band, edges);
          }
          cursor[k] = q;
          rechecked += scanRangeF32(data, off, i, Math.max(i + 1, j0 + (cols & ~3)), j0 + cols, u, s, band, edges);
        } else if (data instanceof Float32Array && band.eps > 0) rechecked += scanRangeF32(data, off, i, Math.max(i + 1, j0), j0 + cols, u, s, band, edges);
        else rechecked += scanRow(data, off, i, Math.max(i + 1, j0), j0 + cols, u, s, band, edges);
      }
    }
    this.rechecked += rechecked;
  }
}

/** Decision band of a plan: values in [lo, hi) (or inside the mask band) are settled in float64. */
interface Band {
  readonly eps: number;
  readonly lo: number;
  readonly hi: number;
  readonly maskBand: number;
  /** Largest row scale (bounds g·post_i·post_j from above). */
  readonly maxPost: number;
}

/** Row i's float32 lower bound: an entry g below it has g·post_i·post_j < lo for every j. */
function rowFloor(band: Band, pi: number): number {
  return band.lo > 0 ? (band.lo * (1 - 1e-9)) / (pi * band.maxPost) : -Infinity;
}

/**
 * Columns from..to − 1 (all > i) of row i of a float32 block: edges appended to `edges` (capacity reserved).
 * A float32 entry below the row floor is no edge, so most non-edges cost one compare.
 */
function scanRangeF32(data: Float32Array, off: number, i: number, from: number, to: number, u: CosineRows, s: GPruneSettings, band: Band, edges: EdgeList): number {
  const post = u.post;
  const pi = post[i];
  const { lo, hi, maskBand } = band;
  const gLo = rowFloor(band, pi);
  const col = edges.col;
  const sim = edges.sim;
  let count = edges.count;
  let rechecked = 0;
  for (let j = from; j < to; j++) {
    const g = data[off + j];
    if (g < gLo) continue;
    const v = g * pi * post[j];
    if (v < lo) continue;
    if (v >= hi && Math.abs(v) >= maskBand) {
      col[count] = j;
      sim[count++] = v;
      continue;
    }
    // Within the float32 error of a decision: settle it in float64.
    rechecked++;
    const e = exactDot(u, i, j);
    if (isEdge(e, s)) {
      col[count] = j;
      sim[count++] = e;
    }
  }
  edges.count = count;
  return rechecked;
}

/** Row i of any block; float64 products (eps = 0) decide on the value itself, as the dense code did. */
function scanRow(data: FloatArray, off: number, i: number, from: number, to: number, u: CosineRows, s: GPruneSettings, band: Band, edges: EdgeList): number {
  const post = u.post;
  const pi = post[i];
  let rechecked = 0;
  for (let j = from; j < to; j++) {
    const v = data[off + j] * pi * post[j];
    if (band.eps === 0) {
      if (isEdge(v, s)) edges.push(j, v);
      continue;
    }
    if (v < band.lo) continue;
    if (v >= band.hi && Math.abs(v) >= band.maskBand) {
      edges.push(j, v);
      continue;
    }
    rechecked++;
    const e = exactDot(u, i, j);
    if (isEdge(e, s)) edges.push(j, e);
  }
  return rechecked;
}

/**
 * Growable (column, similarity) list in reused scratch buffers (warm runs write the same memory again);
 * `reserve` before writing `col`/`sim` directly. Valid until the next graph is built.
 */
class EdgeList {
  count = 0;
  col: Int32Array;
  sim: Float64Array;
  constructor(capacity: number) {
    this.col = scratchI32('gprune.col', capacity);
    this.sim = scratchF64('gprune.sim', capacity);
  }
  reserve(extra: number): void {
    const need = this.count + extra;
    if (need <= this.col.length) return;
    const cap = Math.max(need, this.col.length * 2);
    const c = scratchI32('gprune.col', cap);
    c.set(this.col.subarray(0, this.count));
    this.col = c;
    const v = scratchF64('gprune.sim', cap);
    v.set(this.sim.subarray(0, this.count));
    this.sim = v;
  }
  push(j: number, v: number): void {
    this.col[this.count] = j;
    this.sim[this.count++] = v;
  }
  cols(): Int32Array {
    return this.col.subarray(0, this.count);
  }
  values(): Float64Array {
    return this.sim.subarray(0, this.count);
  }
}
