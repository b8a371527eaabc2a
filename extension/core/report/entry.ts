import type { AnalysisEntry } from '../analysis.ts';
import { InputError, MissingInputError } from '../errors.ts';
import type { MethodSpec, PruneResult } from '../methods/types.ts';

/** One method result as an analysis.json entry: the oracle-named output fields plus what the webview draws. */
export function okEntry(spec: MethodSpec, r: PruneResult, timeMs: number): AnalysisEntry {
  return {
    ...r.output,
    method: r.method,
    status: 'ok',
    params: r.params,
    keep: r.keep,
    time_ms: timeMs,
    display: { label: spec.label, selection: r.selection, scoreName: r.scoreName, scores: r.scores, trace: r.trace, notes: r.notes },
  };
}

/** A method that could not run: missing inputs and bad input are 'skipped' (the user can fix them), the rest 'error'. */
export function failedEntry(method: string, err: unknown): AnalysisEntry {
  const reason = err instanceof Error ? err.message : String(err);
  const skipped = err instanceof MissingInputError || err instanceof InputError || /not implemented/i.test(reason);
  return { method, status: skipped ? 'skipped' : 'error', reason };
}
