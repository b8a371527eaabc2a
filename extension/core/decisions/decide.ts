import { numsOf } from './json-read.ts';
import { percentileOf, rankingOf, type TokenRank } from './ranking.ts';
import { reasonFor } from './reasons.ts';
import { droppedAbove } from './search.ts';
import type { Counterfactual, DecisionSource, SearchedBudget, TokenDecision } from './types.ts';

export interface DecideOptions {
  /**
   * The panel's current budget. Top-k methods and greedy methods with a long enough pick order are
   * evaluated at it; the rest are shown as computed.
   */
  readonly budget?: number | null;
  /** A longer pick order for greedy methods (e.g. from a run at the full budget), for tokens beyond K. */
  readonly fullOrder?: readonly number[] | null;
  /** A smallest keeping budget found by re-running (see search.ts); its budget null = never kept. */
  readonly searched?: SearchedBudget | null;
}

/** Greedy methods whose picks form a prefix: the pick order at budget k is the first k of any longer run. */
const PREFIX_GREEDY = new Set(['divprune', 'cdpruner']);

function pickOrder(s: DecisionSource, opt: DecideOptions): readonly number[] | null {
  if (!PREFIX_GREEDY.has(s.method)) return null;
  const own = numsOf(s.output.order);
  const full = opt.fullOrder ?? null;
  if (full && (!own || full.length > own.length)) return full;
  return own;
}

interface Evaluated {
  kept: boolean;
  budget: number;
  /** True when `kept` was derived for opt.budget rather than read from the result. */
  derived: boolean;
}

function evaluate(s: DecisionSource, i: number, rank: TokenRank | null, always: boolean, order: readonly number[] | null, opt: DecideOptions): Evaluated {
  const asComputed: Evaluated = { kept: s.keep.includes(i), budget: s.keep.length, derived: false };
  const b = opt.budget;
  if (always || b === null || b === undefined || !Number.isInteger(b) || b < 1) return asComputed;
  if (s.selection === 'ranked' && rank && rank.group === null) return { kept: rank.rank < b, budget: b, derived: true };
  if (order && b <= order.length) {
    const p = order.indexOf(i);
    return { kept: p >= 0 && p < b, budget: b, derived: true };
  }
  return asComputed;
}

/**
 * A searched budget in words. It is the smallest found, not a threshold: the method's own result (a run at
 * the decision's budget) and the search's runs say whether a larger budget — the current one above all —
 * drops the token again.
 */
function searchedCounterfactual(found: SearchedBudget, ev: Evaluated, current: number): Counterfactual {
  const b = found.budget;
  if (b === null) return { kind: 'search', budget: null, note: found.note };
  const checked = new Map(found.checked ?? []);
  checked.set(ev.budget, ev.kept);
  const keptNow = checked.get(current);
  const cur = keptNow === undefined ? null : { budget: current, kept: keptNow };
  const droppedAt = droppedAbove(b, checked);
  const exact = found.exact ?? false;
  const tag = (x: number): string => (x === current ? `${x} (current)` : String(x));
  const parts = [`kept at ${b} (${exact ? 'smallest: every smaller budget re-run' : 'smallest found; smaller budgets not all re-run'})`];
  // The current budget, when it drops the token above the first drop, joins that clause.
  const curJoins = droppedAt !== null && cur !== null && !cur.kept && cur.budget > droppedAt;
  if (droppedAt !== null) parts.push(`not monotone — dropped at ${tag(droppedAt)}${curJoins && cur ? ` and at ${tag(cur.budget)}` : ''}`);
  if (cur && cur.budget !== b && cur.budget !== droppedAt && !curJoins) parts.push(`${cur.kept ? 'kept' : 'dropped'} at ${tag(cur.budget)}`);
  if (droppedAt === null) parts.push('larger budgets not all re-run (the method need not be monotone)');
  return { kind: 'search', budget: b, note: parts.join('; '), search: { exact, droppedAt, current: cur } };
}

function counterfactualOf(s: DecisionSource, i: number, rank: TokenRank | null, always: boolean, order: readonly number[] | null, opt: DecideOptions, ev: Evaluated): Counterfactual {
  if (always) return { kind: 'always', budget: null, note: 'kept at every budget' };
  if (s.selection === 'ranked' && rank) {
    const b = rank.rank + 1;
    if (rank.group) return { kind: 'rank', budget: b, note: `kept once the ${rank.group} group keeps ${b} (its rank + 1)` };
    return { kind: 'rank', budget: b, note: `kept from budget ${b} up (rank + 1)` };
  }
  if (order) {
    const p = order.indexOf(i);
    if (p >= 0) return { kind: 'step', budget: p + 1, note: `kept from budget ${p + 1} up (picked at step ${p + 1})` };
    if (!opt.searched) return { kind: 'rerun', budget: null, note: `not within the first ${order.length} picks; a longer run tells when` };
  }
  if (opt.searched) return searchedCounterfactual(opt.searched, ev, opt.budget ?? ev.budget);
  if (s.selection === 'threshold') return { kind: 'none', budget: null, note: 'adaptive token count: no budget to change' };
  return { kind: 'rerun', budget: null, note: 'found by re-running at other budgets' };
}

/** Why method `s` keeps or drops token i, with rank, percentile and the smallest keeping budget. */
export function decideToken(s: DecisionSource, i: number, opt: DecideOptions = {}): TokenDecision {
  if (!Number.isInteger(i) || i < 0 || i >= s.n) throw new RangeError(`token ${i} is outside 0..${s.n - 1}`);
  const ranking = rankingOf(s);
  const rank = ranking.of(i);
  const always = ranking.always.has(i);
  const order = pickOrder(s, opt);
  const ev = evaluate(s, i, rank, always, order, opt);
  const score = s.scores && Number.isFinite(s.scores[i]) ? s.scores[i] : null;
  const reason = reasonFor({ s, i, kept: ev.kept, budget: ev.budget, rank, score, order, derived: ev.derived }, always);
  return {
    method: s.method,
    label: s.label,
    selection: s.selection,
    kept: ev.kept || always,
    budget: ev.budget,
    score,
    scoreName: s.scoreName,
    rank: rank?.rank ?? null,
    population: rank?.population ?? 0,
    percentile: rank ? percentileOf(rank.rank, rank.population) : null,
    reason,
    counterfactual: counterfactualOf(s, i, rank, always, order, opt, ev),
  };
}

/** The decision of every method for one token, in the sources' order. */
export function decisionTable(sources: readonly DecisionSource[], i: number, opt: (method: string) => DecideOptions = () => ({})): TokenDecision[] {
  return sources.filter((s) => i >= 0 && i < s.n).map((s) => decideToken(s, i, opt(s.method)));
}
