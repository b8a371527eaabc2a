import type { AnalysisEntry } from '../analysis.ts';
import { InputError } from '../errors.ts';
import type { MethodSpec, PruneResult } from '../methods/types.ts';

/**
 * One analysis.json result: `method`, `params`, then the method's oracle-named fields exactly as
 * `prunelens prune --json` prints them (keep included), then status, time and what the views draw.
 */
export function resultEntry(spec: MethodSpec, r: PruneResult, timeMs: number, extraNotes: readonly string[] = []): AnalysisEntry {
  return {
    method: r.method,
    params: r.params,
    ...r.output,
    keep: r.keep,
    status: 'ok',
    time_ms: Math.round(timeMs * 10) / 10,
    display: { label: spec.label, selection: r.selection, scoreName: r.scoreName, scores: r.scores, trace: r.trace, notes: [...extraNotes, ...r.notes] },
  };
}

/** A method that did not run: 'skipped' for what the user can supply or fix (input errors), else 'error'. */
export function failedEntry(method: string, err: unknown): AnalysisEntry {
  const reason = err instanceof Error ? err.message : String(err);
  return { method, status: err instanceof InputError ? 'skipped' : 'error', reason };
}
