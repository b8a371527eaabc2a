import { InputError, MissingInputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import type { Matrix } from '../bundle/tensor.ts';
import { type KernelPlan, kernelPlan, planErrorBound } from '../numeric/gemm.ts';
import { cosineRows, crossCosines, exactCross } from '../numeric/gram.ts';
import { rankDescending, sortedAscending, toArray, topK } from '../numeric/ranking.ts';
import { pyRound } from '../numeric/rounding.ts';
import { ortMax } from './codebook-ort.ts';
import { num, str } from './params.ts';
import type { MethodSpec, Params } from './types.ts';

type Mode = 'A' | 'B' | 'C' | 'D';

/** The official `select_feature` name of each mode. */
export const CODEBOOK_SELECT_FEATURE: Readonly<Record<Mode, string>> = {
  A: 'high_info_patch',
  B: 'high_info_patch_fix_num',
  C: 'high_info_patch_double_smx',
  D: 'high_info_patch_single_smx',
};

const SCORE_NAME: Readonly<Record<Mode, string>> = {
  A: 'neg_max_codebook_cosine',
  B: 'neg_max_codebook_cosine',
  C: 'neg_max_double_softmax',
  D: 'neg_max_row_softmax',
};

/** In-place softmax over `len` entries starting at `off` with stride `stride`. */
function softmaxStrided(m: Float64Array, off: number, len: number, stride: number): void {
  let mx = -Infinity;
  for (let i = 0; i < len; i++) mx = Math.max(mx, m[off + i * stride]);
  let s = 0;
  for (let i = 0; i < len; i++) {
    const e = Math.exp(m[off + i * stride] - mx);
    m[off + i * stride] = e;
    s += e;
  }
  for (let i = 0; i < len; i++) m[off + i * stride] /= s;
}

/** Per-token redundancy score r (max over prototypes) and its argmax prototype, as each mode ranks. */
function redundancy(sim: Float64Array, L: number, P: number, mode: Mode): { r: Float64Array; arg: number[] } {
  let m = sim;
  if (mode === 'C' || mode === 'D') {
    const rowSm = Float64Array.from(sim);
    for (let i = 0; i < L; i++) softmaxStrided(rowSm, i * P, P, 1);
    m = rowSm;
    if (mode === 'C') {
      const colSm = Float64Array.from(sim);
      for (let p = 0; p < P; p++) softmaxStrided(colSm, p, L, P);
      m = rowSm.map((v, k) => v * colSm[k]);
    }
  }
  const r = new Float64Array(L);
  const arg: number[] = [];
  for (let i = 0; i < L; i++) {
    let best = 0;
    for (let p = 1; p < P; p++) if (m[i * P + p] > m[i * P + best]) best = p;
    r[i] = m[i * P + best];
    arg.push(best);
  }
  return { r, arg };
}

/** Token–prototype cosines from the plan's product, with float64 re-checks for what they cannot decide. */
interface Similarity {
  readonly sim: Float64Array;
  /** Error bound of every entry (0 for a float64 product). */
  readonly eps: number;
  exact(i: number, p: number): number;
}

function similarity(x: Matrix, cb: Matrix, plan: KernelPlan): Similarity {
  const u = cosineRows(x, null, plan, 1e-12, 'codebook.rows');
  const v = cosineRows(cb, null, plan, 1e-12, 'codebook.protos');
  return { sim: crossCosines(u, v, plan, 'codebook.sim'), eps: planErrorBound(plan, x.cols), exact: (i, p) => exactCross(u, i, v, p) };
}

/**
 * Modes A and B rank by the max cosine. With a float32 product, a row whose runner-up prototype lies
 * within 2ε of its max is settled in float64, as is every r within ε of τ (mode A) or within 2ε of the
 * k-th smallest r (mode B), so the kept set and argmax are those of the float64 computation.
 */
function certifiedMax(s: Similarity, L: number, P: number): { r: Float64Array; arg: number[]; settled: Uint8Array } {
  const { sim, eps } = s;
  const r = new Float64Array(L);
  const arg: number[] = [];
  const settled = new Uint8Array(L);
  for (let i = 0; i < L; i++) {
    const o = i * P;
    let best = 0;
    for (let p = 1; p < P; p++) if (sim[o + p] > sim[o + best]) best = p;
    r[i] = sim[o + best];
    if (eps > 0) {
      let contenders = 0;
      for (let p = 0; p < P; p++) if (sim[o + p] >= r[i] - 2 * eps) contenders++;
      if (contenders > 1) {
        let top = -Infinity;
        for (let p = 0; p < P; p++) {
          if (!(sim[o + p] >= r[i] - 2 * eps)) continue;
          const e = s.exact(i, p);
          if (e > top) {
            top = e;
            best = p;
          }
        }
        r[i] = top;
        settled[i] = 1;
      }
    }
    arg.push(best);
  }
  return { r, arg, settled };
}

/** −r as a plain array (higher = less redundant). */
function negated(r: Float64Array): number[] {
  const out = new Array<number>(r.length);
  for (let i = 0; i < r.length; i++) out[i] = -r[i];
  return out;
}

/** The k indices with the smallest r (ties: lower index), certified against float64 within the band. */
function smallestK(s: Similarity, r: Float64Array, arg: number[], settled: Uint8Array, k: number): number[] {
  if (s.eps === 0 || k === 0 || k >= r.length) return topK(negated(r), k);
  const eps = s.eps;
  const pivot = r[topK(negated(r), k)[k - 1]];
  const certain: number[] = [];
  const band: number[] = [];
  for (let i = 0; i < r.length; i++) {
    if (r[i] < pivot - 2 * eps) certain.push(i);
    else if (r[i] <= pivot + 2 * eps) {
      if (!settled[i]) {
        r[i] = s.exact(i, arg[i]);
        settled[i] = 1;
      }
      band.push(i);
    }
  }
  band.sort((a, b) => r[a] - r[b] || a - b);
  return [...certain, ...band.slice(0, k - certain.length)];
}

/**
 * Mode D from a float32 product: r_i = max row softmax = 1/Σ_q exp(S_iq − max_q S_iq), relative error ≤ 3ε.
 * Rows whose cosine runner-up lies within 2ε of the max, and every r near the drop threshold, are
 * recomputed from float64 cosines; the threshold itself is then the float64 one.
 */
function certifiedRowSoftmax(s: Similarity, L: number, P: number, drop: number): { r: Float64Array; arg: number[]; threshold: number | null } {
  const { r, arg } = redundancy(s.sim, L, P, 'D');
  const exactRow = (i: number): void => {
    const row = new Float64Array(P);
    for (let p = 0; p < P; p++) row[p] = s.exact(i, p);
    const e = redundancy(row, 1, P, 'D');
    r[i] = e.r[0];
    arg[i] = e.arg[0];
  };
  const settled = new Uint8Array(L);
  for (let i = 0; i < L; i++) {
    const o = i * P;
    const top = s.sim[o + arg[i]];
    for (let p = 0; p < P; p++) {
      if (p !== arg[i] && s.sim[o + p] >= top - 2 * s.eps) {
        exactRow(i);
        settled[i] = 1;
        break;
      }
    }
  }
  if (drop === 0) return { r, arg, threshold: null };
  const rel = 3 * s.eps;
  const approx = r[rankDescending(r)[drop - 1]];
  const lo = approx * (1 - 2 * rel);
  const hi = approx * (1 + 2 * rel);
  let above = 0;
  const band: number[] = [];
  for (let i = 0; i < L; i++) {
    if (r[i] > hi && !settled[i]) above++;
    else if (r[i] >= lo || settled[i]) {
      if (!settled[i]) {
        exactRow(i);
        settled[i] = 1;
      }
      if (r[i] > hi) above++;
      else band.push(i);
    }
  }
  // The threshold is the (drop − above)-th largest float64 r of the band (value desc, index asc).
  band.sort((a, b) => r[b] - r[a] || a - b);
  const threshold = drop - above - 1 < band.length && drop - above - 1 >= 0 ? r[band[drop - above - 1]] : approx;
  return { r, arg, threshold };
}

/** A τ for modes B–D whose official counts give exactly k kept of n. */
function tauForCount(k: number, n: number): number {
  for (const t of [k / n, (k + 0.2) / n, (k - 0.2) / n]) {
    if (t >= 0 && t <= 1 && pyRound(n * t) === k && pyRound(n * (1 - t)) === n - k) return t;
  }
  return k / n;
}

export const codebook: MethodSpec = {
  id: 'codebook',
  label: 'Redundancy codebook (Beyond Intermediate States)',
  source: 'Yang et al., arXiv 2503.20540; DingchenYang99/RedundancyCodebook @ 2a241729, llava_arch.py encode_images',
  family: 'seed',
  needs: ['features', 'codebook'],
  optional: [],
  params: [
    {
      name: 'mode',
      kind: 'enum',
      values: ['A', 'B', 'C', 'D'],
      default: 'A',
      description:
        'A: keep tokens whose max codebook cosine < tau (adaptive count). B: keep the round(L·tau) least redundant. C: double softmax (tokens × prototypes), D: row softmax; both drop the round(L·(1−tau)) largest.',
    },
    { name: 'tau', kind: 'number', default: 0.45, min: -1, max: 1, description: 'Mode A: cosine threshold (LLaVA-1.5 config: 0.45). Modes B–D: keep fraction in [0,1].' },
    { name: 'select_feature', kind: 'string', informational: true, description: "The official select_feature name; must match the mode (A high_info_patch, B …_fix_num, C …_double_smx, D …_single_smx)." },
  ],
  selection: 'ranked',
  budgetParams(k, n, current) {
    if (k < 0 || k > n || n === 0) return null;
    const mode = (current.mode as Mode | undefined) ?? 'A';
    const nextMode: Mode = mode === 'A' ? 'B' : mode;
    const rest = Object.fromEntries(Object.entries(current).filter(([key]) => !['mode', 'tau', 'select_feature'].includes(key))) as JsonObject;
    return { ...rest, mode: nextMode, tau: tauForCount(k, n) };
  },
  run(input, params: Params) {
    if (!input.has('codebook')) {
      throw new MissingInputError(
        'codebook',
        'codebook',
        'a [P,d] prototype matrix in the features’ space: convert a released .pt codebook to .npy/.npz and add it as array "codebook", or point at one with --input codebook=<array>',
      );
    }
    const mode = str(params, 'mode') as Mode;
    const tau = num(params, 'tau');
    if (typeof params.select_feature === 'string' && params.select_feature !== CODEBOOK_SELECT_FEATURE[mode]) {
      throw new InputError(`codebook select_feature "${params.select_feature}" does not match mode ${mode} (${CODEBOOK_SELECT_FEATURE[mode]}).`);
    }
    if (mode !== 'A' && (tau < 0 || tau > 1)) throw new InputError(`codebook tau is a keep fraction in mode ${mode} and must lie in [0, 1], got ${tau}.`);
    const x = input.matrix('features');
    const cb = input.matrix('codebook');
    if (cb.cols !== x.cols) {
      throw new InputError(
        `codebook "${input.sourceName('codebook')}" has width ${cb.cols} but features have width ${x.cols}; the codebook must come from the same model and feature layer.`,
      );
    }
    const L = x.rows;
    const P = cb.rows;
    const fast = kernelPlan(L * P * x.cols);
    // The double softmax (mode C) couples every entry through column sums over all tokens: float64 cosines.
    const plan: KernelPlan = mode === 'C' ? { backend: fast.backend, precision: 'f64' } : fast;

    const notes: string[] = [];
    let keep: number[];
    let threshold: number | null = null;
    let r: Float64Array;
    let arg: number[];
    if (mode === 'A' || mode === 'B') {
      // On onnxruntime the L×P matrix never reaches JavaScript (onnxMax).
      const fastMax = ortMax(x, cb);
      const sims: Similarity = fastMax ? { sim: new Float64Array(0), eps: fastMax.eps, exact: (i, p) => fastMax.exact.cosine(i, p) } : similarity(x, cb, plan);
      const m = fastMax ?? certifiedMax(sims, L, P);
      ({ r, arg } = m);
      if (mode === 'A') {
        keep = [];
        for (let i = 0; i < L; i++) {
          if (sims.eps > 0 && !m.settled[i] && Math.abs(r[i] - tau) <= sims.eps) r[i] = sims.exact(i, arg[i]);
          if (r[i] < tau) keep.push(i);
        }
        threshold = tau;
      } else if (pyRound(L * (1 - tau)) === 0) {
        keep = Array.from({ length: L }, (_, i) => i);
        notes.push(`Drop count round(L·(1−tau)) is 0: the official code crashes here; PruneLens keeps all ${L} tokens.`);
      } else {
        keep = sortedAscending(smallestK(sims, r, arg, m.settled, pyRound(L * tau)));
      }
    } else {
      const sims = similarity(x, cb, plan);
      const drop = pyRound(L * (1 - tau));
      if (mode === 'D' && sims.eps > 0) ({ r, arg, threshold } = certifiedRowSoftmax(sims, L, P, drop));
      else {
        ({ r, arg } = redundancy(sims.sim, L, P, mode));
        if (drop > 0) threshold = r[rankDescending(r)[drop - 1]];
      }
      if (drop === 0) {
        // Errata 4: the official code indexes an empty top-k here and crashes.
        keep = Array.from({ length: L }, (_, i) => i);
        notes.push(`Drop count round(L·(1−tau)) is 0: the official code crashes here; PruneLens keeps all ${L} tokens.`);
      } else {
        keep = [];
        for (let i = 0; i < L; i++) if (r[i] < (threshold as number)) keep.push(i);
      }
    }
    return {
      method: 'codebook',
      params: { ...params },
      n: L,
      keep,
      scores: negated(r),
      scoreName: SCORE_NAME[mode],
      selection: 'ranked',
      output: { keep, K: keep.length, r: toArray(r), argmax_prototype: arg },
      trace: { mode, select_feature: CODEBOOK_SELECT_FEATURE[mode], prototypes: P, threshold },
      notes,
    };
  },
};
