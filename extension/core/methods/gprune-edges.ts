import { type KernelPlan, planErrorBound } from '../numeric/gemm.ts';
import { type CosineRows, exactDot, forEachUpperBlock } from '../numeric/gram.ts';
import { type GPruneSettings, isEdge } from './gprune-limits.ts';

/** Thresholded similarity graph: diagonal in float64 plus upper-triangle edges (j > i) in CSR. */
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
  let rechecked = 0;
  // Values that decide without a re-check: clearly above θ and clearly outside the mask band.
  const hi = s.theta + eps;
  const lo = s.theta - eps;
  const maskBand = 1e-6 * s.temperature + eps;
  forEachUpperBlock(u, plan, (b) => {
    const data = b.data;
    for (let r = 0; r < b.rows; r++) {
      const i = b.i0 + r;
      start[i] = edges.count;
      const off = r * b.cols - b.i0;
      const pi = post[i];
      if (eps === 0) {
        for (let j = i + 1; j < n; j++) {
          const v = data[off + j] * pi * post[j];
          if (isEdge(v, s)) edges.push(j, v);
        }
        continue;
      }
      for (let j = i + 1; j < n; j++) {
        const v = data[off + j] * pi * post[j];
        if (v < lo) continue;
        if (v >= hi && Math.abs(v) >= maskBand) {
          edges.push(j, v);
          continue;
        }
        rechecked++;
        const e = exactDot(u, i, j);
        if (isEdge(e, s)) edges.push(j, e);
      }
    }
  });
  start[n] = edges.count;
  lastEdges = edges.count;
  return { n, diag, start, col: edges.cols(), sim: edges.values(), selfEdge, rechecked };
}

/** Growable (column, similarity) list. */
class EdgeList {
  count = 0;
  private col: Int32Array;
  private sim: Float64Array;
  constructor(capacity: number) {
    this.col = new Int32Array(capacity);
    this.sim = new Float64Array(capacity);
  }
  push(j: number, v: number): void {
    if (this.count === this.col.length) {
      const c = new Int32Array(this.col.length * 2);
      c.set(this.col);
      this.col = c;
      const v2 = new Float64Array(this.sim.length * 2);
      v2.set(this.sim);
      this.sim = v2;
    }
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
