/**
 * Smallest budget at which a re-run method (F³A, VisionZip, ToMe, uniform) keeps a token. These methods are
 * not guaranteed monotone in the budget, and one F³A run at 576 tokens takes ~0.5 s, so: bisect first
 * (assuming monotonicity) for a quick upper bound, then scan upwards from the lowest budget while the run
 * and time allowance last. The answer is exact when that scan covers every budget below the bound.
 */
export type KeepAt = (budget: number) => Promise<readonly number[] | null>;

export interface SearchOptions {
  readonly signal?: AbortSignal;
  /** Re-runs allowed in total (bisection included). */
  readonly maxRuns?: number;
  /** Wall-clock allowance in ms for the exact scan. */
  readonly timeBudgetMs?: number;
}

export interface SearchResult {
  /** Smallest budget found, or null if the token is not kept even at `hi`. */
  readonly budget: number | null;
  readonly runs: number;
  /** True when every budget below `budget` was checked. */
  readonly exact: boolean;
  readonly note: string;
}

export async function smallestKeepingBudget(index: number, lo: number, hi: number, keepAt: KeepAt, opt: SearchOptions = {}): Promise<SearchResult> {
  const memo = new Map<number, boolean | null>();
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
  if ((await kept(hi)) !== true) return { budget: null, runs, exact: false, note: `not kept even at budget ${hi}` };
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = Math.floor((a + b) / 2);
    if ((await kept(mid)) === true) b = mid;
    else a = mid + 1;
  }
  const maxRuns = opt.maxRuns ?? Infinity;
  const timeBudget = opt.timeBudgetMs ?? Infinity;
  for (let k = lo; k < b; k++) {
    if (memo.has(k)) {
      if (memo.get(k) === true) return { budget: k, runs, exact: true, note: `kept from budget ${k} (every smaller budget re-run)` };
      continue;
    }
    if (runs >= maxRuns || performance.now() - started > timeBudget) {
      return { budget: b, runs, exact: false, note: `kept at budget ${b} (bisection; budgets ${k}–${b - 1} not all re-run, the method need not be monotone)` };
    }
    if ((await kept(k)) === true) return { budget: k, runs, exact: true, note: `kept from budget ${k} (every smaller budget re-run)` };
  }
  return { budget: b, runs, exact: true, note: `kept from budget ${b} (every smaller budget re-run)` };
}
