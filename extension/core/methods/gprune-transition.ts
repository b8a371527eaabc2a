import { expDet } from '../numeric/exp-det.ts';
import { scratchF64 } from '../numeric/scratch.ts';
import { type FlowRun, FlowWasm } from './gprune-flow-wasm.ts';
import type { Graph } from './gprune-edges.ts';
import { type GPruneSettings, NON_EDGE, gpruneLimits } from './gprune-limits.ts';

export interface GraphEdges {
  /** Group-local source / target node and transition weight P_ij, strongest first per source. */
  readonly src: number[];
  readonly dst: number[];
  readonly weight: number[];
}

/** Row-stochastic transition matrix P on the graph's edges. */
export interface Transition {
  readonly degree: Int32Array;
  /** P_ii. */
  readonly pDiag: Float64Array;
  /** Cached P_ij (row i's weight) and P_ji (row j's weight) per stored edge, or null (recompute). */
  readonly pUp: Float64Array | null;
  readonly pLo: Float64Array | null;
  readonly max: Float64Array;
  readonly sum: Float64Array;
  readonly temperature: number;
  /** Shared-reference weights (see softmax): exp(z − c)·scale[i] instead of exp(z − max_i). */
  readonly shared: boolean;
  readonly c: number;
  readonly scale: Float64Array;
  /** The WebAssembly run holding the weights (valid until the next softmax), or null (TypeScript loops). */
  readonly flow: FlowRun | null;
}

/**
 * Unnormalised weight of logit z in row i, computed the same way everywhere. The shared reference's exp is
 * expDet, which the WebAssembly exp kernel reproduces bit for bit (Math.exp's last bit is the engine's).
 */
function rowWeight(p: Transition, z: number, i: number): number {
  return p.shared ? expDet(z - p.c) * p.scale[i] : Math.exp(z - p.max[i]);
}

/**
 * Row softmax over the edges of each row (non-edges contribute exp(−5000 − max) = 0 exactly), offering
 * every weight to `top`. Returns null when a row falls outside that regime (no edge at all, or logits so
 * low that masked entries count), which the dense path handles. Sums run in column order per row, as the
 * dense loop adds them: lower entries arrive from earlier rows (ascending), then self, then upper ones.
 */
export function softmax(g: Graph, s: GPruneSettings, top: TopEdges): Transition | null {
  const { n, start, diag, selfEdge } = g;
  const T = s.temperature;
  const edges = start[n];
  const cache = edges <= gpruneLimits.pCacheEdges;
  const flow = cache ? FlowWasm.run(n, edges, top.perNode, Math.max(2, s.iterateNum + 1)) : null;
  const max = flow ? flow.max : new Float64Array(n);
  max.fill(-Infinity);
  for (let i = 0; i < n; i++) if (selfEdge[i] && diag[i] / T > max[i]) max[i] = diag[i] / T;
  const minZ = flow ? flowMaxima(g, T, flow) : rowMaxima(g, T, max);
  // The dense loop skips exp for masked entries only when max − NON_EDGE > 800; require the same here.
  for (let i = 0; i < n; i++) if (!(max[i] - NON_EDGE > 800)) return null;

  // One exp per edge: exp(z − max_i) = exp(z − c)·exp(c − max_i) with a shared reference c (the largest
  // row maximum), exact to a few ulps, when no weight underflows on the way; otherwise one exp per entry.
  let c = -Infinity;
  for (let i = 0; i < n; i++) if (max[i] > c) c = max[i];
  const shared = minZ - c > -600;
  const scale = new Float64Array(n);
  if (shared) for (let i = 0; i < n; i++) scale[i] = Math.exp(c - max[i]);
  if (flow) return flowSoftmax(g, T, top, flow, shared, c, scale);
  // Every cached weight is written below; the buffers are reused by the next run.
  const pUp = cache ? scratchF64('gprune.pUp', edges) : null;
  const pLo = cache ? scratchF64('gprune.pLo', edges) : null;
  const sum = new Float64Array(n);
  const pDiag = new Float64Array(n);
  const p: Transition = { degree: new Int32Array(n), pDiag, pUp, pLo, max, sum, temperature: T, shared, c, scale, flow: null };
  if (shared && pUp && pLo) sharedWeights(g, T, p, pUp, pLo);
  else weightsLoop(g, T, p);
  normalise(g, p, top);
  return p;
}

/** Row maxima of the logits sim/T (max holds the self-loop ones) and the smallest logit, in one pass. */
function rowMaxima(g: Graph, T: number, max: Float64Array): number {
  const { n, start, col, sim } = g;
  let minZ = Infinity;
  for (let i = 0; i < n; i++) {
    let mi = max[i];
    const end = start[i + 1];
    for (let e = start[i]; e < end; e++) {
      const z = sim[e] / T;
      const j = col[e];
      if (z > mi) mi = z;
      if (z > max[j]) max[j] = z;
      if (z < minZ) minZ = z;
    }
    max[i] = mi;
  }
  return minZ;
}

/** rowMaxima in WebAssembly, after copying the graph in; the logits stay in flow.up for the exp pass. */
function flowMaxima(g: Graph, T: number, flow: FlowRun): number {
  const { n, start, col, sim, selfEdge } = g;
  const edges = start[n];
  flow.start.set(start.subarray(0, n + 1));
  flow.col.set(col.subarray(0, edges));
  flow.self.set(selfEdge.subarray(0, n));
  flow.up.set(sim.subarray(0, edges));
  return flow.maxima(T);
}

/** The weight pass with one or two exps per edge, for every case (cached or not, shared or not). */
function weightsLoop(g: Graph, T: number, p: Transition): void {
  const { n, start, col, sim, diag, selfEdge } = g;
  const { max, scale, sum, pDiag, pUp, pLo, shared, c } = p;
  for (let i = 0; i < n; i++) {
    let si = sum[i];
    if (selfEdge[i]) {
      pDiag[i] = Math.exp(diag[i] / T - max[i]);
      si += pDiag[i];
    }
    const mi = max[i];
    const fi = scale[i];
    for (let e = start[i]; e < start[i + 1]; e++) {
      const z = sim[e] / T;
      const j = col[e];
      let a: number;
      let b: number;
      if (shared) {
        const w = expDet(z - c);
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
}

/**
 * softmax with the weights, normalisation and top lists in WebAssembly. With the shared reference the
 * kernels compute one exp per edge too; otherwise TypeScript writes both weights and the row sums, as
 * weightsLoop does.
 */
function flowSoftmax(g: Graph, T: number, top: TopEdges, flow: FlowRun, shared: boolean, c: number, scale: Float64Array): Transition {
  const { n, diag, selfEdge } = g;
  const max = flow.max;
  flow.sum.fill(0);
  flow.diag.fill(0);
  const p: Transition = { degree: flow.degree, pDiag: flow.diag, pUp: flow.up, pLo: flow.lo, max, sum: flow.sum, temperature: T, shared, c, scale, flow };
  if (shared) {
    const pDiag = flow.diag;
    for (let i = 0; i < n; i++) if (selfEdge[i]) pDiag[i] = Math.exp(diag[i] / T - max[i]);
    // up holds the logits sim/T (flowMaxima); the kernel turns them into expDet(z − c).
    flow.exp(c);
    flow.scale.set(scale);
    flow.weights();
  } else weightsLoop(g, T, p);
  flow.normalise(top);
  // Callers keep the degrees; the module's copy is reused by the next run.
  return { ...p, degree: flow.degree.slice() };
}

/** The common case of the weight pass (shared reference, cached weights) without per-edge branches. */
function sharedWeights(g: Graph, T: number, p: Transition, pUp: Float64Array, pLo: Float64Array): void {
  const { n, start, col, sim, diag, selfEdge } = g;
  const { max, scale, sum, pDiag, c } = p;
  for (let i = 0; i < n; i++) {
    let si = sum[i];
    if (selfEdge[i]) {
      pDiag[i] = Math.exp(diag[i] / T - max[i]);
      si += pDiag[i];
    }
    const fi = scale[i];
    const end = start[i + 1];
    for (let e = start[i]; e < end; e++) {
      const w = expDet(sim[e] / T - c);
      const j = col[e];
      const a = w * fi;
      const b = w * scale[j];
      si += a;
      sum[j] += b;
      pUp[e] = a;
      pLo[e] = b;
    }
    sum[i] = si;
  }
}

/** P = weights / row sums in place (or recomputed when not cached); degrees and top-edge offers. */
function normalise(g: Graph, p: Transition, top: TopEdges): void {
  const { n, start, col, sim } = g;
  const { pDiag, pUp, pLo, sum, degree, temperature: T } = p;
  for (let i = 0; i < n; i++) {
    pDiag[i] /= sum[i];
    if (pDiag[i] > 0) degree[i]++;
  }
  const floor = top.floor;
  for (let i = 0; i < n; i++) {
    const si = sum[i];
    let di = 0;
    const end = start[i + 1];
    if (pUp && pLo) {
      for (let e = start[i]; e < end; e++) {
        const j = col[e];
        const a = (pUp[e] /= si);
        const b = (pLo[e] /= sum[j]);
        if (a > 0) di++;
        if (b > 0) degree[j]++;
        if (a > floor[i]) top.insert(i, j, a);
        if (b > floor[j]) top.insert(j, i, b);
      }
    } else {
      for (let e = start[i]; e < end; e++) {
        const j = col[e];
        const z = sim[e] / T;
        const a = rowWeight(p, z, i) / si;
        const b = rowWeight(p, z, j) / sum[j];
        if (a > 0) di++;
        if (b > 0) degree[j]++;
        top.offer(i, j, a);
        top.offer(j, i, b);
      }
    }
    degree[i] += di;
  }
}

/**
 * m′_j = Σ_i m_i P_ij with the terms of every m′_j added in ascending i, as the dense loop does: entries
 * (i<j) arrive while row i is processed; self and (i>j) entries are added when row j is processed.
 */
export function stepMass(m: Float64Array, p: Transition, g: Graph): Float64Array {
  const n = g.n;
  if (p.flow) {
    p.flow.slot(0).set(m);
    p.flow.mass(1);
    return p.flow.slot(1).slice();
  }
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

/** m⁽⁰⁾ … m⁽ˢᵗᵉᵖˢ⁾ (m⁽⁰⁾ = m0 itself), fresh arrays: one WebAssembly call for all steps where it can. */
export function propagateMass(m0: Float64Array, p: Transition, g: Graph, steps: number): Float64Array[] {
  const mass = [m0];
  if (p.flow && steps > 0) {
    p.flow.slot(0).set(m0);
    p.flow.mass(steps);
    for (let t = 1; t <= steps; t++) mass.push(p.flow.slot(t).slice());
    return mass;
  }
  for (let t = 0; t < steps; t++) mass.push(stepMass(mass[t], p, g));
  return mass;
}

/** Per-row insertion lists of the strongest `perNode` weights (descending; equal weights keep the first). */
export class TopEdges {
  readonly count: Int32Array;
  readonly bestJ: Int32Array;
  readonly bestW: Float64Array;
  /** Weight a candidate must beat: 0 until the row's list is full, then its smallest entry (∞ if perNode = 0). */
  readonly floor: Float64Array;
  constructor(
    private readonly n: number,
    readonly perNode: number,
  ) {
    this.count = new Int32Array(n);
    this.bestJ = new Int32Array(n * perNode);
    this.bestW = new Float64Array(n * perNode);
    this.floor = new Float64Array(n).fill(perNode > 0 ? 0 : Infinity);
  }
  offer(i: number, j: number, w: number): void {
    if (w > this.floor[i]) this.insert(i, j, w);
  }
  /** Adds (j, w) to row i's list; callers check w > floor[i] first. */
  insert(i: number, j: number, w: number): void {
    const k = this.perNode;
    const base = i * k;
    const bestW = this.bestW;
    const bestJ = this.bestJ;
    let c = this.count[i];
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
    const { n, perNode, count, bestJ, bestW } = this;
    let total = 0;
    for (let i = 0; i < n; i++) total += count[i];
    // Sized up front: growing the arrays by push costs several times the copy.
    const src = new Array<number>(total);
    const dst = new Array<number>(total);
    const weight = new Array<number>(total);
    let o = 0;
    for (let i = 0; i < n; i++) {
      const base = i * perNode;
      for (let e = 0; e < count[i]; e++, o++) {
        src[o] = i;
        dst[o] = bestJ[base + e];
        weight[o] = bestW[base + e];
      }
    }
    return { src, dst, weight };
  }
}
