import { InputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { normalizeRows } from '../numeric/linalg.ts';
import { argmax, sortedAscending, toArray, topK } from '../numeric/ranking.ts';
import { roundHalfUp } from '../numeric/rounding.ts';
import { num } from './params.ts';
import type { MethodInput, MethodSpec } from './types.ts';
import { keySimilaritiesSimd } from './visionzip-wasm.ts';

/** s_i = Σ_h A[h, CLS, i] over the N patch columns. */
function headSummedAttention(input: MethodInput): Float64Array {
  const a = input.matrix('cls_attn');
  const n = input.n;
  if (a.cols !== n) {
    throw new InputError(
      `cls_attn "${input.sourceName('cls_attn')}" has ${a.cols} columns but there are ${n} patch tokens; VisionZip needs [CLS]→patch attention [H,N] without the [CLS] column.`,
    );
  }
  const s = new Float64Array(n);
  // One loop per array type: a load site shared by float32 and float64 inputs runs several times slower.
  if (a.data instanceof Float32Array) addRows32(a.data, a.rows, n, s);
  else for (let h = 0; h < a.rows; h++) for (let i = 0; i < n; i++) s[i] += a.data[h * n + i];
  return s;
}

/** s[i] += Σ_h a[h, i], heads in order. */
function addRows32(a: Float32Array, rows: number, n: number, s: Float64Array): void {
  for (let h = 0; h < rows; h++) for (let i = 0; i < n; i++) s[i] += a[h * n + i];
}

/** sims[j] = kn[tok]·kn[targets[j]], each a left-to-right float64 sum over the key dimensions (keySimilaritiesSimd's fallback). */
function keySimilarities(kn: Float64Array, dk: number, tok: number, targets: readonly number[], sims: Float64Array): void {
  const a = tok * dk;
  targets.forEach((t, j) => {
    let s = 0;
    for (let k = 0; k < dk; k++) s += kn[a + k] * kn[t * dk + k];
    sims[j] = s;
  });
}

/** Best target of pool token i by the TypeScript similarity loop (first maximum). */
function scalarBestTarget(kn: Float64Array, dk: number, tokens: readonly number[], targets: readonly number[]): (i: number) => number {
  const sims = new Float64Array(targets.length);
  return (i) => {
    keySimilarities(kn, dk, tokens[i], targets, sims);
    return argmax(sims);
  };
}

/**
 * The first `dims` columns of the contextual token of target t: x[t] + mean of its members' rows, the members
 * summed in order in float64 (the columns are independent, so these equal the full token's first columns).
 */
function contextualHead(x: Float32Array | Float64Array, d: number, t: number, members: readonly number[], dims: number): number[] {
  const sum = new Float64Array(dims);
  for (const r of members) for (let k = 0; k < dims; k++) sum[k] += x[r * d + k];
  const count = Math.max(1, members.length);
  return Array.from(sum, (v, k) => x[t * d + k] + v / count);
}

interface Contextual {
  targets: number[];
  nonTargetPool: number[];
  slotOf: number[];
  assignment: number[][];
  /** The first four columns of each contextual token (all that the result reports). */
  mergedHead: number[][];
}

/**
 * Uniform targets over the pool; every other pool token joins its most key-similar target; target + mean(members).
 * Only the reported first four columns of each contextual token are computed (as PruMerge does).
 */
function contextualTokens(input: MethodInput, pool: number[], c: number): Contextual {
  const hs = input.matrix('features');
  const keys = input.matrix('keys');
  const d = hs.cols;
  const dk = keys.cols;
  const step = Math.max(1, Math.floor(pool.length / c));
  const targetPos = new Set<number>();
  for (let p = 0; p < pool.length && targetPos.size < c; p += step) targetPos.add(p);
  const targets = pool.filter((_, p) => targetPos.has(p));
  const nonTargetPool = pool.filter((_, p) => !targetPos.has(p));
  const assignment: number[][] = targets.map(() => []);
  const slotOf = new Array<number>(nonTargetPool.length);
  const nt = targets.length;
  const allSims = keys.data instanceof Float32Array ? keySimilaritiesSimd(keys.data, keys.rows, dk, nonTargetPool, targets) : null;
  const bestTarget = allSims ? (i: number) => argmax(allSims, i * nt, nt) : scalarBestTarget(normalizeRows(keys), dk, nonTargetPool, targets);
  for (let i = 0; i < nonTargetPool.length; i++) {
    const best = bestTarget(i);
    assignment[best].push(nonTargetPool[i]);
    slotOf[i] = best;
  }
  const dims = Math.min(4, d);
  const mergedHead = targets.map((t, slot) => contextualHead(hs.data, d, t, assignment[slot], dims));
  return { targets, nonTargetPool, slotOf, assignment, mergedHead };
}

export const visionzip: MethodSpec = {
  id: 'visionzip',
  label: 'VisionZip',
  source: 'Yang et al., CVPR 2025 (arXiv 2412.04467); dvlab-research/VisionZip @ 3151f6df, visionzip/clip_encoder.py',
  family: 'baseline',
  needs: ['features', 'cls_attn', 'keys'],
  optional: [],
  params: [
    { name: 'dominant', kind: 'integer', default: 54, min: 1, description: 'Dominant tokens D including [CLS]: the D−1 patches with the most head-summed [CLS] attention are kept.' },
    { name: 'contextual', kind: 'integer', default: 10, min: 0, description: 'Contextual tokens C: uniformly spaced targets of the remaining patches, each merged with its most key-similar patches.' },
    { name: 'dominant_patches', kind: 'integer', min: 0, informational: true, description: 'The official internal dominant_num (= dominant − 1); checked.' },
  ],
  selection: 'merge',
  budgetParams(k, n, current) {
    if (k < 0 || k > n) return null;
    // README ratio 54:10 → 53 dominant patches + 10 contextual for 63 kept patches.
    const c = k >= 2 ? Math.max(1, roundHalfUp((k * 10) / 64)) : 0;
    const rest = Object.fromEntries(Object.entries(current).filter(([key]) => !['dominant', 'contextual', 'dominant_patches'].includes(key))) as JsonObject;
    return { ...rest, dominant: k - c + 1, contextual: c };
  },
  run(input, params) {
    const n = input.n;
    const dominant = num(params, 'dominant');
    const c = num(params, 'contextual');
    const dp = dominant - 1;
    if (typeof params.dominant_patches === 'number' && params.dominant_patches !== dp) {
      throw new InputError(`visionzip dominant_patches must equal dominant − 1 = ${dp} (dominant counts [CLS]), got ${params.dominant_patches}.`);
    }
    if (dp + c > n) throw new InputError(`visionzip keeps dominant − 1 + contextual = ${dp + c} patches, more than the ${n} available.`);
    const keys = input.matrix('keys');
    if (keys.rows !== n) throw new InputError(`keys "${input.sourceName('keys')}" has ${keys.rows} rows but there are ${n} patch tokens.`);
    const s = headSummedAttention(input);
    const order = topK(s, dp);
    const isDominant = new Uint8Array(n);
    for (const i of order) isDominant[i] = 1;
    const pool: number[] = [];
    for (let i = 0; i < n; i++) if (!isDominant[i]) pool.push(i);
    const notes: string[] = [];
    const ctx: Contextual = c > 0 ? contextualTokens(input, pool, c) : { targets: [], nonTargetPool: pool, slotOf: [], assignment: [], mergedHead: [] };
    if (c === 0) notes.push('contextual = 0: no contextual tokens (the official code divides by zero here).');
    const tokenSlot = new Array<number>(n).fill(-1);
    ctx.targets.forEach((t, slot) => (tokenSlot[t] = slot));
    ctx.nonTargetPool.forEach((t, i) => (tokenSlot[t] = c > 0 ? ctx.slotOf[i] : -1));
    const keep = sortedAscending([...order, ...ctx.targets]);
    return {
      method: 'visionzip',
      params: { ...params },
      n,
      keep,
      scores: toArray(s),
      scoreName: 'cls_attention_head_sum',
      selection: 'merge',
      output: {
        dominant: sortedAscending(order),
        dominant_topk_order: order,
        targets: ctx.targets,
        non_target_pool: ctx.nonTargetPool,
        assigned_target_slot: ctx.slotOf,
        assignment: ctx.assignment,
        contextual_first4: ctx.mergedHead,
        n_out: dominant + ctx.targets.length,
        keep,
      },
      // token_slot: contextual slot per patch (−1 = dominant, or dropped when C = 0).
      trace: { token_slot: tokenSlot, assignment_sizes: ctx.assignment.map((a) => a.length) },
      notes,
    };
  },
};
