import { InputError } from '../errors.ts';
import { ratioForRound } from '../numeric/budget.ts';
import { gramSymmetric } from '../numeric/gram.ts';
import { normalizeRows } from '../numeric/linalg.ts';
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
 * DivPrune's greedy max-min selection on D = 1 − cos, float64. Selected tokens are masked explicitly
 * (ALGORITHMS.md errata 5); exact ties go to the lowest index (argmax semantics).
 */
export function maxMinSelect(x: Float64Array, n: number, d: number, k: number): MaxMinSelection {
  const g = gramSymmetric(x, n, d);
  const nnDistance = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let min1 = Infinity;
    let min2 = Infinity;
    // Column j of the symmetric G is row j: read it contiguously.
    for (let i = 0; i < n; i++) {
      const v = 1 - g[j * n + i];
      if (v < min1) {
        min2 = min1;
        min1 = v;
      } else if (v < min2) min2 = v;
    }
    // A lone token has no 2nd distance (the official topk(2) would fail); score it 0.
    nnDistance[j] = n > 1 ? min2 : 0;
  }

  const picked = new Uint8Array(n);
  const order: number[] = [];
  const stepScores: number[] = [];
  let repickStep = -1;
  let current: Float64Array = nnDistance;
  const minDistance = new Float64Array(n).fill(Infinity);
  for (let step = 0; step < k; step++) {
    let best = -1;
    for (let j = 0; j < n; j++) {
      if (picked[j] || Number.isNaN(current[j])) continue;
      if (best === -1 || current[j] > current[best]) best = j;
    }
    if (repickStep < 0 && step > 0 && wouldRepick(current, order, best)) repickStep = step;
    order.push(best);
    stepScores.push(current[best]);
    picked[best] = 1;
    const off = best * n;
    for (let j = 0; j < n; j++) {
      const v = 1 - g[off + j];
      if (v < minDistance[j]) minDistance[j] = v;
    }
    current = minDistance;
  }
  return { order, stepScores, nnDistance, minDistance, repickStep };
}

/** Would the unmasked argmax (first maximum over all tokens) land on an already selected token? */
function wouldRepick(scores: Float64Array, order: number[], best: number): boolean {
  return order.some((s) => scores[s] > scores[best] || (scores[s] === scores[best] && s < best));
}

function run(input: MethodInput, params: Params): PruneResult {
  const ratio = num(params, 'ratio');
  if (!(ratio > 0)) throw new InputError(`Parameter ratio of divprune must be in (0, 1], got ${ratio}.`);
  const n = input.n;
  const k = pyRound(ratio * n);
  if (k < 1) throw new InputError(`divprune ratio ${ratio} keeps round(${ratio}·${n}) = 0 tokens; raise the ratio.`);

  const f = input.matrix('features');
  const sel = maxMinSelect(normalizeRows(f, 1e-12), n, f.cols, k);
  const keep = [...sel.order].sort((a, b) => a - b);
  // Heat: picked tokens 2 + K − position (first pick highest), others their final distance to the set (≤ 2).
  const scores = Array.from(sel.minDistance);
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
      nn_distance: Array.from(sel.nnDistance),
      min_distance_final: Array.from(sel.minDistance),
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
