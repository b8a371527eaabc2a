import type { JsonObject, JsonValue } from './json.ts';
import type { SelectionKind } from './methods/types.ts';

/** What the webview needs besides the oracle-named fields, per method result. */
export interface ResultDisplay {
  label: string;
  selection: SelectionKind;
  scoreName: string;
  /** Per-token heat (higher = more keep-worthy), or null. */
  scores: number[] | null;
  trace: JsonObject;
  notes: string[];
}

/** One method in an analysis: either a result (fields as `prunelens prune --json`) or why it did not run. */
export type AnalysisEntry =
  | ({ method: string; status: 'ok'; params: JsonObject; keep: number[]; time_ms: number; display: ResultDisplay } & { [field: string]: JsonValue | ResultDisplay })
  | { method: string; status: 'skipped' | 'error'; reason: string };

/** analysis.json — written by `prunelens analyze`, read by the webview and the HTML report. */
export interface Analysis {
  version: 1;
  image: { path: string; width: number; height: number } | null;
  question: string;
  model: {
    id: string;
    name: string;
    description: string;
    weightsKind: string;
    /** Execution provider that actually ran, and why others were skipped. */
    provider: string;
    providerNotes: string[];
    /** Where the tokens came from: the bundle's metadata (files, layer, timings, input sha256), flattened. */
    provenance?: { [key: string]: string };
  };
  /** Token grid [h,w] (the base grid for multi-group bundles). */
  grid: [number, number] | null;
  n: number;
  /** The budget the results were computed at (k kept tokens). */
  budget: number;
  timings_ms: { [stage: string]: number };
  results: AnalysisEntry[];
}
