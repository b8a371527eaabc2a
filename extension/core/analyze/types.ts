import type { Analysis } from '../analysis.ts';
import type { RoleMapping, TokenBundle } from '../bundle/types.ts';
import type { JsonObject } from '../json.ts';
import type { PruneResult } from '../methods/types.ts';

/** A budget: k kept tokens, or a keep ratio of N (k = round(ratio·N), at least 1). */
export type BudgetRequest = { k: number } | { ratio: number };

/** What to analyse. Exactly one of `image` (encode with a model) or `bundlePath` (a dumped .npz). */
export interface AnalyzeRequest {
  image: string | null;
  bundlePath: string | null;
  /** Empty/whitespace = question-agnostic analysis. */
  question: string;
  /**
   * 'probe' (the built-in default) or a model folder / manifest path. With a bundle, null means: take
   * model-specific method settings from the bundle's own model when it is the built-in probe.
   */
  model: string | null;
  /** Method ids, or 'all'. */
  methods: 'all' | string[];
  /** Null = the comparison budget k = round(N/9) (64 of LLaVA-1.5's 576 tokens). */
  budget: BudgetRequest | null;
  /** Per-method parameter overrides (win over the budget and the model's method defaults). */
  params: { [methodId: string]: JsonObject };
  /** Execution-provider setting (auto | cpu | cuda | webgpu | dml | coreml). */
  provider: string;
  /** Intra-op threads; 0 = onnxruntime's default. */
  threads: number;
  /** Optional codebook (.npy/.npz) for the codebook method. */
  codebookPath: string | null;
  /** Refuse images above this many megapixels before decoding (default 50; decompression-bomb guard). */
  maxMegapixels?: number | null;
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

/** How each method was set up; kept with the outcome so a method can be re-run for another budget. */
export interface AnalysisContext {
  /** Model-specific defaults (manifest `methodDefaults`), per method id. */
  methodDefaults: { [methodId: string]: JsonObject };
  /** The request's per-method overrides. */
  params: { [methodId: string]: JsonObject };
  /** Cache identity of the input: sha256 of the image or bundle file, the question and the model. */
  inputKey: { sha256: string; question: string; model: string } | null;
  /** Model-view geometry the tokens refer to (preprocessor crop), when an image was encoded. */
  view: { preprocessorPath: string } | null;
  /** The model has a text tower (null: unknown, e.g. a bundle made elsewhere); for "needs text" reasons. */
  hasTextTower: boolean | null;
}

/** An analysis plus the bundle it was computed from (kept so budgets can be re-run without re-encoding). */
export interface AnalysisOutcome {
  analysis: Analysis;
  bundle: TokenBundle;
  /** Full results by method id (scores and traces), for re-ranking and decision explanations. */
  results: Map<string, PruneResult>;
  context: AnalysisContext;
}

/** One method's set-up for a run: parameters, role mapping and notes, or why it cannot run here. */
export type MethodPlan =
  | { method: string; runnable: true; params: JsonObject; mapping: RoleMapping; notes: string[] }
  | { method: string; runnable: false; status: 'skipped' | 'error'; reason: string };
