import type { Matrix } from '../bundle/tensor.ts';
import { type KernelPlan, kernelPlan, planErrorBound } from '../numeric/gemm.ts';
import { type CosineRows, cosineRows, exactDot, forEachUpperBlock, gramSymmetric, staircaseRows } from '../numeric/gram.ts';
import { loadOrtGemm } from '../numeric/ort-gemm.ts';
import { normalizeRows } from '../numeric/linalg.ts';

export interface GPruneSettings {
  readonly theta: number;
  readonly temperature: number;
  readonly iterateNum: number;
}

export interface GraphEdges {
  /** Group-local source / target node and transition weight P_ij, strongest first per source. */
  readonly src: number[];
  readonly dst: number[];
  readonly weight: number[];
}

export interface GroupPropagation {
  /** Initial mass w_i = ‖x_i‖₂ (unnormalised features). */
  readonly norms: Float64Array;
  /** deg_j = #{k : P_jk > 0}, self included. */
  readonly degree: Int32Array;
  /** m⁽ᵗ⁾ for t = 0..iterateNum; m⁽⁰⁾ = norms. */
  readonly mass: Float64Array[];
  /** s_j = m⁽ⁿ⁾_j / deg_j. */
  readonly scores: Float64Array;
  /** Top `edgesPerNode` non-self edges of every node (for the flow view). */
  readonly edges: GraphEdges;
  /** Thresholded edges stored (upper triangle, self loops excluded). */
  readonly upperEdges: number;
  /** Near-threshold similarities re-decided in float64. */
  readonly rechecked: number;
}

/** Logit given to non-edges (the official code's masking value); exp underflows to exactly 0. */
const NON_EDGE = -5000;
/** Memory knobs (tests shrink them to exercise the streaming paths). */
export const gpruneLimits = {
  /** Cache transition weights (16 bytes per stored edge) up to this many edges; beyond, recompute exp per step. */
  pCacheEdges: 32 << 20,
  /** Threshold inside the onnxruntime graph (else the staircase GEMM output is scanned in TypeScript). */
  thresholdInGraph: process.env.PRUNELENS_GPRUNE_SCAN !== 'ts',
};

/**
 * The official G-Prune graph for one token group: cosine graph → threshold → /T → mask → row softmax P;
 * then the iterative form m⁽ᵗ⁺¹⁾ = m⁽ᵗ⁾P of the code's `matrix_power` (same math, 5 sparse products).
 *
 * The similarity is streamed in upper-staircase blocks (float32 GEMM for large groups) and only the
 * thresholded edges are kept: an upper-triangle CSR. Every edge decision is exact: similarities within the
 * float32 error bound of θ are recomputed in float64, and self-similarities are always float64. Softmax
 * sums and mass products run in float64 in the same order as the dense loop (column by column, row by row).
 */
export function propagateGroup(x: Matrix, s: GPruneSettings, edgesPerNode = 8, rows: readonly number[] | null = null): GroupPropagation {
  const n = rows ? rows.length : x.rows;
  const plan = kernelPlan((n * n * x.cols) / 2);
  const u = cosineRows(x, rows, plan, 1e-12, 'gprune.rows');
  const graph = buildGraph(u, s, plan);
  const top = new TopEdges(n, edgesPerNode);
  const soft = softmax(graph, s, n, top);
  if (!soft) return propagateDense(x, rows, s, edgesPerNode, u.norms);

  const mass: Float64Array[] = [u.norms];
  for (let t = 0; t < s.iterateNum; t++) mass.push(stepMass(mass[t], soft, graph));
  const last = mass[mass.length - 1];
  const scores = new Float64Array(n);
  for (let j = 0; j < n; j++) scores[j] = last[j] / soft.degree[j];
  return {
    norms: u.norms,
    degree: soft.degree,
    mass,
    scores,
    edges: top.edges(),
    upperEdges: graph.start[n],
    rechecked: graph.rechecked,
  };
}

/** Thresholded similarity graph: diagonal in float64 plus upper-triangle edges (j > i) in CSR. */
interface Graph {
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

/** Edge test of the official code: S ≥ θ survives the threshold and |S/T| ≥ 1e-6 escapes the mask. */
function isEdge(c: number, s: GPruneSettings): boolean {
  const z = (c < s.theta ? 0 : c) / s.temperature;
  return !(Math.abs(z) < 1e-6);
}

function buildGraph(u: CosineRows, s: GPruneSettings, plan: KernelPlan): Graph {
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
  const edges = new EdgeList(Math.max(1024, n * 16));
  let rechecked = 0;
  // Values that decide without a re-check: clearly above θ and clearly outside the mask band.
  const hi = s.theta + eps;
  const lo = s.theta - eps;
  const maskBand = 1e-6 * s.temperature + eps;
  const ort = gpruneLimits.thresholdInGraph && plan.backend === 'ort' && u.data instanceof Float32Array ? loadOrtGemm() : null;
  if (ort && u.data instanceof Float32Array) {
    // Threshold inside the graph: only entries ≥ θ − ε come back, in row-major order. The product is
    // scaled in float32 there, so the bound grows by a few units in the last place.
    const epsT = eps + 8 * 2 ** -24;
    const hiT = s.theta + epsT;
    const post32 = Float32Array.from(post);
    const data = u.data;
    const d = u.d;
    const blockRows = staircaseRows(n);
    for (let i0 = 0; i0 < n; i0 += blockRows) {
      const rows = Math.min(blockRows, n - i0);
      const hits = ort.thresholdNT(data.subarray(i0 * d, (i0 + rows) * d), rows, data.subarray(i0 * d), n - i0, d, post32.subarray(i0, i0 + rows), post32.subarray(i0), s.theta - epsT - 2 ** -20);
      const nnz = hits.values.length;
      let e = 0;
      for (let r = 0; r < rows; r++) {
        const i = i0 + r;
        start[i] = edges.count;
        for (; e < nnz && hits.rows[e] === r; e++) {
          const j = i0 + hits.cols[e];
          if (j <= i) continue;
          const v = hits.values[e];
          if (v >= hiT && Math.abs(v) >= maskBand + 8 * 2 ** -24) {
            edges.push(j, v);
            continue;
          }
          rechecked++;
          const x = exactDot(u, i, j);
          if (isEdge(x, s)) edges.push(j, x);
        }
      }
    }
    start[n] = edges.count;
    return { n, diag, start, col: edges.cols(), sim: edges.values(), selfEdge, rechecked };
  }
  forEachUpperBlock(u, plan, (b) => {
    const data = b.data;
    for (let r = 0; r < b.rows; r++) {
      const i = b.i0 + r;
      start[i] = edges.count;
      const off = r * b.cols - b.i0;
      const pi = post[i];
      if (eps === 0) {
        // Float64 product: decide on the value itself, as the dense implementation did.
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
        // Within the float32 error of a decision: settle it in float64.
        rechecked++;
        const e = exactDot(u, i, j);
        if (isEdge(e, s)) edges.push(j, e);
      }
    }
  });
  start[n] = edges.count;
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

interface Softmax {
  readonly max: Float64Array;
  readonly sum: Float64Array;
  readonly degree: Int32Array;
  /** P_ii. */
  readonly pDiag: Float64Array;
  /** Cached P_ij (row i's weight) and P_ji (row j's weight) per stored edge, or null (recompute). */
  readonly pUp: Float64Array | null;
  readonly pLo: Float64Array | null;
  readonly temperature: number;
  /** Shared-reference weights (see softmax): exp(z − c)·scale[i] instead of exp(z − max_i). */
  readonly shared: boolean;
  readonly c: number;
  readonly scale: Float64Array;
}

/** Unnormalised weight of logit z in row i, computed the same way everywhere. */
function rowWeight(p: Softmax, z: number, i: number): number {
  return p.shared ? Math.exp(z - p.c) * p.scale[i] : Math.exp(z - p.max[i]);
}

/**
 * Row softmax over the edges of each row (non-edges contribute exp(−5000 − max) = 0 exactly). Returns null
 * when a row falls outside that regime (no edge at all, or logits so low that masked entries count), which
 * the dense path handles.
 */
function softmax(g: Graph, s: GPruneSettings, n: number, top: TopEdges): Softmax | null {
  const T = s.temperature;
  const max = new Float64Array(n).fill(-Infinity);
  const { start, col, sim, diag, selfEdge } = g;
  for (let i = 0; i < n; i++) if (selfEdge[i] && diag[i] / T > max[i]) max[i] = diag[i] / T;
  for (let i = 0; i < n; i++) {
    let mi = max[i];
    for (let e = start[i]; e < start[i + 1]; e++) {
      const z = sim[e] / T;
      const j = col[e];
      if (z > mi) mi = z;
      if (z > max[j]) max[j] = z;
    }
    max[i] = mi;
  }
  // The dense loop skips exp for masked entries only when max − NON_EDGE > 800; require the same here.
  for (let i = 0; i < n; i++) if (!(max[i] - NON_EDGE > 800)) return null;

  const edges = start[n];
  const cache = edges <= gpruneLimits.pCacheEdges;
  const pUp = cache ? new Float64Array(edges) : null;
  const pLo = cache ? new Float64Array(edges) : null;
  const sum = new Float64Array(n);
  const pDiag = new Float64Array(n);
  // One exp per edge: exp(z − max_i) = exp(z − c)·exp(c − max_i) with a shared reference c (the largest
  // row maximum), exact to a few ulps, when no weight underflows on the way; otherwise one exp per entry.
  let c = -Infinity;
  let minZ = Infinity;
  for (let i = 0; i < n; i++) if (max[i] > c) c = max[i];
  for (let e = 0; e < edges; e++) if (sim[e] / T < minZ) minZ = sim[e] / T;
  const shared = minZ - c > -600;
  const scale = new Float64Array(n);
  if (shared) for (let i = 0; i < n; i++) scale[i] = Math.exp(c - max[i]);
  // Column order per row: lower entries arrive from earlier rows (ascending), then self, then upper ones.
  for (let i = 0; i < n; i++) {
    const mi = max[i];
    const fi = scale[i];
    let si = sum[i];
    if (selfEdge[i]) {
      pDiag[i] = Math.exp(diag[i] / T - mi);
      si += pDiag[i];
    }
    for (let e = start[i]; e < start[i + 1]; e++) {
      const z = sim[e] / T;
      const j = col[e];
      let a: number;
      let b: number;
      if (shared) {
        const w = Math.exp(z - c);
        a = w * fi;
        b = w * scale[j];
      } else {
        a = Math.exp(z - mi);
        b = Math.exp(z - max[j]);
      }
      si += a;
      sum[j] += b;
      if (pUp && pLo) {
        pUp[e] = a;
        pLo[e] = b;
      }
    }
    sum[i] = si;
  }
  const soft: Softmax = { max, sum, degree: new Int32Array(n), pDiag, pUp, pLo, temperature: T, shared, c, scale };
  const degree = soft.degree;
  for (let i = 0; i < n; i++) {
    pDiag[i] /= sum[i];
    if (pDiag[i] > 0) degree[i]++;
  }
  for (let i = 0; i < n; i++) {
    const si = sum[i];
    let di = 0;
    for (let e = start[i]; e < start[i + 1]; e++) {
      const j = col[e];
      let a: number;
      let b: number;
      if (pUp && pLo) {
        a = pUp[e] /= si;
        b = pLo[e] /= sum[j];
      } else {
        const z = sim[e] / T;
        a = rowWeight(soft, z, i) / si;
        b = rowWeight(soft, z, j) / sum[j];
      }
      if (a > 0) di++;
      if (b > 0) degree[j]++;
      top.offer(i, j, a);
      top.offer(j, i, b);
    }
    degree[i] += di;
  }
  return soft;
}

/**
 * m′_j = Σ_i m_i P_ij with the terms of every m′_j added in ascending i, as the dense loop does: entries
 * (i<j) arrive while row i is processed; self and (i>j) entries are added when row j is processed.
 */
function stepMass(m: Float64Array, p: Softmax, g: Graph): Float64Array {
  const n = g.n;
  const out = new Float64Array(n);
  const { start, col, sim } = g;
  const { pUp, pLo, sum, pDiag, temperature: T } = p;
  if (pUp && pLo) {
    for (let i = 0; i < n; i++) {
      const mi = m[i];
      let acc = out[i] + mi * pDiag[i];
      const end = start[i + 1];
      for (let e = start[i]; e < end; e++) {
        const j = col[e];
        out[j] += mi * pUp[e];
        acc += m[j] * pLo[e];
      }
      out[i] = acc;
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const mi = m[i];
    let acc = out[i] + mi * pDiag[i];
    for (let e = start[i]; e < start[i + 1]; e++) {
      const j = col[e];
      const z = sim[e] / T;
      out[j] += mi * (rowWeight(p, z, i) / sum[i]);
      acc += m[j] * (rowWeight(p, z, j) / sum[j]);
    }
    out[i] = acc;
  }
  return out;
}

/** Top `perNode` non-self edges per row by P_ij, ties to the lower column (candidates arrive in column order). */
function strongestEdges(g: Graph, p: Softmax, perNode: number): GraphEdges {
  const n = g.n;
  const top = new TopEdges(n, perNode);
  const { start, col, sim } = g;
  const T = p.temperature;
  for (let i = 0; i < n; i++) {
    for (let e = start[i]; e < start[i + 1]; e++) {
      const j = col[e];
      const a = p.pUp ? p.pUp[e] : rowWeight(p, sim[e] / T, i) / p.sum[i];
      const b = p.pLo ? p.pLo[e] : rowWeight(p, sim[e] / T, j) / p.sum[j];
      top.offer(i, j, a);
      top.offer(j, i, b);
    }
  }
  return top.edges();
}

/** Per-row insertion lists of the strongest `perNode` weights (descending; equal weights keep the first). */
class TopEdges {
  private readonly count: Int32Array;
  private readonly bestJ: Int32Array;
  private readonly bestW: Float64Array;
  /** Weight a candidate must beat: 0 until the row's list is full, then its smallest entry. */
  private readonly floor: Float64Array;
  constructor(
    private readonly n: number,
    private readonly perNode: number,
  ) {
    this.count = new Int32Array(n);
    this.bestJ = new Int32Array(n * perNode);
    this.bestW = new Float64Array(n * perNode);
    this.floor = new Float64Array(n);
  }
  offer(i: number, j: number, w: number): void {
    if (!(w > this.floor[i])) return;
    const k = this.perNode;
    if (k === 0) return;
    const base = i * k;
    const bestW = this.bestW;
    const bestJ = this.bestJ;
    let c = this.count[i];
    if (c === k && w <= bestW[base + c - 1]) return;
    let pos = c < k ? c++ : k - 1;
    this.count[i] = c;
    while (pos > 0 && bestW[base + pos - 1] < w) {
      bestW[base + pos] = bestW[base + pos - 1];
      bestJ[base + pos] = bestJ[base + pos - 1];
      pos--;
    }
    bestW[base + pos] = w;
    bestJ[base + pos] = j;
    if (c === k) this.floor[i] = bestW[base + k - 1];
  }
  edges(): GraphEdges {
    const src: number[] = [];
    const dst: number[] = [];
    const weight: number[] = [];
    for (let i = 0; i < this.n; i++) {
      for (let e = 0; e < this.count[i]; e++) {
        src.push(i);
        dst.push(this.bestJ[i * this.perNode + e]);
        weight.push(this.bestW[i * this.perNode + e]);
      }
    }
    return { src, dst, weight };
  }
}

/**
 * The dense float64 path (n×n transition matrix) for settings outside the sparse regime: rows without any
 * edge (zero features, θ above 1) get the official uniform softmax over all masked entries.
 */
function propagateDense(x: Matrix, rows: readonly number[] | null, s: GPruneSettings, edgesPerNode: number, norms: Float64Array): GroupPropagation {
  const sub: Matrix = rows ? gather(x, rows) : x;
  const n = sub.rows;
  const p = gramSymmetric(normalizeRows(sub, 1e-12), n, sub.cols);
  const degree = new Int32Array(n);
  for (let i = 0; i < n; i++) degree[i] = softmaxRowDense(p, i * n, n, s);
  const mass: Float64Array[] = [norms];
  for (let t = 0; t < s.iterateNum; t++) {
    const m = mass[t];
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const mi = m[i];
      if (mi === 0) continue;
      const off = i * n;
      for (let j = 0; j < n; j++) out[j] += mi * p[off + j];
    }
    mass.push(out);
  }
  const last = mass[mass.length - 1];
  const scores = new Float64Array(n);
  for (let j = 0; j < n; j++) scores[j] = last[j] / degree[j];
  // The flow view reads the same top edges from the dense rows.
  const start = new Int32Array(n + 1);
  const cols: number[] = [];
  const w: number[] = [];
  const lower: number[] = [];
  for (let i = 0; i < n; i++) {
    start[i] = cols.length;
    for (let j = i + 1; j < n; j++) {
      if (p[i * n + j] > 0 || p[j * n + i] > 0) {
        cols.push(j);
        w.push(p[i * n + j]);
        lower.push(p[j * n + i]);
      }
    }
  }
  start[n] = cols.length;
  const g: Graph = { n, diag: new Float64Array(n), start, col: Int32Array.from(cols), sim: new Float64Array(cols.length), selfEdge: new Uint8Array(n), rechecked: 0 };
  const soft: Softmax = {
    max: new Float64Array(n),
    sum: new Float64Array(n),
    degree,
    pDiag: new Float64Array(n),
    pUp: Float64Array.from(w),
    pLo: Float64Array.from(lower),
    temperature: s.temperature,
    shared: false,
    c: 0,
    scale: new Float64Array(n),
  };
  return { norms, degree, mass, scores, edges: strongestEdges(g, soft, edgesPerNode), upperEdges: cols.length, rechecked: 0 };
}

function gather(m: Matrix, rows: readonly number[]): Matrix {
  const d = m.cols;
  const out = new Float64Array(rows.length * d);
  rows.forEach((r, i) => out.set(m.data.subarray(r * d, (r + 1) * d), i * d));
  return { rows: rows.length, cols: d, data: out };
}

/** Dense row i → transition probabilities in place; returns the row's degree (the original implementation). */
function softmaxRowDense(p: Float64Array, off: number, n: number, s: GPruneSettings): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const c = p[off + j];
    const z = (c < s.theta ? 0 : c) / s.temperature;
    const logit = Math.abs(z) < 1e-6 ? NON_EDGE : z;
    p[off + j] = logit;
    if (logit > max) max = logit;
  }
  let sum = 0;
  const skipNonEdges = max - NON_EDGE > 800;
  for (let j = 0; j < n; j++) {
    const z = p[off + j];
    const e = skipNonEdges && z === NON_EDGE ? 0 : Math.exp(z - max);
    p[off + j] = e;
    sum += e;
  }
  let degree = 0;
  for (let j = 0; j < n; j++) {
    p[off + j] /= sum;
    if (p[off + j] > 0) degree++;
  }
  return degree;
}
