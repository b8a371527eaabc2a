import type { JsonObject } from '../json.ts';
import type { SelectionKind } from '../methods/types.ts';

/**
 * What a decision is explained from: one method's result, from a live PruneResult or from an analysis.json
 * entry (so a revived panel explains the same way as a fresh one).
 */
export interface DecisionSource {
  readonly method: string;
  readonly label: string;
  readonly selection: SelectionKind;
  readonly n: number;
  /** Token grid (h, w) of the analysis, when there is one. */
  readonly grid: readonly [number, number] | null;
  /** Kept original token indices, ascending. */
  readonly keep: readonly number[];
  readonly scores: readonly number[] | null;
  readonly scoreName: string;
  readonly params: JsonObject;
  /** Oracle-named output fields (order, gains, labels, …). */
  readonly output: JsonObject;
  readonly trace: JsonObject;
}

/**
 * The smallest budget (k kept tokens) at which the method would keep the token.
 * rank: rank + 1 of a top-k method; step: pick step + 1 of a greedy method (its picks are a prefix);
 * always: the token is kept whatever the budget; search: found by re-running; rerun: needs re-runs not done yet;
 * none: the method has no budget (adaptive count) or the token can never be kept.
 */
export interface Counterfactual {
  readonly kind: 'rank' | 'step' | 'always' | 'search' | 'rerun' | 'none';
  readonly budget: number | null;
  readonly note: string;
}

/** One row of the decision table: why `method` kept or dropped the locked token. */
export interface TokenDecision {
  readonly method: string;
  readonly label: string;
  readonly selection: SelectionKind;
  readonly kept: boolean;
  /** The budget `kept` refers to (null: as computed, for methods that cannot be re-ranked here). */
  readonly budget: number | null;
  readonly score: number | null;
  readonly scoreName: string;
  /** 0-based position in (score desc, index asc) order among `population` tokens; null when unranked. */
  readonly rank: number | null;
  readonly population: number;
  /** 100 = the best-scored token, 0 = the worst. */
  readonly percentile: number | null;
  readonly reason: string;
  readonly counterfactual: Counterfactual;
}
