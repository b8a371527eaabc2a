/**
 * What the Decisions view shows, computed from this window's analyses. Pure (no vscode import): the
 * view provider only posts the result.
 */
import { decideToken } from '../core/decisions/decide.ts';
import { disagreements } from '../core/decisions/disagreements.ts';
import type { DecisionSource, SearchedBudget, TokenDecision } from '../core/decisions/types.ts';
import type { AnalysisSummary, DecisionsViewState } from '../protocol.ts';

/** The side view's needs from one analysis (an open panel). */
export interface DecisionSession {
  readonly id: string;
  readonly summary: Omit<AnalysisSummary, 'active'>;
  readonly grid: [number, number] | null;
  /** The latest result of every method that ran (re-runs replace them). */
  sources(): DecisionSource[];
  /** The panel's latest known budget. */
  readonly budget: number | null;
  readonly locked: number | null;
  /** Pick orders of greedy methods at the full budget, once computed. */
  readonly fullOrders: ReadonlyMap<string, readonly number[]>;
  /** Smallest keeping budgets found by re-running: method → token → result. */
  readonly searched: ReadonlyMap<string, ReadonlyMap<number, SearchedBudget>>;
  readonly searching: ReadonlySet<string>;
  canSearch(method: string): boolean;
}

export function decisionRows(s: DecisionSession, token: number): TokenDecision[] {
  return s
    .sources()
    .filter((src) => token < src.n)
    .map((src) =>
      decideToken(src, token, {
        budget: s.budget,
        fullOrder: s.fullOrders.get(src.method) ?? null,
        searched: s.searched.get(src.method)?.get(token) ?? null,
      }),
    );
}

export function decisionsState(sessions: readonly DecisionSession[], selected: string | null, message: string | null = null): DecisionsViewState {
  const s = sessions.find((x) => x.id === selected) ?? null;
  const analyses: AnalysisSummary[] = sessions.map((x) => ({ ...x.summary, active: x.id === s?.id }));
  if (!s) {
    return {
      analyses,
      selected: null,
      grid: null,
      n: 0,
      token: null,
      budget: null,
      rows: [],
      disagreements: { count: 0, kept: [], dropped: [] },
      searching: [],
      searchable: [],
      message: message ?? (sessions.length === 0 ? 'No analysis open: right-click an image and choose "Analyze Visual Tokens".' : 'Select an analysis.'),
    };
  }
  const sources = s.sources();
  const list = disagreements(sources);
  const here = s.locked === null ? undefined : list.find((d) => d.index === s.locked);
  const token = s.locked !== null && s.locked < s.summary.n ? s.locked : null;
  return {
    analyses,
    selected: s.id,
    grid: s.grid,
    n: s.summary.n,
    token,
    budget: s.budget,
    rows: token === null ? [] : decisionRows(s, token),
    disagreements: { count: list.length, kept: here?.kept ?? [], dropped: here?.dropped ?? [] },
    searching: [...s.searching],
    searchable: sources.map((x) => x.method).filter((m) => s.canSearch(m)),
    message: message ?? (token === null ? 'Click a token in the panel, or type its index or row,col, to see every method’s decision.' : null),
  };
}
