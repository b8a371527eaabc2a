/**
 * The analysis as the views consume it: per-method typed arrays (scores, rank order, kept masks), the
 * token layout, and the budget logic — re-rank in place for score-ranked methods, otherwise the result
 * the host computed (possibly for another budget, which the views then say).
 */
import type { Analysis, AnalysisEntry, SelectionKind } from '../extension/protocol.ts';
import { ranksFromOrder } from '../extension/shared/ranking.ts';
import { layoutFor, type Layout } from './layout.ts';
import { finiteRange, isTopKOf, maskFromKeep, maskFromOrder, rankOrder } from './rerank.ts';
import { isRec, num, type Rec } from './trace.ts';

export type OkEntry = Extract<AnalysisEntry, { status: 'ok' }>;

export interface MethodModel {
  id: string;
  label: string;
  entry: OkEntry;
  selection: SelectionKind;
  scoreName: string;
  scores: Float64Array | null;
  scoreRange: { min: number; max: number };
  order: Int32Array | null;
  rank: Int32Array | null;
  rerankable: boolean;
  /** Why a budget change needs the host (shown to the user). */
  whyNotRerankable: string | null;
  computedMask: Uint8Array;
  computedCount: number;
  /** The budget the host ran the method for. */
  computedFor: number;
  notes: string[];
}

export interface UnavailableMethod {
  id: string;
  status: 'skipped' | 'error';
  reason: string;
}

export interface KeptView {
  mask: Uint8Array;
  count: number;
  /** True when the mask is for the requested budget (re-ranked, or re-run for it). */
  current: boolean;
  source: 'rerank' | 'computed';
  computedFor: number;
}

const SELECTIONS: readonly SelectionKind[] = ['ranked', 'greedy', 'staged', 'threshold', 'merge'];

function methodModel(e: OkEntry, n: number, computedFor: number, scoresOverride: Float64Array | null): MethodModel {
  const display = isRec(e.display) ? e.display : null;
  const selection = display && SELECTIONS.includes(display.selection) ? display.selection : 'greedy';
  let scores = scoresOverride;
  if (!scores && display && Array.isArray(display.scores) && display.scores.length === n) {
    scores = Float64Array.from(display.scores, (v) => (typeof v === 'number' ? v : NaN));
  }
  const keep = Array.isArray(e.keep) ? e.keep.filter((i) => Number.isInteger(i) && i >= 0 && i < n) : [];
  let whyNot: string | null = null;
  if (selection !== 'ranked') whyNot = `${display?.label ?? e.method} selects tokens by a ${selection} procedure`;
  else if (!scores) whyNot = `${e.method} has no per-token scores`;
  else if (!isTopKOf(scores, keep)) whyNot = `${e.method}'s kept set is not the global top-k of its scores (per-group budgets)`;
  const rerankable = whyNot === null;
  const order = scores ? rankOrder(scores) : null;
  const computedMask = maskFromKeep(keep, n);
  return {
    id: e.method,
    label: display?.label || e.method,
    entry: e,
    selection,
    scoreName: display?.scoreName || 'score',
    scores,
    scoreRange: scores ? finiteRange(scores) : { min: 0, max: 0 },
    order,
    rank: order ? ranksFromOrder(order) : null,
    rerankable,
    whyNotRerankable: whyNot,
    computedMask,
    computedCount: keep.length,
    computedFor,
    notes: display && Array.isArray(display.notes) ? display.notes.filter((s): s is string => typeof s === 'string') : [],
  };
}

export class Model {
  readonly analysis: Analysis;
  readonly n: number;
  readonly layout: Layout;
  readonly methods: MethodModel[] = [];
  readonly unavailable: UnavailableMethod[] = [];
  private readonly maskCache = new Map<string, { k: number; mask: Uint8Array }>();

  constructor(analysis: Analysis) {
    this.analysis = analysis;
    this.n = Math.max(0, Math.floor(analysis.n));
    const a = analysis as unknown as Rec;
    const hires = Array.isArray(a.hires_grid) && a.hires_grid.length === 2 ? [num(a.hires_grid[0]) ?? 0, num(a.hires_grid[1]) ?? 0] : null;
    this.layout = layoutFor(analysis.grid, this.n, hires && hires[0] > 0 && hires[1] > 0 ? (hires as [number, number]) : null);
    for (const e of analysis.results) {
      if (e.status === 'ok') this.methods.push(methodModel(e, this.n, analysis.budget, null));
      else this.unavailable.push({ id: e.method, status: e.status, reason: e.reason });
    }
  }

  get(id: string): MethodModel | undefined {
    return this.methods.find((m) => m.id === id);
  }

  /** The method id as it appears in the analysis, tolerant of aliases (f3a vs f3a_proposed). */
  find(prefix: string): MethodModel | UnavailableMethod | undefined {
    return this.methods.find((m) => m.id === prefix || m.id.startsWith(`${prefix}_`)) ?? this.unavailable.find((m) => m.id === prefix || m.id.startsWith(`${prefix}_`));
  }

  /** Replace a method's result with one the host re-ran (or a newly loaded codebook run). */
  replace(entry: AnalysisEntry, budget: number, scores: Float64Array | null): void {
    this.maskCache.delete(entry.method);
    const i = this.methods.findIndex((m) => m.id === entry.method);
    const u = this.unavailable.findIndex((m) => m.id === entry.method);
    if (entry.status !== 'ok') {
      if (i >= 0) this.methods.splice(i, 1);
      const un: UnavailableMethod = { id: entry.method, status: entry.status, reason: entry.reason };
      if (u >= 0) this.unavailable[u] = un;
      else this.unavailable.push(un);
      return;
    }
    const m = methodModel(entry, this.n, budget, scores);
    if (i >= 0) this.methods[i] = m;
    else this.methods.push(m);
    if (u >= 0) this.unavailable.splice(u, 1);
  }

  /** Kept tokens of a method at budget k. Re-ranked masks reuse one buffer per method (hot path of the slider). */
  keptAt(m: MethodModel, k: number): KeptView {
    if (m.rerankable && m.order) {
      const kk = Math.max(0, Math.min(this.n, Math.floor(k)));
      const hit = this.maskCache.get(m.id);
      if (hit && hit.k === kk) return { mask: hit.mask, count: kk, current: true, source: 'rerank', computedFor: m.computedFor };
      const mask = maskFromOrder(m.order, kk, hit?.mask);
      this.maskCache.set(m.id, { k: kk, mask });
      return { mask, count: kk, current: true, source: 'rerank', computedFor: m.computedFor };
    }
    return { mask: m.computedMask, count: m.computedCount, current: m.computedFor === k, source: 'computed', computedFor: m.computedFor };
  }
}
