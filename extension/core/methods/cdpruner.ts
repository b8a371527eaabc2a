import { InputError, MissingInputError } from '../errors.ts';
import { toArray } from '../numeric/ranking.ts';
import { type KernelPlan, kernelPlan, ORT_MIN_GEMV_MACS, useOrt } from '../numeric/gemm.ts';
import { kernelThreads, loadOrtGemm } from '../numeric/ort-gemm.ts';
import { cosineRows } from '../numeric/gram.ts';
import { normalizeRows, rowNorms } from '../numeric/linalg.ts';
import { rowGram, speculativeRows } from '../numeric/row-gram.ts';
import { DPP_GAIN_FLOOR, greedyDppRows, minMaxRelevance } from './dpp.ts';
import type { DppStorage } from './dpp-wasm.ts';
import { num } from './params.ts';
import type { MethodInput, MethodSpec, Params, PruneResult } from './types.ts';

/**
 * Raw relevance of every image token: mean over text segments of sign·cos(e_i, t_m) (CLIP-joint space).
 * The official code uses sign −1 (CLIP's inverted patch–text similarity, CDPruner issues #14/#19).
 */
export function rawRelevance(input: MethodInput, sign: number): Float64Array {
  for (const role of ['text', 'image_joint'] as const) {
    if (!input.has(role)) {
      throw new MissingInputError('cdpruner', role, role === 'text' ? 'CLIP text embeddings of the instruction, for relevance' : 'CLIP-joint patch embeddings, for relevance');
    }
  }
  const img = input.matrix('image_joint');
  const txt = input.matrix('text');
  if (img.rows !== input.n) throw new InputError(`Array "${input.sourceName('image_joint')}" (role image_joint) has ${img.rows} rows for ${input.n} tokens.`);
  if (img.cols !== txt.cols) {
    throw new InputError(`image_joint width ${img.cols} does not match text width ${txt.cols}; both must live in the CLIP joint space.`);
  }
  const ort = useOrt(img.rows * txt.rows * img.cols, ORT_MIN_GEMV_MACS) ? loadOrtGemm() : null;
  if (ort && img.data instanceof Float32Array) {
    // One small graph: cosines to every text segment and their mean (float32, like the official code).
    const mean = ort.cosineMean(img.data, img.rows, Float32Array.from(txt.data), txt.rows, img.cols);
    const out = new Float64Array(img.rows);
    for (let i = 0; i < img.rows; i++) out[i] = sign * mean[i];
    return out;
  }
  const t = normalizeRows(txt, 1e-12);
  const inv = rowNorms(img);
  const out = new Float64Array(img.rows);
  const dt = img.cols;
  const e = img.data;
  for (let i = 0; i < img.rows; i++) {
    // cos = (e_i·t̂_m)/max(‖e_i‖, eps): one scale per dot instead of a normalised copy of image_joint.
    const f = 1 / Math.max(inv[i], 1e-12);
    const base = i * dt;
    let sum = 0;
    for (let m = 0; m < txt.rows; m++) {
      const tb = m * dt;
      let s0 = 0;
      let s1 = 0;
      let k = 0;
      for (; k + 1 < dt; k += 2) {
        s0 += e[base + k] * t[tb + k];
        s1 += e[base + k + 1] * t[tb + k + 1];
      }
      if (k < dt) s0 += e[base + k] * t[tb + k];
      sum += sign * ((s0 + s1) * f);
    }
    out[i] = sum / txt.rows;
  }
  return out;
}

/** Rows per speculative GEMM (the pick plus the 31 best current gains). */
const SPECULATIVE_BATCH = 32;

/**
 * Past this many tokens the pick rows outgrow the cache at CDPruner's budgets (n/9 picks: 15 MB of float64
 * rows at 4,096 tokens), and every pick re-reads them all from memory.
 */
const F32_PICK_ROWS_ABOVE = 4096;

/**
 * Storage of the DPP's pick rows c. Kernel rows from a float32 plan carry ≥ 2⁻²⁴ relative error already, so
 * past the cache their rows are stored in float32 (half the bytes; arithmetic stays float64). It depends on
 * the token count and the plan only, never on the budget, so a run's picks stay a prefix of a run at any
 * larger budget (the decisions view reads pick steps from one). A float64 plan keeps float64 rows.
 */
export function pickRowStorage(plan: KernelPlan, n: number): DppStorage {
  return plan.precision === 'f32' && n > F32_PICK_ROWS_ABOVE ? 'f32' : 'f64';
}

function alwaysKept(input: MethodInput): Set<number> {
  if (!input.has('always_keep')) return new Set();
  const v = input.vector('always_keep');
  return new Set(Array.from(v.keys()).filter((i) => v[i] !== 0));
}

function run(input: MethodInput, params: Params): PruneResult {
  const t = num(params, 'visual_token_num');
  const sign = num(params, 'relevance_sign');
  if (sign !== 1 && sign !== -1) throw new InputError(`Parameter relevance_sign of cdpruner must be -1 or 1, got ${sign}.`);
  const raw = rawRelevance(input, sign);

  const fixed = alwaysKept(input);
  const pool = Array.from({ length: input.n }, (_, i) => i).filter((i) => !fixed.has(i));
  if (t > pool.length) throw new InputError(`visual_token_num ${t} exceeds the ${pool.length} selectable tokens.`);

  // Min/max over the selectable tokens (the official code: over the whole batch); always-kept tokens share the map.
  const relevance = minMaxRelevance(raw, pool);
  const rPool = Float64Array.from(pool, (i) => relevance[i]);
  const f = input.matrix('features');
  const plan = kernelPlan((pool.length * pool.length * f.cols) / 2);
  const u = cosineRows(f, pool, plan, 1e-12, 'cdpruner.rows');
  const storage = pickRowStorage(plan, pool.length);
  // Past the cache the per-pick passes are compute-bound on float32 rows: both cores share them, and
  // onnxruntime's idle threads must not spin against the second one (quiet sessions for the row products).
  const threads = storage === 'f32' ? Math.min(2, kernelThreads()) : 1;
  const rowPlan: KernelPlan = threads > 1 ? { ...plan, quiet: true } : plan;
  // Few picks among many tokens: rows in speculative batches beat the whole Gram (fewer products, O(batch·n) memory).
  const rows = t * 4 < pool.length ? speculativeRows(u, rowPlan, SPECULATIVE_BATCH) : rowGram(u, rowPlan);
  const sel = greedyDppRows(rows, u.self, rPool, t, storage, threads);

  const order = sel.order.map((i) => pool[i]);
  const keep = [...order, ...fixed].sort((a, b) => a - b);
  // Heat: the conditional gain — at its pick for selected tokens, what remains after the last pick otherwise.
  const scores = new Array<number>(input.n).fill(0);
  pool.forEach((g, i) => {
    scores[g] = sel.residual[i];
  });
  order.forEach((g, p) => {
    scores[g] = sel.gains[p];
  });
  for (const g of fixed) scores[g] = sel.gains.length > 0 ? sel.gains[0] : 1;
  const pickRank = new Array<number>(input.n).fill(-1);
  order.forEach((g, p) => {
    pickRank[g] = p;
  });

  const notes = [
    plan.precision === 'f64'
      ? 'CDPruner as in the official code (Theia-4869/CDPruner); similarity and DPP computed in float64.'
      : storage === 'f32'
        ? 'CDPruner as in the official code (Theia-4869/CDPruner); similarity from a float32 GEMM as the official code computes it, DPP updates in float64 on pick rows stored in float32 (as the official code stores them; past the cache).'
        : 'CDPruner as in the official code (Theia-4869/CDPruner); similarity from a float32 GEMM as the official code computes it, DPP updates in float64.',
  ];
  if (input.has('group')) notes.push('Multi-group bundle: the DPP runs once over all tokens (the official LLaVA-NeXT path runs it per 576-token crop).');
  if (fixed.size > 0) notes.push(`${fixed.size} always_keep token(s) kept outside the DPP.`);
  if (sel.exhaustedAt >= 0) {
    notes.push(
      `The kernel ran out of rank at pick ${sel.exhaustedAt}: every remaining gain was ≤ ${DPP_GAIN_FLOOR}·max L_ii (rounding, counted as 0; the official code keeps picking by it), so the remaining picks follow relevance (gain 0).`,
    );
  }
  return {
    method: 'cdpruner',
    params: { ...params },
    n: input.n,
    keep,
    scores,
    scoreName: 'DPP conditional gain d²',
    selection: 'greedy',
    output: { keep, K: t, order, gains: sel.gains, relevance: toArray(relevance) },
    trace: {
      relevance_raw: toArray(raw),
      pick_rank: pickRank,
      residual_gain: scores.map((s, i) => (pickRank[i] >= 0 ? 0 : s)),
      always_keep: [...fixed].sort((a, b) => a - b),
      dpp_exhausted_at: sel.exhaustedAt >= 0 ? sel.exhaustedAt : null,
      // Gains ≤ this count as 0 (DPP_GAIN_FLOOR · max L_ii): what a saturated kernel leaves is rounding.
      dpp_gain_floor: sel.floor,
    },
    notes,
  };
}

export const cdpruner: MethodSpec = {
  id: 'cdpruner',
  label: 'CDPruner (conditional DPP)',
  source: 'Zhang et al., NeurIPS 2025, arXiv 2506.10967; code Theia-4869/CDPruner @ 9541616c (llava_arch.py encode_images)',
  family: 'baseline',
  needs: ['features', 'image_joint', 'text'],
  optional: ['always_keep', 'group'],
  params: [
    { name: 'visual_token_num', kind: 'integer', default: 64, min: 1, description: 'Tokens kept (T greedy DPP picks).' },
    {
      name: 'relevance_sign',
      kind: 'integer',
      default: -1,
      min: -1,
      max: 1,
      description: 'Sign on the patch–text cosine before min–max: −1 as in the official code (CLIP inversion), +1 plain.',
    },
  ],
  selection: 'greedy',
  budgetParams(k, n, current) {
    if (!Number.isInteger(k) || k < 1 || k > n) return null;
    return { ...current, visual_token_num: k };
  },
  run,
};
