import { InputError } from '../errors.ts';
import { toArray } from '../numeric/ranking.ts';
import { ratioForRound } from '../numeric/budget.ts';
import { type KernelPlan, kernelPlan, planErrorBound } from '../numeric/gemm.ts';
import { type CosineRows, type UpperBlock, cosineRows, exactDot } from '../numeric/gram.ts';
import { type RowGram, rowGram } from '../numeric/row-gram.ts';
import { pyRound } from '../numeric/rounding.ts';
import { num } from './params.ts';
import type { MethodInput, MethodSpec, Params, PruneResult } from './types.ts';

export interface MaxMinSelection {
  /** Picks in selection order. */
  readonly order: number[];
  /** Winning score per step: step 0 the largest nearest-neighbour distance, then the largest min-distance to the set. */
  readonly stepScores: number[];
  /** 2nd-smallest distance per column (self included), the step-0 score of every token. */
  readonly nnDistance: Float64Array;
  /** Min distance of every token to the final selected set (≈0 for selected tokens). */
  readonly minDistance: Float64Array;
  /** First step at which the official unmasked loop would have re-picked a selected token, or -1. */
  readonly repickStep: number;
}

/**
 * DivPrune's greedy max-min selection on D = 1 − cos. Selected tokens are masked explicitly (ALGORITHMS.md
 * errata 5); exact ties go to the lowest index (argmax semantics).
 *
 * The Gram matrix is streamed once (upper staircase) for every token's nearest-neighbour distance, then one
 * row per pick updates the min-distance vector, so no n×n matrix is formed. With a float32 product, every
 * pick whose runner-up lies within twice the float32 error bound is re-decided on float64 distances, so
 * the picks are those of the float64 computation.
 */
export function maxMinSelect(u: CosineRows, plan: KernelPlan, k: number): MaxMinSelection {
  const n = u.n;
  const eps = planErrorBound(plan, u.d);
  const post = u.post;
  // Two largest similarities per token (self included): the 2nd smallest distance of its column.
  const best1 = new Float64Array(n).fill(-Infinity);
  const best2 = new Float64Array(n).fill(-Infinity);
  const nearest = (b: UpperBlock): void => {
    for (let r = 0; r < b.rows; r++) {
      const i = b.i0 + r;
      let b1 = best1[i];
      let b2 = best2[i];
      const self = u.self[i];
      if (self > b1) {
        b2 = b1;
        b1 = self;
      } else if (self > b2) b2 = self;
      const off = r * b.cols - b.i0;
      const pi = post[i];
      for (let j = i + 1; j < n; j++) {
        const v = b.data[off + j] * (pi * post[j]);
        if (v > b1) {
          b2 = b1;
          b1 = v;
        } else if (v > b2) b2 = v;
        if (v > best2[j]) {
          if (v > best1[j]) {
            best2[j] = best1[j];
            best1[j] = v;
          } else best2[j] = v;
        }
      }
      best1[i] = b1;
      best2[i] = b2;
    }
  };
  // One Gram row per pick.
  const gram = rowGram(u, plan, nearest, k);
  const nnDistance = new Float64Array(n);
  // A lone token has no 2nd distance (the official topk(2) would fail); score it 0.
  for (let j = 0; j < n; j++) nnDistance[j] = n > 1 ? 1 - best2[j] : 0;

  const exact = new ExactDistances(u, gram, eps);
  const picked = new Uint8Array(n);
  const order: number[] = [];
  const stepScores: number[] = [];
  let repickStep = -1;
  const minDistance = new Float64Array(n).fill(Infinity);
  const row = new Float64Array(n);
  // The next pick (first maximum over unpicked, non-NaN scores) and the runner-up value: the float64 settling
  // scan runs only when the runner-up lies within 2ε.
  let best = -1;
  let second = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = nnDistance[j];
    if (best === -1 ? v === v : v > nnDistance[best]) {
      if (best !== -1) second = nnDistance[best];
      best = j;
    } else if (v > second) second = v;
  }
  for (let step = 0; step < k; step++) {
    const current = step === 0 ? nnDistance : minDistance;
    let score = current[best];
    if (eps > 0 && second >= score - 2 * eps) [best, score] = exact.settle(current, picked, best, order);
    if (repickStep < 0 && step > 0 && exact.wouldRepick(minDistance, order, best, score)) repickStep = step;
    order.push(best);
    stepScores.push(score);
    picked[best] = 1;
    gram.row(best, row);
    // Distances to the grown set and, in the same pass, the next pick and its runner-up.
    let next = -1;
    let nextValue = -Infinity;
    second = -Infinity;
    for (let j = 0; j < n; j++) {
      let m = minDistance[j];
      const v = 1 - row[j];
      if (v < m) minDistance[j] = m = v;
      if (picked[j]) continue;
      if (next === -1 ? m === m : m > nextValue) {
        if (next !== -1) second = nextValue;
        next = j;
        nextValue = m;
      } else if (m > second) second = m;
    }
    best = next;
  }
  return { order, stepScores, nnDistance, minDistance, repickStep };
}

/** Float64 distances for the few tokens a float32 value cannot rank (DivPrune's certification). */
class ExactDistances {
  private readonly cache = new Map<number, { value: number; through: number }>();
  constructor(
    private readonly u: CosineRows,
    private readonly gram: RowGram,
    private readonly eps: number,
  ) {}

  /**
   * Float64 score of token j with `order` selected (none selected: its nearest-neighbour distance), given
   * `approx`, its float32 score (the minimum of 1 − entry over `order`).
   *
   * With stored float32 entries only the selected tokens within 2ε of `approx` need float64 dots, and
   * each (token, pick) pair is looked at once per run: the exact minimum s* of any prefix of picks has
   * 1 − entry(s*) ≤ exact(s*) + ε ≤ exact(s) + ε ≤ 1 − entry(s) + 2ε for every s in that prefix, so it passed
   * the filter of whichever call first saw it (approx only falls as picks are added).
   */
  value(j: number, order: readonly number[], approx: number): number {
    if (order.length === 0) return this.nearest(j);
    const stored = this.gram.layout !== 'none';
    const bound = approx + 2 * this.eps;
    const hit = this.cache.get(j) ?? { value: Infinity, through: 0 };
    for (let t = hit.through; t < order.length; t++) {
      const s = order[t];
      if (stored && 1 - this.gram.entry(s, j) > bound) continue;
      const dist = 1 - (s === j ? this.u.self[j] : exactDot(this.u, s, j));
      if (dist < hit.value) hit.value = dist;
    }
    hit.through = order.length;
    this.cache.set(j, hit);
    return hit.value;
  }

  /** 1 − (2nd largest float64 similarity of row j, self included); only entries near the top are recomputed. */
  private nearest(j: number): number {
    const n = this.u.n;
    if (n < 2) return 0;
    const row = this.gram.row(j, new Float64Array(n));
    let b1 = -Infinity;
    let b2 = -Infinity;
    for (let i = 0; i < n; i++) {
      if (row[i] > b1) {
        b2 = b1;
        b1 = row[i];
      } else if (row[i] > b2) b2 = row[i];
    }
    let e1 = -Infinity;
    let e2 = -Infinity;
    for (let i = 0; i < n; i++) {
      if (row[i] < b2 - 2 * this.eps) continue;
      const v = i === j ? this.u.self[j] : exactDot(this.u, i, j);
      if (v > e1) {
        e2 = e1;
        e1 = v;
      } else if (v > e2) e2 = v;
    }
    return 1 - e2;
  }

  /** The float64 argmax (lowest index on ties) among the tokens within 2ε of the float32 winner. */
  settle(current: Float64Array, picked: Uint8Array, best: number, order: readonly number[]): [number, number] {
    const floor = current[best] - 2 * this.eps;
    let contenders = 0;
    for (let j = 0; j < current.length; j++) if (!picked[j] && current[j] >= floor) contenders++;
    if (contenders === 1) return [best, current[best]];
    let winner = -1;
    let top = -Infinity;
    for (let j = 0; j < current.length; j++) {
      if (picked[j] || !(current[j] >= floor)) continue;
      const v = this.value(j, order, current[j]);
      if (winner === -1 || v > top) {
        winner = j;
        top = v;
      }
    }
    return [winner, top];
  }

  /**
   * Would the official unmasked argmax (first maximum over all tokens) land on an already selected token?
   * Selected tokens sit at distance ≈ 0 (their own row), so only a winner within 2ε of 0 needs float64.
   */
  wouldRepick(minDistance: Float64Array, order: readonly number[], best: number, score: number): boolean {
    if (this.eps === 0) return order.some((s) => minDistance[s] > score || (minDistance[s] === score && s < best));
    if (score > 2 * this.eps) return false;
    const b = this.value(best, order, minDistance[best]);
    return order.some((s) => {
      const v = this.value(s, order, minDistance[s]);
      return v > b || (v === b && s < best);
    });
  }
}

function run(input: MethodInput, params: Params): PruneResult {
  const ratio = num(params, 'ratio');
  if (!(ratio > 0)) throw new InputError(`Parameter ratio of divprune must be in (0, 1], got ${ratio}.`);
  const n = input.n;
  const k = pyRound(ratio * n);
  if (k < 1) throw new InputError(`divprune ratio ${ratio} keeps round(${ratio}·${n}) = 0 tokens; raise the ratio.`);

  const f = input.matrix('features');
  const plan = kernelPlan((n * n * f.cols) / 2);
  const sel = maxMinSelect(cosineRows(f, null, plan, 1e-12, 'divprune.rows'), plan, k);
  const keep = [...sel.order].sort((a, b) => a - b);
  // Heat: picked tokens 2 + K − position (first pick highest), others their final distance to the set (≤ 2).
  const scores = toArray(sel.minDistance);
  const pickRank = new Array<number>(n).fill(-1);
  sel.order.forEach((t, p) => {
    scores[t] = 2 + k - p;
    pickRank[t] = p;
  });
  const notes = ['Selected tokens are masked explicitly (the official loop relies on their zero self-distance); computed in float64.'];
  if (sel.repickStep >= 0) notes.push(`The official unmasked loop would have re-selected a token at step ${sel.repickStep} (exact duplicates).`);
  return {
    method: 'divprune',
    params: { ...params },
    n,
    keep,
    scores,
    scoreName: 'pick rank (picked: 2+K−position) / min cosine distance to the kept set',
    selection: 'greedy',
    output: { keep, K: k, order: sel.order, step_scores: sel.stepScores, has_duplicates: sel.repickStep >= 0 },
    trace: {
      pick_rank: pickRank,
      nn_distance: toArray(sel.nnDistance),
      min_distance_final: toArray(sel.minDistance),
      step_scores: sel.stepScores,
    },
    notes,
  };
}

export const divprune: MethodSpec = {
  id: 'divprune',
  label: 'DivPrune (max-min diversity)',
  source: 'Alvar et al., CVPR 2025, arXiv 2503.02175; code vbdi/divprune @ 799e2d95 (llava_arch.py DivPrune)',
  family: 'baseline',
  needs: ['features'],
  optional: [],
  params: [
    { name: 'ratio', kind: 'number', default: 0.098, min: 0, max: 1, description: 'Keep ratio ρ: K = round(ρ·N), Python round-half-even (SUBSET_RATIO).' },
    {
      name: 'tokens',
      kind: 'string',
      informational: true,
      description: 'Informational: which tokens form the pool (always every token of the bundle, newlines included).',
    },
  ],
  selection: 'greedy',
  budgetParams(k, n, current) {
    const r = ratioForRound(k, n);
    return r === null ? null : { ...current, ratio: r };
  },
  run,
};
