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
 * When the method would keep the token.
 * rank / step: a threshold — kept at this budget and every larger one (rank + 1 of a top-k method; pick
 * step + 1 of a greedy method whose picks are a prefix); always: kept whatever the budget;
 * search: the smallest keeping budget found by re-running a staged or merging method — NOT a threshold, a
 * larger budget may drop the token again; rerun: needs re-runs not done yet;
 * none: the method has no budget (adaptive count) or the token can never be kept.
 */
export interface Counterfactual {
  readonly kind: 'rank' | 'step' | 'always' | 'search' | 'rerun' | 'none';
  readonly budget: number | null;
  /** The answer in words, precise about what is known (e.g. "kept at 55 (…); not monotone — dropped at 64 (current)"). */
  readonly note: string;
  /** kind 'search' with a budget found: what the re-runs and the current result say beyond it. */
  readonly search?: SearchFacts;
}

export interface SearchFacts {
  /** Every budget below `budget` was re-run and none keeps the token. */
  readonly exact: boolean;
  /** The smallest known budget above `budget` that drops the token (the method is not monotone here), or null. */
  readonly droppedAt: number | null;
  /** The current budget and whether the method keeps the token there; null when no run at it is known. */
  readonly current: { readonly budget: number; readonly kept: boolean } | null;
}

/** A search's answer as decide.ts takes it (search.ts's SearchResult, or the same fields from storage). */
export interface SearchedBudget {
  readonly budget: number | null;
  readonly note: string;
  readonly exact?: boolean;
  /** Budgets checked and whether they kept the token. */
  readonly checked?: readonly (readonly [number, boolean])[];
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
