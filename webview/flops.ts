/**
 * FLOPs-saved readout (ALGORITHMS.md §7): per decoder layer F(n) = 4nd² + 2n²d + 3ndm (SwiGLU form,
 * preferred for LLaMA-family LLMs), summed over layers; text tokens are counted too.
 */

export interface LlmDims {
  id: string;
  label: string;
  d: number;
  m: number;
  layers: number;
}

export const LLMS: readonly LlmDims[] = [
  { id: 'llava-1.5-7b', label: 'LLaVA-1.5-7B', d: 4096, m: 11008, layers: 32 },
  { id: 'llama-3-8b', label: 'Llama-3-8B (LLaVA-NeXT-8B)', d: 4096, m: 14336, layers: 32 },
];

export function layerFlops(n: number, dims: LlmDims): number {
  return 4 * n * dims.d * dims.d + 2 * n * n * dims.d + 3 * n * dims.d * dims.m;
}

export interface FlopsEstimate {
  full: number;
  pruned: number;
  /** 1 − pruned/full. */
  saved: number;
}

/**
 * `pruneLayer` = 0 for input-level pruning (every layer sees the kept tokens); FastV prunes at layer K,
 * so layers < K still see all `visual` tokens.
 */
export function flopsSaved(visual: number, kept: number, text: number, dims: LlmDims, pruneLayer = 0): FlopsEstimate {
  const K = Math.max(0, Math.min(dims.layers, Math.floor(pruneLayer)));
  const fullLayer = layerFlops(visual + text, dims);
  const prunedLayer = layerFlops(kept + text, dims);
  const full = dims.layers * fullLayer;
  const pruned = K * fullLayer + (dims.layers - K) * prunedLayer;
  return { full, pruned, saved: full > 0 ? 1 - pruned / full : 0 };
}
