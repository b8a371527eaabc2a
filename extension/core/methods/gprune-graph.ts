import type { Matrix } from '../bundle/tensor.ts';
import { gramSymmetric } from '../numeric/gram.ts';
import { normalizeRows, rowNorms } from '../numeric/linalg.ts';

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
}

/** Logit given to non-edges (the official code's masking value); exp underflows to exactly 0. */
const NON_EDGE = -5000;

/**
 * The official G-Prune graph for one token group, in float64: cosine graph → threshold → /T → mask → row
 * softmax P; then the iterative form m⁽ᵗ⁺¹⁾ = m⁽ᵗ⁾P of the code's `matrix_power` (same math).
 */
export function propagateGroup(x: Matrix, s: GPruneSettings, edgesPerNode = 8): GroupPropagation {
  const n = x.rows;
  const norms = rowNorms(x);
  // F.normalize semantics (norm clamped at 1e-12), so a zero row gets an all-masked softmax row.
  const p = gramSymmetric(normalizeRows(x, 1e-12), n, x.cols);
  const degree = new Int32Array(n);
  for (let i = 0; i < n; i++) degree[i] = softmaxRow(p, i * n, n, s);

  const mass: Float64Array[] = [norms];
  for (let t = 0; t < s.iterateNum; t++) mass.push(stepMass(mass[t], p, n));
  const last = mass[mass.length - 1];
  const scores = new Float64Array(n);
  for (let j = 0; j < n; j++) scores[j] = last[j] / degree[j];
  return { norms, degree, mass, scores, edges: strongestEdges(p, n, edgesPerNode) };
}

/** Turns row i of the cosine matrix into transition probabilities in place; returns the row's degree. */
function softmaxRow(p: Float64Array, off: number, n: number, s: GPruneSettings): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const c = p[off + j];
    const z = (c < s.theta ? 0 : c) / s.temperature;
    const logit = Math.abs(z) < 1e-6 ? NON_EDGE : z;
    p[off + j] = logit;
    if (logit > max) max = logit;
  }
  let sum = 0;
  // exp(−5000 − max) is exactly 0 in float64 whenever the row has any edge; skip those calls.
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

/** m′_j = Σ_i m_i P_ij. */
function stepMass(m: Float64Array, p: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const mi = m[i];
    if (mi === 0) continue;
    const off = i * n;
    for (let j = 0; j < n; j++) out[j] += mi * p[off + j];
  }
  return out;
}

function strongestEdges(p: Float64Array, n: number, perNode: number): GraphEdges {
  const src: number[] = [];
  const dst: number[] = [];
  const weight: number[] = [];
  const bestJ = new Int32Array(perNode);
  const bestW = new Float64Array(perNode);
  for (let i = 0; i < n; i++) {
    let count = 0;
    const off = i * n;
    for (let j = 0; j < n; j++) {
      const w = p[off + j];
      if (j === i || !(w > 0)) continue;
      if (count === perNode && w <= bestW[count - 1]) continue;
      // Insertion into the sorted (desc) top list; ties keep the lower index first.
      let pos = count < perNode ? count++ : perNode - 1;
      while (pos > 0 && bestW[pos - 1] < w) {
        bestW[pos] = bestW[pos - 1];
        bestJ[pos] = bestJ[pos - 1];
        pos--;
      }
      bestW[pos] = w;
      bestJ[pos] = j;
    }
    for (let e = 0; e < count; e++) {
      src.push(i);
      dst.push(bestJ[e]);
      weight.push(bestW[e]);
    }
  }
  return { src, dst, weight };
}
