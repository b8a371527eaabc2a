// F³A Stages 2–4 (§4.3 [PROPOSED]): local refinement, coverage-preserving competition, recovery.
import type { Grid } from '../types.ts';
import { rankDescending } from '../../numeric/ranking.ts';
import type { Cells } from './budget.ts';
import { npSum } from './npsum.ts';
import { Coverage, screenOnOrt } from './coverage.ts';
import { Medoids } from './medoid.ts';

export const T_REF = 3;
export const LAMBDA = 0.5;
export const MU = 0.25;
export const SIGMA_S = 1.5;

export type Stage = 'loc' | 'comp' | 'rec';

/** The growing selection S, in insertion order, with a stage label per pick. */
export class Selection {
  readonly order: number[] = [];
  readonly stage: Stage[] = [];
  readonly taken: Uint8Array;
  constructor(n: number) {
    this.taken = new Uint8Array(n);
  }
  add(i: number, s: Stage): void {
    this.taken[i] = 1;
    this.order.push(i);
    this.stage.push(s);
  }
  get size(): number {
    return this.order.length;
  }
}

/** Shared geometry and similarity for the stages. */
export interface Field {
  readonly n: number;
  readonly d: number;
  readonly grid: Grid;
  readonly odour: Float64Array;
  /** Centred unit tokens ṽ, N×d. */
  readonly centred: Float64Array;
}

const rowOf = (f: Field, i: number): number => Math.floor(i / f.grid.w);
const colOf = (f: Field, i: number): number => i % f.grid.w;

export interface Refinement {
  readonly cell: number;
  readonly quota: number;
  /** p*⁽⁰⁾…p*⁽ᵀ⁾ as [row, col] (shorter when the weights vanish). */
  readonly path: [number, number][];
  readonly picked: number[];
}

/** Stage 2: odour-weighted mean-shift from each active cell's best token, then the top-q local scores. */
export function localize(f: Field, cells: Cells, quotas: Int32Array, B_loc: number, sel: Selection): Refinement[] {
  const sigma = cells.g / 2;
  const twoSigma2 = 2 * sigma * sigma;
  const reach = cells.g / 2 + 1;
  const rows = Float64Array.from({ length: f.n }, (_, i) => rowOf(f, i));
  const cols = Float64Array.from({ length: f.n }, (_, i) => colOf(f, i));
  const weight = (i: number, pr: number, pc: number): number => f.odour[i] * Math.exp(-((rows[i] - pr) ** 2 + (cols[i] - pc) ** 2) / twoSigma2);
  const w = new Float64Array(f.n);
  const wr = new Float64Array(f.n);
  const wc = new Float64Array(f.n);
  const out: Refinement[] = [];
  quotas.forEach((q, c) => {
    if (q <= 0) return;
    let start = cells.members[c][0];
    for (const i of cells.members[c]) if (f.odour[i] > f.odour[start]) start = i;
    let pr = rows[start];
    let pc = cols[start];
    const path: [number, number][] = [[pr, pc]];
    for (let t = 0; t < T_REF; t++) {
      for (let i = 0; i < f.n; i++) w[i] = weight(i, pr, pc);
      const total = npSum(w);
      if (total === 0) break;
      for (let i = 0; i < f.n; i++) {
        wr[i] = w[i] * rows[i];
        wc[i] = w[i] * cols[i];
      }
      pr = npSum(wr) / total;
      pc = npSum(wc) / total;
      path.push([pr, pc]);
    }
    const region: number[] = [];
    for (let i = 0; i < f.n; i++) {
      if (!sel.taken[i] && Math.abs(rows[i] - pr) <= reach && Math.abs(cols[i] - pc) <= reach) region.push(i);
    }
    // Local scores (the weights at the converged point) are needed only inside the region.
    const ranked = rankDescending(region.map((i) => weight(i, pr, pc))).slice(0, q);
    const picked = ranked.map((t) => region[t]);
    for (const i of picked) sel.add(i, 'loc');
    out.push({ cell: c, quota: q, path, picked });
  });
  if (sel.size < B_loc) {
    for (const i of rankDescending(f.odour)) {
      if (sel.size >= B_loc) break;
      if (!sel.taken[i]) sel.add(i, 'loc');
    }
  }
  return out;
}

export interface CompetitionRound {
  readonly token: number;
  readonly gain: number;
  /** λ·max(red, 0) of the picked token. */
  readonly redPenalty: number;
  /** μ·crowd of the picked token. */
  readonly crowdPenalty: number;
}

export interface Competition {
  readonly rounds: CompetitionRound[];
  /** max_{j∈S} ṽ_i·ṽ_j after the stage (−1 where S is empty): the coverage Stage 4 starts from. */
  readonly red: Float64Array;
}

/** exp(−‖Δpos‖²/(2σ²)) by integer squared distance (the same numbers as computing each one). */
function crowdTable(grid: Grid, sigma: number): Float64Array {
  const maxSq = (grid.h - 1) ** 2 + (grid.w - 1) ** 2;
  const twoSigma2 = 2 * sigma * sigma;
  return Float64Array.from({ length: maxSq + 1 }, (_, q) => Math.exp(-q / twoSigma2));
}

/** Rows fetched per speculative batch (the pick plus the likeliest next picks). */
const SPEC_BATCH = 8;

/** Stage 3: B_comp greedy picks of o − λ·max(red,0) − μ·crowd. */
export function compete(f: Field, B_comp: number, sel: Selection): Competition {
  const n = f.n;
  const w = f.grid.w;
  const cover = new Coverage(f.centred, n, f.d, new Float64Array(n).fill(-1));
  const red = cover.best;
  const crowd = new Float64Array(n);
  const table = crowdTable(f.grid, SIGMA_S);
  const crowdBy = (j: number): void => {
    const rj = Math.floor(j / w);
    const cj = j % w;
    for (let i = 0; i < n; i++) {
      const dr = Math.floor(i / w) - rj;
      const dc = (i % w) - cj;
      const near = table[dr * dr + dc * dc];
      if (near > crowd[i]) crowd[i] = near;
    }
  };
  // Every token selected so far at once.
  cover.absorbAll(sel.order);
  for (const j of sel.order) crowdBy(j);
  const rounds: CompetitionRound[] = [];
  const gain = new Float64Array(n);
  for (let r = 0; r < B_comp && sel.size < n; r++) {
    let best = -1;
    let bestGain = -Infinity;
    for (let i = 0; i < n; i++) {
      if (sel.taken[i]) {
        gain[i] = -Infinity;
        continue;
      }
      gain[i] = f.odour[i] - LAMBDA * Math.max(red[i], 0) - MU * crowd[i];
      if (best === -1 || gain[i] > bestGain) {
        best = i;
        bestGain = gain[i];
      }
    }
    rounds.push({ token: best, gain: bestGain, redPenalty: LAMBDA * Math.max(red[best], 0), crowdPenalty: MU * crowd[best] });
    sel.add(best, 'comp');
    // The pick's row together with the rows of the next best gains (likely the next picks).
    if (!cover.has(best)) cover.prefetch([best, ...bestOthers(gain, best, cover, Math.min(SPEC_BATCH, B_comp - r) - 1)]);
    cover.absorb(best);
    crowdBy(best);
  }
  return { rounds, red };
}

/** The `count` tokens with the largest gain (ties: lower index) other than `skip` and those already fetched. */
function bestOthers(gain: Float64Array, skip: number, cover: Coverage, count: number): number[] {
  const out: number[] = [];
  if (count <= 0) return out;
  // Insertion into a short list sorted by gain desc; later indices only displace strictly smaller gains.
  for (let i = 0; i < gain.length; i++) {
    const g = gain[i];
    if (g === -Infinity || i === skip || (out.length === count && g <= gain[out[count - 1]]) || cover.has(i)) continue;
    let at = out.length === count ? count - 1 : out.length;
    while (at > 0 && gain[out[at - 1]] < g) {
      out[at] = out[at - 1];
      at--;
    }
    out[at] = i;
  }
  return out;
}

export interface RecoveryRound {
  /** U_c per cell (−∞ for exhausted cells). */
  readonly U: Float64Array;
  readonly cell: number;
  readonly token: number;
}

export interface Recovery {
  readonly rounds: RecoveryRound[];
  readonly coverBefore: Float64Array;
  readonly coverAfter: Float64Array;
}

const clip = (x: number): number => Math.min(1, Math.max(-1, x));

/** Stage 4: B_rec times, add the medoid (over the whole cell) of the least-covered cell. */
export function recover(f: Field, cells: Cells, B_rec: number, sel: Selection, cover: Float64Array): Recovery {
  const medoids = new Medoids(f.centred, f.d, screenOnOrt(f.n, f.d));
  const coverage = new Coverage(f.centred, f.n, f.d, cover);
  const cov = coverage.best;
  const coverBefore = Float64Array.from(cover);
  const rounds: RecoveryRound[] = [];
  for (let r = 0; r < B_rec && sel.size < f.n; r++) {
    const U = Float64Array.from(cells.members, (mem) =>
      mem.some((i) => !sel.taken[i]) ? npSum(mem.map((i) => 1 - clip(cov[i]))) / mem.length : -Infinity,
    );
    let cell = 0;
    for (let c = 1; c < U.length; c++) if (U[c] > U[cell]) cell = c;
    const token = medoids.of(cell, cells.members[cell], sel.taken);
    rounds.push({ U, cell, token });
    sel.add(token, 'rec');
    if (!coverage.has(token)) {
      // With the medoids of the next least-covered cells (likely the next picks).
      const next = rankDescending(U)
        .filter((c) => c !== cell && U[c] > -Infinity)
        .slice(0, Math.min(SPEC_BATCH, B_rec - r) - 1);
      coverage.prefetch([token, ...next.map((c) => medoids.of(c, cells.members[c], sel.taken))]);
    }
    coverage.absorb(token);
  }
  return { rounds, coverBefore, coverAfter: cov };
}
