import type { InputRole } from '../bundle/types.ts';
import type { Matrix } from '../bundle/tensor.ts';
import type { JsonObject, JsonValue } from '../json.ts';

export type ParamKind = 'number' | 'integer' | 'boolean' | 'enum' | 'integer-list' | 'string';

export interface ParamSpec {
  readonly name: string;
  readonly kind: ParamKind;
  /** undefined = no default (e.g. one of two alternative budget parameters). */
  readonly default?: JsonValue;
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
  /** Allowed values for kind 'enum'. */
  readonly values?: readonly string[];
  /**
   * Descriptive parameters that appear in the oracle records (e.g. `layout`, `variant`) are accepted so
   * records can be replayed mechanically; the method checks they agree with what it infers.
   */
  readonly informational?: boolean;
}

export type Params = Readonly<Record<string, JsonValue>>;

export interface Grid {
  readonly h: number;
  readonly w: number;
}

/** How a method turns scores into a kept set; the UI uses it to decide where a budget change is computed. */
export type SelectionKind =
  | 'ranked' // top-K of `scores` (re-rankable in the webview)
  | 'greedy' // sequential picks (`order`), re-run for a new budget
  | 'staged' // F³A's staged allocation, re-run for a new budget
  | 'threshold' // keep iff score passes a threshold
  | 'merge'; // token merging (ToMe), re-run for a new budget

/** Resolved inputs for one run. Accessors throw MissingInputError for absent required roles. */
export interface MethodInput {
  /** Number of tokens (rows of `features`). */
  readonly n: number;
  /** Grid (h,w) when the bundle has one. For multigroup bundles this is the base grid. */
  readonly grid: Grid | null;
  /** High-res grid (rows, cols without newline column) for LLaVA-NeXT-like bundles. */
  readonly hiresGrid: Grid | null;
  has(role: InputRole): boolean;
  /** 2-D role as a matrix; a 1-D array [N] is returned as [1,N]. */
  matrix(role: InputRole): Matrix;
  /** 1-D role (group, always_keep, llm_attn) as numbers. */
  vector(role: InputRole): Float64Array;
  /** Human-readable array name behind a role, for messages. */
  sourceName(role: InputRole): string;
}

export interface PruneResult {
  readonly method: string;
  /** Resolved parameters (defaults filled in). */
  readonly params: JsonObject;
  readonly n: number;
  /** Kept original token indices, ascending. */
  readonly keep: number[];
  /** Per-token score for heatmaps (length n, higher = more keep-worthy); null when a method has none. */
  readonly scores: number[] | null;
  readonly scoreName: string;
  readonly selection: SelectionKind;
  /** Fields named as in the oracle results for this method (keep included); printed by `prune --json`. */
  readonly output: JsonObject;
  /** Extra intermediates for visualisation (the spec's "what to visualise" that the oracle does not record). */
  readonly trace: JsonObject;
  /** Honest caveats shown with the result (e.g. "reconstruction from the paper's description"). */
  readonly notes: string[];
}

export interface MethodSpec {
  readonly id: string;
  readonly label: string;
  /** Paper / code reference, one line. */
  readonly source: string;
  readonly family: 'seed' | 'baseline';
  /** Roles that must be present. */
  readonly needs: readonly InputRole[];
  /** Roles used when present. */
  readonly optional: readonly InputRole[];
  readonly params: readonly ParamSpec[];
  readonly selection: SelectionKind;
  /** Parameters that realise a budget of k kept tokens out of n, or null if the method cannot be budgeted. */
  budgetParams(k: number, n: number, current: Params): JsonObject | null;
  run(input: MethodInput, params: Params): PruneResult;
}
