import type { Matrix } from '../bundle/tensor.ts';
import { kernelPlan } from '../numeric/gemm.ts';
import { cosineRows, gramSymmetric } from '../numeric/gram.ts';
import { normalizeRows } from '../numeric/linalg.ts';
import { buildGraph } from './gprune-edges.ts';
import { type GPruneSettings, NON_EDGE } from './gprune-limits.ts';
import { type GraphEdges, TopEdges, propagateMass, softmax } from './gprune-transition.ts';

export { gpruneLimits, type GPruneSettings } from './gprune-limits.ts';
export type { GraphEdges } from './gprune-transition.ts';

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

/**
 * The official G-Prune graph for one token group: cosine graph → threshold → /T → mask → row softmax P;
 * then the iterative form m⁽ᵗ⁺¹⁾ = m⁽ᵗ⁾P of the code's `matrix_power` (same math, 5 sparse products).
 *
 * The similarity is streamed in upper-staircase blocks (float32 GEMM for large groups) and only the
 * thresholded edges are kept: an upper-triangle CSR (gprune-edges.ts). Softmax sums and mass products run
 * in float64 in the same order as the dense loop (gprune-transition.ts).
 */
export function propagateGroup(x: Matrix, s: GPruneSettings, edgesPerNode = 8, rows: readonly number[] | null = null): GroupPropagation {
  const n = rows ? rows.length : x.rows;
  const plan = kernelPlan((n * n * x.cols) / 2);
  const u = cosineRows(x, rows, plan, 1e-12, 'gprune.rows');
  const graph = buildGraph(u, s, plan);
  const top = new TopEdges(n, edgesPerNode);
  const soft = softmax(graph, s, top);
  if (!soft) return propagateDense(x, rows, s, edgesPerNode, u.norms);

  const mass = propagateMass(u.norms, soft, graph, s.iterateNum);
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
  const top = new TopEdges(n, edgesPerNode);
  let upper = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = p[i * n + j];
      const b = p[j * n + i];
      if (a > 0 || b > 0) {
        upper++;
        top.offer(i, j, a);
        top.offer(j, i, b);
      }
    }
  }
  return { norms, degree, mass, scores, edges: top.edges(), upperEdges: upper, rechecked: 0 };
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
