// F³A budget split and Stage-1 cell quotas (§4.3 [PROPOSED]). All roundings are ⌊x + ½⌋.
import type { Grid } from '../types.ts';
import { roundHalfUp } from '../../numeric/rounding.ts';
import { npMedian, npSum } from './npsum.ts';

export const FLAT_KAPPA = 0.1;
export const TAU_CELL = 0.1;

export interface Budgets {
  readonly B_loc: number;
  readonly B_comp: number;
  readonly B_rec: number;
}

export interface Split {
  readonly kappa: number;
  readonly flat: boolean;
  readonly budgets: Budgets;
}

function sortedDesc(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x)
    .sort()
    .reverse();
}

/** Mean of the t largest values, added in descending order. */
function topMean(x: ArrayLike<number>, t: number): number {
  return npSum(sortedDesc(x).subarray(0, t)) / t;
}

/** κ = mean(top-⌈0.1N⌉ odours) − median(o); flat odour (κ < 0.1) shifts budget to competition and recovery. */
export function splitBudget(odour: Float64Array, B: number): Split {
  const kappa = topMean(odour, Math.ceil(0.1 * odour.length)) - npMedian(odour);
  const flat = kappa < FLAT_KAPPA;
  const beta = flat ? 0.5 : 0.25;
  const gamma = flat ? 0.2 : 0.15;
  const B_rec = roundHalfUp(gamma * B);
  const B_comp = roundHalfUp(beta * B);
  return { kappa, flat, budgets: { B_loc: B - B_rec - B_comp, B_comp, B_rec } };
}

export interface Cells {
  /** Cell size g. */
  readonly g: number;
  /** Cells per grid row, ⌈w/g⌉. */
  readonly across: number;
  /** cell(i) per token. */
  readonly cellOf: Int32Array;
  /** Tokens of each cell, ascending. */
  readonly members: number[][];
}

/** g = max(2, ⌊√(N/36) + ½⌋) (≈ 36 cells); cell(i) = ⌊r/g⌋·⌈w/g⌉ + ⌊c/g⌋. */
export function makeCells(grid: Grid): Cells {
  const n = grid.h * grid.w;
  const g = Math.max(2, roundHalfUp(Math.sqrt(n / 36)));
  const across = Math.ceil(grid.w / g);
  const members: number[][] = Array.from({ length: Math.ceil(grid.h / g) * across }, () => []);
  const cellOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(Math.floor(i / grid.w) / g) * across + Math.floor((i % grid.w) / g);
    cellOf[i] = c;
    members[c].push(i);
  }
  return { g, across, cellOf, members };
}

/** O_c = mean of the top-⌈|c|/4⌉ odours in the cell (robust to small objects). */
export function cellOdour(cells: Cells, odour: Float64Array): Float64Array {
  return Float64Array.from(cells.members, (mem) =>
    topMean(
      mem.map((i) => odour[i]),
      Math.ceil(mem.length / 4),
    ),
  );
}

/** softmax(O/τ_c), max-shifted. */
export function cellWeights(O: Float64Array): Float64Array {
  const z = O.map((v) => v / TAU_CELL);
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const total = npSum(e);
  return e.map((v) => v / total);
}

/**
 * Integer quotas by capped water-filling with largest remainder: floors first, then single units by
 * fractional part (desc, cell asc) to cells still under cap ⌈|c|/2⌉, repeated while budget and room remain.
 * Whatever cannot be placed (every cell capped) is left to the Stage-2 top-up.
 */
export function waterFill(p: Float64Array, cells: Cells, B_loc: number): Int32Array {
  const nc = p.length;
  const cap = Int32Array.from(cells.members, (m) => Math.ceil(0.5 * m.length));
  const q = new Int32Array(nc);
  let rem = B_loc;
  while (rem > 0) {
    const open: number[] = [];
    for (let c = 0; c < nc; c++) if (q[c] < cap[c]) open.push(c);
    if (open.length === 0) break;
    const total = npSum(open.map((c) => p[c]));
    const raw = open.map((c) => (p[c] / total) * rem);
    let left = rem;
    open.forEach((c, t) => {
      const add = Math.min(Math.floor(raw[t]), cap[c] - q[c]);
      q[c] += add;
      left -= add;
    });
    const byFrac = open
      .map((c, t) => ({ c, f: raw[t] - Math.floor(raw[t]) }))
      .sort((a, b) => (a.f !== b.f ? b.f - a.f : a.c - b.c));
    for (const { c } of byFrac) {
      if (left === 0) break;
      if (q[c] < cap[c]) {
        q[c]++;
        left--;
      }
    }
    rem = left;
  }
  return q;
}
