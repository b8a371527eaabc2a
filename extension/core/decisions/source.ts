import type { Analysis, AnalysisEntry } from '../analysis.ts';
import type { JsonObject } from '../json.ts';
import { METHODS } from '../methods/registry.ts';
import type { PruneResult } from '../methods/types.ts';
import type { DecisionSource } from './types.ts';

const labelOf = (id: string): string => METHODS.find((m) => m.id === id)?.label ?? id;

export function sourceFromResult(r: PruneResult, grid: readonly [number, number] | null, label = labelOf(r.method)): DecisionSource {
  return {
    method: r.method,
    label,
    selection: r.selection,
    n: r.n,
    grid,
    keep: r.keep,
    scores: r.scores,
    scoreName: r.scoreName,
    params: r.params,
    output: r.output,
    trace: r.trace,
  };
}

const ENTRY_FIELDS = new Set(['method', 'status', 'params', 'keep', 'time_ms', 'display']);

/** The same source from an analysis.json entry (null for skipped/failed methods). */
export function sourceFromEntry(e: AnalysisEntry, analysis: Pick<Analysis, 'n' | 'grid'>): DecisionSource | null {
  if (e.status !== 'ok') return null;
  const output: JsonObject = {};
  for (const [k, v] of Object.entries(e)) {
    if (!ENTRY_FIELDS.has(k)) output[k] = v as JsonObject[string];
  }
  output.keep = e.keep;
  return {
    method: e.method,
    label: e.display.label,
    selection: e.display.selection,
    n: analysis.n,
    grid: analysis.grid,
    keep: e.keep,
    scores: e.display.scores,
    scoreName: e.display.scoreName,
    params: e.params,
    output,
    trace: e.display.trace,
  };
}

/** A PruneResult rebuilt from an analysis.json entry, for re-runs after a panel is revived from disk. */
export function resultFromEntry(e: AnalysisEntry, n: number): PruneResult | null {
  const s = sourceFromEntry(e, { n, grid: null });
  if (!s || e.status !== 'ok') return null;
  return {
    method: s.method,
    params: s.params,
    n,
    keep: [...s.keep],
    scores: s.scores ? [...s.scores] : null,
    scoreName: s.scoreName,
    selection: s.selection,
    output: s.output,
    trace: s.trace,
    notes: e.display.notes,
  };
}
