/**
 * Smallest budget at which a re-run method (F³A, VisionZip, ToMe, uniform) keeps a token. These methods are
 * not monotone in the budget (F³A can keep a token at 55 and drop it at 64), so the answer is the smallest
 * keeping budget found, never a threshold. One F³A run at 576 tokens takes ~0.5 s, so: bisection first
 * (as if monotone) for a quick upper bound, then scan upwards from the lowest budget while the run and time
 * allowance last. The answer is exact (no smaller budget keeps it) when that scan covers every budget below.
 */
export type KeepAt = (budget: number) => Promise<readonly number[] | null>;

export interface SearchOptions {
  readonly signal?: AbortSignal;
  /** Re-runs allowed in total (bisection included). */
  readonly maxRuns?: number;
  /** Wall-clock allowance in ms for the exact scan. */
  readonly timeBudgetMs?: number;
  /** Results already at hand (e.g. the run at the current budget): budget → kept; never re-run. */
  readonly known?: ReadonlyMap<number, boolean>;
  /** Budgets to check as well once the answer is found (the current one: is the token kept there?). */
  readonly alsoCheck?: readonly number[];
}

export interface SearchResult {
  /** Smallest budget found that keeps the token, or null if it is not kept even at `hi`. */
  readonly budget: number | null;
  readonly runs: number;
  /** True when every budget below `budget` was checked (none keeps the token). */
  readonly exact: boolean;
  /** Every budget checked (re-run or known) and whether it kept the token, ascending. */
  readonly checked: readonly (readonly [number, boolean])[];
  readonly note: string;
}

/** The smallest checked budget above `budget` that drops the token: the method is not monotone there. */
export function droppedAbove(budget: number, checked: Iterable<readonly [number, boolean]>): number | null {
  let best: number | null = null;
  for (const [b, kept] of checked) if (!kept && b > budget && (best === null || b < best)) best = b;
  return best;
}

export async function smallestKeepingBudget(index: number, lo: number, hi: number, keepAt: KeepAt, opt: SearchOptions = {}): Promise<SearchResult> {
  const memo = new Map<number, boolean | null>(opt.known ?? []);
  const started = performance.now();
  let runs = 0;
  const kept = async (b: number): Promise<boolean | null> => {
    if (memo.has(b)) return memo.get(b) ?? null;
    opt.signal?.throwIfAborted();
    runs++;
    const keep = await keepAt(b);
    const v = keep === null ? null : keep.includes(index);
    memo.set(b, v);
    return v;
  };
  const finish = async (budget: number | null, exact: boolean, how: string): Promise<SearchResult> => {
    let best = budget;
    for (const b of opt.alsoCheck ?? []) {
      if (!Number.isInteger(b) || b < lo || b > hi) continue;
      // An extra budget below an inexact answer that keeps the token is a smaller one found.
      if ((await kept(b)) === true && best !== null && b < best) best = b;
    }
    return best === budget ? result(budget, exact, how) : result(best, false, `smallest found; smaller budgets not all re-run`);
  };
  const result = (budget: number | null, exact: boolean, how: string): SearchResult => {
    const checked = [...memo].filter((e): e is [number, boolean] => e[1] !== null).sort((x, y) => x[0] - y[0]);
    if (budget === null) return { budget, runs, exact, checked, note: how };
    const above = droppedAbove(budget, checked);
    const tail = above === null ? '' : `; not monotone — dropped at ${above}`;
    return { budget, runs, exact, checked, note: `kept at ${budget} (${how})${tail}` };
  };
  if ((await kept(hi)) !== true) return finish(null, false, `not kept even at budget ${hi}`);
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = Math.floor((a + b) / 2);
    if ((await kept(mid)) === true) b = mid;
    else a = mid + 1;
  }
  const maxRuns = opt.maxRuns ?? Infinity;
  const timeBudget = opt.timeBudgetMs ?? Infinity;
  const EXACT = 'smallest: every smaller budget re-run';
  for (let k = lo; k < b; k++) {
    if (memo.has(k)) {
      if (memo.get(k) === true) return finish(k, true, EXACT);
      continue;
    }
    if (runs >= maxRuns || performance.now() - started > timeBudget) {
      return finish(b, false, `smallest found by bisection; budgets ${k}–${b - 1} not all re-run`);
    }
    if ((await kept(k)) === true) return finish(k, true, EXACT);
  }
  return finish(b, true, EXACT);
}
