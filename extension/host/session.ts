/**
 * One analysed image (or bundle) behind a panel: the outcome, re-runs at other budgets, the locked token,
 * and the extra runs the side view asks for. No vscode import: tested with real analyses of oracle bundles.
 */
import { basename } from 'node:path';
import type { Analysis, AnalysisEntry } from '../core/analysis.ts';
import type { AnalysisCache } from '../core/analyze/cache.ts';
import { inThreadExecutor, rerunMethod, rerunMethodWith, type PruneExecutor } from '../core/analyze/pipeline.ts';
import type { AnalysisOutcome, AnalyzeRequest } from '../core/analyze/types.ts';
import type { TokenBundle } from '../core/bundle/types.ts';
import { numsOf } from '../core/decisions/json-read.ts';
import { smallestKeepingBudget, type SearchResult } from '../core/decisions/search.ts';
import { sourceFromResult } from '../core/decisions/source.ts';
import type { DecisionSource, SearchedBudget } from '../core/decisions/types.ts';
import { InputError } from '../core/errors.ts';
import type { PruneResult } from '../core/methods/types.ts';
import type { AnalysisSummary } from '../protocol.ts';
import type { DecisionSession } from './decisions-model.ts';

/** Greedy methods whose pick order at the full budget answers "when would this token be picked". */
const FULL_ORDER_METHODS = new Set(['divprune', 'cdpruner']);
/** Methods whose counterfactual is searched by re-running. */
const SEARCHABLE = new Set(['staged', 'merge', 'greedy']);

/** A shallow copy that re-runs can mutate (rerunMethod replaces entries and results in place). */
function fork(o: AnalysisOutcome): AnalysisOutcome {
  return { analysis: { ...o.analysis, results: [...o.analysis.results] }, bundle: o.bundle, results: new Map(o.results), context: o.context };
}

export class Session implements DecisionSession {
  /** The analysis as first computed, all methods at one budget: what a (re)loaded panel starts from. */
  private baseline: AnalysisOutcome;
  /** The latest state: re-runs replace methods' results here. */
  private current: AnalysisOutcome;
  budget: number;
  /** Set once the panel reports its budget itself; re-runs then no longer move `budget`. */
  private panelReportsBudget = false;
  locked: number | null = null;
  readonly fullOrders = new Map<string, number[]>();
  readonly searched = new Map<string, Map<number, SearchedBudget>>();
  readonly searching = new Set<string>();
  /** Small PNG data URL of the image for the side view's list (made after the panel opens). */
  thumbnail: string | null = null;

  constructor(
    readonly id: string,
    readonly title: string,
    readonly request: AnalyzeRequest,
    outcome: AnalysisOutcome,
    readonly createdAt: string,
    private readonly cache?: AnalysisCache,
    /** Where method runs happen: the methods worker process in VS Code, this thread in tests. */
    private readonly execute: PruneExecutor = inThreadExecutor,
  ) {
    this.baseline = outcome;
    this.current = fork(outcome);
    this.budget = outcome.analysis.budget;
  }

  get analysis(): Analysis {
    return this.baseline.analysis;
  }

  get outcome(): AnalysisOutcome {
    return this.baseline;
  }

  get n(): number {
    return this.baseline.analysis.n;
  }

  get grid(): [number, number] | null {
    return this.baseline.analysis.grid;
  }

  get summary(): Omit<AnalysisSummary, 'active'> {
    const a = this.baseline.analysis;
    const src = this.request.image ?? this.request.bundlePath ?? a.image?.path ?? '';
    return { id: this.id, title: this.title, source: basename(src), question: a.question, model: a.model.name, provider: a.model.provider, time: this.createdAt, n: a.n, thumbnail: this.thumbnail };
  }

  /** Latest result of every method that ran, in the analysis order. */
  sources(): DecisionSource[] {
    const out: DecisionSource[] = [];
    for (const e of this.current.analysis.results) {
      const r = this.current.results.get(e.method);
      if (e.status === 'ok' && r) out.push(sourceFromResult(r, this.grid, e.display.label));
    }
    return out;
  }

  result(method: string): PruneResult | undefined {
    return this.current.results.get(method);
  }

  /** Re-runs a method at a budget (the panel's slider) through the executor; later decisions use the new result. */
  async runAt(method: string, budget: number, signal?: AbortSignal): Promise<{ entry: AnalysisEntry; result: PruneResult | null }> {
    const r = await rerunMethodWith(this.execute, this.current, method, { budget }, { cache: this.cache, signal });
    if (!this.panelReportsBudget) this.budget = budget;
    return r;
  }

  /** The same on this thread, synchronously (tests and scripts). */
  rerun(method: string, budget: number): { entry: AnalysisEntry; result: PruneResult | null } {
    const r = rerunMethod(this.current, method, { budget }, { cache: this.cache });
    if (!this.panelReportsBudget) this.budget = budget;
    return r;
  }

  /** The panel's budget (slider, box, +/-); false when nothing changed. */
  setPanelBudget(budget: number): boolean {
    this.panelReportsBudget = true;
    const b = Math.max(1, Math.min(Math.round(budget), this.n));
    if (b === this.budget) return false;
    this.budget = b;
    return true;
  }

  /** Swaps the bundle (e.g. a codebook was added) and re-runs one method on it. */
  async withBundle(bundle: TokenBundle, inputKeySuffix: string, method: string): Promise<{ entry: AnalysisEntry; result: PruneResult | null }> {
    const key = this.current.context.inputKey;
    const context = { ...this.current.context, inputKey: key ? { ...key, model: `${key.model}|${inputKeySuffix}` } : null };
    this.current = { ...this.current, bundle, context };
    this.baseline = { ...this.baseline, bundle, context };
    this.fullOrders.delete(method);
    this.searched.delete(method);
    return this.runAt(method, this.budget);
  }

  /** For greedy methods: the pick order at the full budget (once), so dropped tokens get a pick step too. */
  async ensureFullOrder(method: string): Promise<boolean> {
    if (!FULL_ORDER_METHODS.has(method) || this.fullOrders.has(method)) return false;
    const r = this.current.results.get(method);
    if (!r) return false;
    const always = numsOf(r.trace.always_keep)?.length ?? 0;
    for (const k of [this.n - always, this.n]) {
      if (k < 1) continue;
      const run = await rerunMethodWith(this.execute, fork(this.current), method, { budget: k }, { cache: this.cache });
      const order = numsOf(run.result?.output.order);
      if (order) {
        this.fullOrders.set(method, order);
        return true;
      }
    }
    return false;
  }

  canSearch(method: string): boolean {
    const r = this.current.results.get(method);
    return !!r && SEARCHABLE.has(r.selection) && !FULL_ORDER_METHODS.has(method);
  }

  /** Smallest budget at which `method` keeps `token`, by re-running it (see core/decisions/search.ts). */
  async search(method: string, token: number, signal?: AbortSignal, onRun?: (budget: number, runs: number) => void): Promise<SearchResult> {
    if (!this.canSearch(method)) throw new InputError(`${method} needs no re-runs: its rank or pick order already gives the budget.`);
    if (!Number.isInteger(token) || token < 0 || token >= this.n) throw new InputError(`Token ${token} is not in 0..${this.n - 1}.`);
    this.searching.add(method);
    let runs = 0;
    // The result at hand is a run at its own budget: the search starts from it (and so knows the current budget).
    const now = this.current.results.get(method);
    const known = new Map(now ? [[now.keep.length, now.keep.includes(token)] as const] : []);
    try {
      const result = await smallestKeepingBudget(
        token,
        1,
        this.n,
        async (b) => {
          onRun?.(b, ++runs);
          const run = await rerunMethodWith(this.execute, fork(this.current), method, { budget: b }, { cache: this.cache, signal });
          return run.result?.keep ?? null;
        },
        // The panel's budget is checked too (a cache hit when the method already ran there), so the
        // answer says whether the token is kept at the budget on screen.
        { signal, timeBudgetMs: 20_000, known, alsoCheck: [this.budget] },
      );
      let perToken = this.searched.get(method);
      if (!perToken) this.searched.set(method, (perToken = new Map()));
      perToken.set(token, { budget: result.budget, note: result.note, exact: result.exact, checked: result.checked });
      return result;
    } finally {
      this.searching.delete(method);
    }
  }
}
