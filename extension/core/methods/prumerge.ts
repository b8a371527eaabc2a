import { InputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import type { Matrix } from '../bundle/tensor.ts';
import { type KernelPlan, kernelPlan, kernelSettings, planErrorBound, useOrt } from '../numeric/gemm.ts';
import { cosineRows, crossCosines, exactCross } from '../numeric/gram.ts';
import { sortedAscending, toArray, topK } from '../numeric/ranking.ts';
import { num, str } from './params.ts';
import type { MethodInput, MethodSpec } from './types.ts';

/**
 * The kNN product is thin (kept × N × key width, keys ≈ 64 wide): onnxruntime beats the TypeScript kernel
 * from far smaller products than the square Gram products the global threshold was measured on (30×576×64:
 * ≈ 0.05 ms vs ≈ 0.7 ms; 56×576×64: ≈ 0.2 ms vs ≈ 1.1 ms). The §8 toys and the 4×4 and 8×8 oracle bundles
 * stay in float64 TypeScript.
 */
const KNN_ORT_MIN_MACS = 1 << 18;

function knnPlan(macs: number): KernelPlan {
  const plan = kernelPlan(macs);
  if (plan.backend === 'ts' && useOrt(macs, KNN_ORT_MIN_MACS)) {
    const precision = kernelSettings().precision;
    return { backend: 'ort', precision: precision === 'auto' ? 'f32' : precision };
  }
  return plan;
}

/**
 * For each kept token (position p of `kept`), its k nearest other tokens by key cosine, ranked by (cosine
 * desc, position in the candidate list `cand` without p asc), as topk over the official candidate order.
 * One GEMM gives every cosine; with a float32 product, the candidates within 2ε of the k-th join the top k
 * and whatever float32 cannot order (values within 2ε of each other) is ranked on float64 cosines.
 */
function nearestKeys(keys: Matrix, kept: number[], cand: number[], k: number): number[][] {
  const n = cand.length;
  const plan = knnPlan(kept.length * n * keys.cols);
  const eps = planErrorBound(plan, keys.cols);
  const uk = cosineRows(keys, kept, plan, 1e-12, 'prumerge.kept');
  const uc = cosineRows(keys, cand, plan, 1e-12, 'prumerge.cand');
  const sims = crossCosines(uk, uc, plan, 'prumerge.sims');
  const vals = new Float64Array(n - 1);
  const inTop = new Uint8Array(n - 1);
  const exactAt = new Float64Array(n - 1);
  return kept.map((_, p) => {
    if (k <= 0) return [];
    // Row p over the candidates without itself (q = p is the token's own entry in cand).
    const o = p * n;
    for (let q = 0, r = 0; q < n; q++) if (q !== p) vals[r++] = sims[o + q];
    // Position r of row p (which skips the token itself) is entry q of the candidate list.
    const entry = (r: number): number => (r < p ? r : r + 1);
    const toToken = (r: number): number => cand[entry(r)];
    // Positions by (cosine desc, position asc): final for float64 similarities.
    const order = topK(vals, k);
    if (eps === 0) return order.map(toToken);
    // Float32: positions within 2ε below the k-th may belong to the top k as well.
    const floor = vals[order[k - 1]] - 2 * eps;
    for (const r of order) inTop[r] = 1;
    const extras: number[] = [];
    for (let r = 0; r < n - 1; r++) if (!inTop[r] && vals[r] >= floor) extras.push(r);
    for (const r of order) inTop[r] = 0;
    extras.sort((a, b) => (vals[a] !== vals[b] ? (vals[b] > vals[a] ? 1 : -1) : a - b));
    const list = order.concat(extras);
    // Neighbours in this order more than 2ε apart keep their float64 order; each run of values within 2ε
    // of the next is re-ranked on float64 cosines (position asc on ties). Runs past the k-th do not matter.
    for (let a = 0; a < k; ) {
      let b = a + 1;
      while (b < list.length && vals[list[b - 1]] - vals[list[b]] <= 2 * eps) b++;
      if (b - a > 1) {
        for (let t = a; t < b; t++) exactAt[list[t]] = exactCross(uk, p, uc, entry(list[t]));
        const run = list.slice(a, b).sort((x, y) => (exactAt[x] !== exactAt[y] ? (exactAt[y] > exactAt[x] ? 1 : -1) : x - y));
        for (let t = a; t < b; t++) list[t] = run[t - a];
      }
      a = b;
    }
    return list.slice(0, k).map(toToken);
  });
}

/** numpy.percentile with the default 'linear' method, including numpy's two-sided lerp. */
export function percentileLinear(sorted: ArrayLike<number>, q: number): number {
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const t = pos - lo;
  const a = sorted[lo];
  const b = sorted[hi];
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** The [CLS]→patch attention row: a 1-D role, or the head mean when asked for. */
function attentionRow(input: MethodInput, heads: string, notes: string[]): Float64Array {
  const a = input.matrix('cls_attn');
  const n = input.n;
  const name = input.sourceName('cls_attn');
  if (a.cols !== n) throw new InputError(`cls_attn "${name}" has ${a.cols} columns but there are ${n} patch tokens.`);
  if (a.rows > 1 && heads !== 'mean') {
    throw new InputError(
      `prumerge needs one [CLS]→patch attention row [N] (PruMerge recomputes single-head attention in the last CLIP layer), but cls_attn "${name}" has ${a.rows} heads; map a 1-D array (e.g. --input cls_attn=pm_cls_attn) or pass --param heads=mean to average them.`,
    );
  }
  const out = new Float64Array(n);
  for (let h = 0; h < a.rows; h++) for (let i = 0; i < n; i++) out[i] += a.data[h * n + i];
  if (a.rows > 1) {
    for (let i = 0; i < n; i++) out[i] /= a.rows;
    notes.push(`Averaged ${a.rows} attention heads into one row; PruMerge's own attention is single-head, so this is an approximation.`);
  }
  return out;
}

interface Outliers {
  q1: number;
  q3: number;
  upper: number;
  count: number;
  ratio: number;
}

/** IQR outlier rule (`outlier_dectection`). */
function outliers(a: Float64Array): Outliers {
  const sorted = Float64Array.from(a).sort();
  const q1 = percentileLinear(sorted, 25);
  const q3 = percentileLinear(sorted, 75);
  const upper = q3 + 1.5 * (q3 - q1);
  let count = 0;
  for (const v of a) if (v > upper) count++;
  return { q1, q3, upper, count, ratio: count / a.length };
}

/** PruMerge+ spatial extras: 0, s, 2s, … < N−1 with s = ⌊⌊1/ratio⌋/3⌋, skipping tokens already kept. */
function spatialExtras(n: number, ratio: number, kept: Set<number>, notes: string[]): { added: number[]; stepLength: number | null; spacing: number | null } {
  if (ratio === 0) {
    notes.push('No attention outliers: the official PruMerge+ divides by zero here; PruneLens adds no spatial samples.');
    return { added: [], stepLength: null, spacing: null };
  }
  const stepLength = Math.trunc(1 / ratio);
  let spacing = Math.trunc(stepLength / 3);
  if (spacing === 0) {
    notes.push('⌊step/3⌋ = 0 (the official arange would fail); PruneLens samples every token instead.');
    spacing = 1;
  }
  const added: number[] = [];
  for (let i = 0; i < n - 1; i += spacing) if (!kept.has(i)) added.push(i);
  return { added, stepLength, spacing: Math.trunc(stepLength / 3) };
}

export const prumerge: MethodSpec = {
  id: 'prumerge',
  label: 'LLaVA-PruMerge / PruMerge+',
  source: 'Shang et al., ICCV 2025 (arXiv 2403.15388); 42Shawn/LLaVA-PruMerge @ 097c0411, clip_encoder.py',
  family: 'baseline',
  needs: ['features', 'cls_attn', 'keys'],
  optional: [],
  params: [
    { name: 'variant', kind: 'enum', values: ['prumerge', 'prumerge_plus'], default: 'prumerge', description: 'prumerge: keep the IQR attention outliers; prumerge_plus: also add uniformly spaced spatial samples.' },
    { name: 'knn', kind: 'integer', default: 32, min: 1, description: 'Neighbours (by key cosine) merged into each kept token, weighted by their raw [CLS] attention.' },
    {
      name: 'heads',
      kind: 'enum',
      values: ['single', 'mean'],
      default: 'single',
      description: 'single: cls_attn must be one [N] row (e.g. --input cls_attn=pm_cls_attn); mean: average a multi-head [H,N] cls_attn (an approximation).',
    },
    { name: 'adaptive', kind: 'boolean', informational: true, description: 'Oracle label: the adaptive IQR count (always true here).' },
  ],
  selection: 'threshold',
  budgetParams: () => null,
  run(input, params) {
    const n = input.n;
    const variant = str(params, 'variant');
    if (params.adaptive === false) throw new InputError('prumerge supports only the adaptive (IQR outlier) token count; adaptive must be true.');
    const notes: string[] = [];
    const a = attentionRow(input, str(params, 'heads'), notes);
    const x = input.matrix('features');
    const keys = input.matrix('keys');
    if (keys.rows !== n) throw new InputError(`keys "${input.sourceName('keys')}" has ${keys.rows} rows but there are ${n} patch tokens.`);
    const o = outliers(a);
    const nTopk = Math.trunc(n * o.ratio);
    const order = topK(a, nTopk);
    const extras = variant === 'prumerge_plus' ? spatialExtras(n, o.ratio, new Set(order), notes) : null;
    const idxFinal = [...order, ...(extras?.added ?? [])];
    const keptSet = new Set(idxFinal);
    const compl = Array.from({ length: n }, (_, i) => i).filter((i) => !keptSet.has(i));

    // Merge: kept token + Σ a_j x_j over its k nearest (key cosine) among all other tokens.
    const d = x.cols;
    let k = num(params, 'knn');
    if (k > n - 1) {
      notes.push(`Only ${n - 1} other tokens: kNN uses ${n - 1} neighbours instead of ${k}.`);
      k = n - 1;
    }
    // Candidate order as in the official code: the other kept tokens, then the pruned ones.
    const cand = [...idxFinal, ...compl];
    const neighbours = nearestKeys(keys, idxFinal, cand, k);
    const dims = Math.min(4, d);
    // Only the first four dimensions of each merged token are reported (merged_first4), so only those are summed.
    const rows: number[][] = idxFinal.map((tok, i) => {
      const out = new Float64Array(dims);
      for (const j of neighbours[i]) for (let c = 0; c < dims; c++) out[c] += x.data[j * d + c] * a[j];
      for (let c = 0; c < dims; c++) out[c] += x.data[tok * d + c];
      return Array.from(out);
    });
    const extra = new Float64Array(dims);
    for (const j of compl) for (let c = 0; c < dims; c++) extra[c] += x.data[j * d + c] * a[j];
    rows.push(Array.from(extra));

    const keep = sortedAscending(idxFinal);
    const output: JsonObject = {
      cls_attn: toArray(a),
      Q1: o.q1,
      Q3: o.q3,
      upper_bound: o.upper,
      n_outliers: o.count,
      ratio: o.ratio,
      n_topk: nTopk,
      topk_order: order,
      added: extras?.added ?? [],
      idx_final: idxFinal,
      keep,
      n_out: idxFinal.length + 1,
      merged_first4: rows,
    };
    if (extras) {
      output.step_length = extras.stepLength;
      output.spacing = extras.spacing;
    }
    return {
      method: 'prumerge',
      params: { ...params },
      n,
      keep,
      scores: toArray(a),
      scoreName: 'cls_attention',
      selection: 'threshold',
      output,
      trace: { neighbours, pruned: compl, upper_bound: o.upper },
      notes,
    };
  },
};
