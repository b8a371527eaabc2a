import { InputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { sortedAscending, topK } from '../numeric/ranking.ts';
import { mulberry32 } from '../numeric/prng.ts';
import { pyRound } from '../numeric/rounding.ts';
import { num, optNum } from './params.ts';
import type { MethodSpec, ParamSpec, Params } from './types.ts';

export const DEFAULT_BASELINE_RATIO = 0.25;

/** The `ratio` / `k` pair shared by the random and uniform baselines. */
export const COUNT_PARAMS: readonly ParamSpec[] = [
  { name: 'ratio', kind: 'number', min: 0, max: 1, description: `Keep ratio: k = round(ratio·N) (Python half-even). Used with ${DEFAULT_BASELINE_RATIO} when k is not given.` },
  { name: 'k', kind: 'integer', min: 0, description: 'Number of tokens kept; alternative to ratio.' },
];

/** Resolve the kept count from ratio or k; returns the count and the resolved params. */
export function resolveCount(method: string, n: number, params: Params): { k: number; params: JsonObject } {
  const ratio = optNum(params, 'ratio');
  const k = optNum(params, 'k');
  if (ratio !== undefined && k !== undefined) throw new InputError(`${method} takes either ratio or k, not both.`);
  if (k !== undefined) {
    if (k > n) throw new InputError(`${method} k = ${k} exceeds the ${n} tokens.`);
    return { k, params: { ...params } };
  }
  const r = ratio ?? DEFAULT_BASELINE_RATIO;
  return { k: pyRound(r * n), params: { ...params, ratio: r } };
}

export function budgetCountParams(k: number, n: number, current: Params): JsonObject | null {
  if (k < 0 || k > n) return null;
  const rest = Object.fromEntries(Object.entries(current).filter(([key]) => key !== 'ratio' && key !== 'k')) as JsonObject;
  return { ...rest, k };
}

export const randomBaseline: MethodSpec = {
  id: 'random',
  label: 'Random (seeded)',
  source: 'Baseline: each token draws a seeded uniform priority (mulberry32); the k highest are kept.',
  family: 'baseline',
  needs: ['features'],
  optional: [],
  params: [{ name: 'seed', kind: 'integer', default: 0, min: 0, max: 4294967295, description: 'PRNG seed; the same seed gives the same draw.' }, ...COUNT_PARAMS],
  selection: 'ranked',
  budgetParams: budgetCountParams,
  run(input, params) {
    const n = input.n;
    const { k, params: resolved } = resolveCount('random', n, params);
    const rng = mulberry32(num(params, 'seed'));
    const priority = Array.from({ length: n }, () => rng());
    const keep = sortedAscending(topK(priority, k));
    return {
      method: 'random',
      params: resolved,
      n,
      keep,
      scores: priority,
      scoreName: 'random_priority',
      selection: 'ranked',
      output: { K: k, keep },
      trace: {},
      notes: [],
    };
  },
};
