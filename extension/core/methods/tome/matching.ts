import { kernelPlan, planErrorBound } from '../../numeric/gemm.ts';
import { cosineRows, crossArgmax } from '../../numeric/gram.ts';
import { rankDescending } from '../../numeric/ranking.ts';
import { scratchF64 } from '../../numeric/scratch.ts';
import { TomeWasm } from './tome-wasm.ts';

/**
 * The two reusable buffers token states alternate between (a step reads one and writes the other): fresh
 * multi-megabyte arrays cost more in zeroed pages and garbage collection than the merging itself.
 */
const STATE_BUFFERS = ['tome.x.0', 'tome.x.1'] as const;

/** Token state between ToMe steps: size-weighted features, sizes, sources and the representative original index. */
export interface TomeState {
  /** Row-major [t, d] float64, in work buffer `slot` (valid until the next ToMe run). */
  x: Float64Array;
  slot: 0 | 1;
  /** The WebAssembly engine whose memory holds the work buffers; null: TypeScript scratch buffers. */
  engine: TomeWasm | null;
  d: number;
  size: number[];
  sources: number[][];
  rep: number[];
}

export interface TomeStep {
  state: TomeState;
  r: number;
  /** [src rep, dst rep] in descending match-score order. */
  merges: [number, number][];
  /** Current-position indices of the unmerged A tokens, in output order. */
  unmerged: number[];
  /** Best score and best B partner (current position) of every A token (positions 0, 2, 4, …). */
  nodeMax: number[];
  nodeIdx: number[];
}

export function initialState(data: Float32Array | Float64Array, n: number, d: number): TomeState {
  const engine = TomeWasm.forSize(n, d);
  const x = stateBuffer(engine, 0, n * d);
  x.set(data.subarray(0, n * d));
  return {
    x,
    slot: 0,
    engine,
    d,
    size: new Array<number>(n).fill(1),
    sources: Array.from({ length: n }, (_, i) => [i]),
    rep: Array.from({ length: n }, (_, i) => i),
  };
}

function stateBuffer(engine: TomeWasm | null, slot: 0 | 1, length: number): Float64Array {
  return engine ? engine.state(slot, length) : scratchF64(STATE_BUFFERS[slot], length);
}

/**
 * One bipartite soft matching step with r merges and size-weighted averaging (merge_wavg).
 * `metric` is [t, dm] aligned with the state's tokens. Output order: [unmerged A …, all B …].
 */
export function tomeStep(state: TomeState, metric: Float32Array | Float64Array, dm: number, rWanted: number, classToken: boolean): TomeStep {
  const t = state.size.length;
  const d = state.d;
  const protectedCount = classToken ? 1 : 0;
  const r = Math.max(0, Math.min(rWanted, Math.floor((t - protectedCount) / 2)));
  const aPos = Array.from({ length: Math.ceil(t / 2) }, (_, i) => 2 * i);
  const bPos = Array.from({ length: Math.floor(t / 2) }, (_, i) => 2 * i + 1);
  // Best B partner of every A token: cosine argmax (first maximum) from one GEMM, float64-settled.
  const m = { rows: t, cols: dm, data: metric };
  const plan = kernelPlan(aPos.length * bPos.length * dm);
  const engine = state.engine;
  // Matching on the state itself (a schedule) reads it in place; other metrics (keys) go through cosineRows.
  const inPlace = engine && metric === state.x;
  const uA = (inPlace && engine.cosine(state.x, t, 0, plan, 1e-12)) || cosineRows(m, aPos, plan, 1e-12, 'tome.a');
  const uB = (inPlace && engine.cosine(state.x, t, 1, plan, 1e-12)) || cosineRows(m, bPos, plan, 1e-12, 'tome.b');
  const best = crossArgmax(uA, uB, plan, planErrorBound(plan, dm), engine ? { exact: engine.exact, scanner: engine } : {});
  const nodeMax: number[] = [];
  const nodeIdx: number[] = [];
  for (let ia = 0; ia < aPos.length; ia++) {
    // The protected [CLS] row is −∞ everywhere, so its argmax is the first B token.
    const isProtected = classToken && ia === 0;
    nodeMax.push(isProtected || bPos.length === 0 ? -Infinity : best.max[ia]);
    nodeIdx.push(isProtected ? 0 : best.arg[ia]);
  }
  if (r === 0) {
    return { state, r, merges: [], unmerged: aPos, nodeMax, nodeIdx: nodeIdx.map((j) => bPos[j]) };
  }
  const edge = rankDescending(nodeMax);
  const src = edge.slice(0, r);
  let unm = edge.slice(r);
  if (classToken) unm = [...unm].sort((p, q) => p - q);

  // merge_wavg: every output row is (Σ x·size) / Σ size over its members, summed in `src` order. Each B row
  // is finished in one visit (its members grouped, `src` order kept within the group): the same additions in
  // the same order, but the output row stays in cache instead of being revisited per merge. Plain loops over
  // hoisted arrays: this runs on every row of every step, and per-element closures cost ~2× the arithmetic.
  const sx = state.x;
  const sizes = state.size;
  const nb = bPos.length;
  const nu = unm.length;
  const slot = state.slot === 0 ? 1 : 0;
  const x = stateBuffer(engine, slot, (nu + nb) * d);
  const size: number[] = [];
  const sources: number[][] = [];
  const rep: number[] = [];
  // Output row `to` = (Σ x·size) / total over row b and `group`: in place in the engine's memory, else in TypeScript.
  const merge = (to: number, b: number, group: readonly number[], total: number): void => {
    if (engine) engine.mergeRow(x, to, sx, b, group, sizes, total);
    else mergeRow(x, to * d, sx, b, group, sizes, total, d);
  };
  for (let o = 0; o < nu; o++) {
    const p = aPos[unm[o]];
    // An unmerged token is (x·size) / size, as merge_wavg computes it.
    merge(o, p, [], sizes[p]);
    size.push(sizes[p]);
    sources.push(state.sources[p]);
    rep.push(state.rep[p]);
  }
  const members: number[][] = Array.from({ length: nb }, () => []);
  const merges: [number, number][] = [];
  for (const ia of src) {
    const ib = nodeIdx[ia];
    members[ib].push(aPos[ia]);
    merges.push([state.rep[aPos[ia]], state.rep[bPos[ib]]]);
  }
  for (let ib = 0; ib < nb; ib++) {
    const p = bPos[ib];
    const group = members[ib];
    let total = sizes[p];
    const bSources = state.sources[p].slice();
    for (const q of group) {
      total += sizes[q];
      for (const member of state.sources[q]) bSources.push(member);
    }
    merge(nu + ib, p, group, total);
    size.push(total);
    sources.push(bSources.sort((u, v) => u - v));
    rep.push(state.rep[p]);
  }
  return {
    state: { x, slot, engine, d, size, sources, rep },
    r,
    merges,
    unmerged: unm.map((ia) => aPos[ia]),
    nodeMax,
    nodeIdx: nodeIdx.map((j) => bPos[j]),
  };
}

/**
 * x[to…] = (sx[b]·size_b + Σ_q sx[q]·size_q) / total over d columns, the members q added in the given order
 * after b. A size of 1 multiplies exactly and a total of 1 divides exactly, so those steps are skipped.
 */
function mergeRow(x: Float64Array, to: number, sx: Float64Array, b: number, group: readonly number[], sizes: readonly number[], total: number, d: number): void {
  const from = b * d;
  const sb = sizes[b];
  if (sb === 1) x.set(sx.subarray(from, from + d), to);
  else for (let k = 0; k < d; k++) x[to + k] = sx[from + k] * sb;
  for (const m of group) {
    const q = m * d;
    const sq = sizes[m];
    if (sq === 1) for (let k = 0; k < d; k++) x[to + k] += sx[q + k];
    else for (let k = 0; k < d; k++) x[to + k] += sx[q + k] * sq;
  }
  if (total !== 1) for (let k = 0; k < d; k++) x[to + k] = x[to + k] / total;
}
