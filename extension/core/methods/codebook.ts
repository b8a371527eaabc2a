import { InputError, MissingInputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { matmulTransB, normalizeRows } from '../numeric/linalg.ts';
import { rankAscending, rankDescending, sortedAscending } from '../numeric/ranking.ts';
import { pyRound } from '../numeric/rounding.ts';
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
    const sim = matmulTransB(normalizeRows(x), L, normalizeRows(cb), P, x.cols);
    const { r, arg } = redundancy(sim, L, P, mode);
    const notes: string[] = [];
    let keep: number[];
    let threshold: number | null = null;
    if (mode === 'A') {
      keep = [];
      for (let i = 0; i < L; i++) if (r[i] < tau) keep.push(i);
      threshold = tau;
    } else {
      const drop = pyRound(L * (1 - tau));
      if (drop === 0) {
        // Errata 4: the official code indexes an empty top-k here and crashes.
        keep = Array.from({ length: L }, (_, i) => i);
        notes.push(`Drop count round(L·(1−tau)) is 0: the official code crashes here; PruneLens keeps all ${L} tokens.`);
      } else if (mode === 'B') {
        keep = sortedAscending(rankAscending(r).slice(0, pyRound(L * tau)));
      } else {
        threshold = r[rankDescending(r)[drop - 1]];
        keep = [];
        for (let i = 0; i < L; i++) if (r[i] < (threshold as number)) keep.push(i);
      }
    }
    return {
      method: 'codebook',
      params: { ...params },
      n: L,
      keep,
      scores: Array.from(r, (v) => -v),
      scoreName: SCORE_NAME[mode],
      selection: 'ranked',
      output: { keep, K: keep.length, r: Array.from(r), argmax_prototype: arg },
      trace: { mode, select_feature: CODEBOOK_SELECT_FEATURE[mode], prototypes: P, threshold },
      notes,
    };
  },
};
