import { InputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { pyRound } from '../numeric/rounding.ts';
import { toArray, topKSplit } from '../numeric/ranking.ts';
import { optNum, str } from './params.ts';
import type { MethodSpec, Params } from './types.ts';
import type { Matrix } from '../bundle/tensor.ts';

const DEFAULT_R = 0.5;

/** Kept-count rule from R (HF variant, Python round) or a given attention_rank (in-place variant). */
function keptCount(n: number, params: Params): { K: number; R: number | null } {
  const R = optNum(params, 'R');
  const rank = optNum(params, 'attention_rank');
  if (R !== undefined && rank !== undefined) throw new InputError('fastv takes either R or attention_rank, not both.');
  if (rank !== undefined) {
    if (rank > n) throw new InputError(`fastv attention_rank ${rank} exceeds the ${n} image tokens.`);
    return { K: rank, R: null };
  }
  const r = R ?? DEFAULT_R;
  return { K: pyRound(n * (1 - r)), R: r };
}

/** The informational oracle label must name the budget rule actually used. */
function checkVariant(params: Params, usedR: boolean): void {
  if (typeof params.variant !== 'string') return;
  const v = str(params, 'variant');
  const isHf = v.startsWith('hf');
  const isInplace = v.startsWith('inplace');
  if (!isHf && !isInplace) throw new InputError(`fastv variant "${v}" is not recognised; use "hf …" (with R) or "inplace …" (with attention_rank).`);
  if (isHf !== usedR) throw new InputError(`fastv variant "${v}" does not match the budget parameter given (${usedR ? 'R' : 'attention_rank'}).`);
}

/**
 * Per-token score from the llm_attn role: the last query row (code; a view, not a copy) or the causal mean
 * over queries (paper).
 */
function scoreOf(a: Matrix, n: number, name: string, mode: string): ArrayLike<number> {
  if (a.cols !== n) throw new InputError(`llm_attn "${name}" has ${a.cols} key columns but the bundle has ${n} image tokens.`);
  if (mode === 'lastToken') return a.data.subarray((a.rows - 1) * n, a.rows * n);
  // meanReceived: row q sits at image-relative position q (rows ≥ N are the text after the image);
  // token i is seen by the causal queries q ≥ i.
  if (a.rows < n) {
    throw new InputError(
      `fastv score "meanReceived" needs a 2-D llm_attn [Q,N] with Q ≥ N query rows (image tokens first, then text); "${name}" has ${a.rows} row(s).`,
    );
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let q = i; q < a.rows; q++) s += a.data[q * n + i];
    out[i] = s / (a.rows - i);
  }
  return out;
}

export const fastv: MethodSpec = {
  id: 'fastv',
  label: 'FastV',
  source: 'Chen et al., ECCV 2024 (arXiv 2403.06764); pkunlp-icler/FastV @ d1659729, modeling_llama.py',
  family: 'baseline',
  needs: ['features', 'llm_attn'],
  optional: [],
  params: [
    { name: 'R', kind: 'number', min: 0, max: 1, description: 'Drop ratio (HF variant): keeps K = round(N·(1−R)) with Python half-even rounding. Used with 0.5 when attention_rank is not given.' },
    { name: 'attention_rank', kind: 'integer', min: 0, description: 'Number of image tokens kept (in-place variant, ATTENTION_RANK); alternative to R.' },
    {
      name: 'score',
      kind: 'enum',
      values: ['lastToken', 'meanReceived'],
      default: 'lastToken',
      description:
        'lastToken (official code): llm_attn is the head-mean attention of the last prompt token at layer K−1 (a 2-D llm_attn uses its last row). meanReceived (paper): llm_attn is [Q,N] with the image tokens as the first N query rows; each token scores the mean over the queries q ≥ i.',
    },
    { name: 'variant', kind: 'string', informational: true, description: 'Oracle label of the budget rule ("hf (round(N*(1-R)))" or "inplace (ATTENTION_RANK)"); checked against the parameter given.' },
  ],
  selection: 'ranked',
  budgetParams(k, n, current) {
    if (k < 0 || k > n) return null;
    const rest = Object.fromEntries(Object.entries(current).filter(([key]) => !['R', 'attention_rank', 'variant'].includes(key))) as JsonObject;
    return { ...rest, attention_rank: k };
  },
  run(input, params) {
    const n = input.n;
    const { K, R } = keptCount(n, params);
    checkVariant(params, R !== null);
    const mode = str(params, 'score');
    const attn = input.matrix('llm_attn');
    const a = scoreOf(attn, n, input.sourceName('llm_attn'), mode);
    const { order, ascending: keep } = topKSplit(a, K);
    const resolved: JsonObject = { ...params };
    if (R !== null) resolved.R = R;
    const notes: string[] = [];
    if (mode === 'meanReceived') notes.push('Paper score (mean attention received over causal queries); the official code ranks by the last token’s attention.');
    return {
      method: 'fastv',
      params: resolved,
      n,
      keep,
      scores: toArray(a),
      scoreName: mode === 'lastToken' ? 'last_token_attention' : 'mean_received_attention',
      selection: 'ranked',
      output: { K, keep, topk_order: order },
      trace: { score_variant: mode, attention_rows: attn.rows },
      notes,
    };
  },
};
