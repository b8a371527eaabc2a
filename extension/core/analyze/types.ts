import type { Analysis } from '../analysis.ts';
import type { TokenBundle } from '../bundle/types.ts';
import type { JsonObject } from '../json.ts';
import type { PruneResult } from '../methods/types.ts';

/** What to analyse. Exactly one of `image` (encode with a model) or `bundlePath` (a dumped .npz). */
export interface AnalyzeRequest {
  image: string | null;
  bundlePath: string | null;
  /** Empty/whitespace = question-agnostic analysis. */
  question: string;
  /** 'probe' (the built-in default) or a model folder / manifest path. */
  model: string;
  /** Method ids, or 'all'. */
  methods: 'all' | string[];
  /** Budget: k kept tokens, or a keep ratio of N. Default: the method's own defaults scaled to ≈ N/9. */
  budget: { k: number } | { ratio: number } | null;
  /** Per-method parameter overrides. */
  params: { [methodId: string]: JsonObject };
  provider: string;
  threads: number;
  /** Optional codebook (.npy/.npz) for the codebook method. */
  codebookPath: string | null;
}

export interface AnalyzeProgress {
  stage: 'decode' | 'encode' | 'method' | 'write';
  message: string;
  /** 0..1 when known. */
  fraction?: number;
}

export interface AnalyzeOptions {
  signal?: AbortSignal;
  onProgress?: (p: AnalyzeProgress) => void;
}

/** An analysis plus the bundle it was computed from (kept so budgets can be re-run without re-encoding). */
export interface AnalysisOutcome {
  analysis: Analysis;
  bundle: TokenBundle;
  /** Full results by method id (scores and traces), for re-ranking and decision explanations. */
  results: Map<string, PruneResult>;
}
