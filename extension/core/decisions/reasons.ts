/**
 * Plain-words reasons, one builder per method, read from the method's own output and trace (never recomputed).
 * Every builder is total: a field missing from an older analysis.json degrades the sentence, not the table.
 */
import { arrOf, numOf, numsOf, objOf, strOf } from './json-read.ts';
import { fmt, ordinal, rankText } from './format.ts';
import type { TokenRank } from './ranking.ts';
import type { DecisionSource } from './types.ts';

export interface ReasonInput {
  readonly s: DecisionSource;
  readonly i: number;
  readonly kept: boolean;
  /** Kept-token count the decision refers to. */
  readonly budget: number;
  readonly rank: TokenRank | null;
  readonly score: number | null;
  /** Greedy pick order (the longest known), or null. */
  readonly order: readonly number[] | null;
  /** `kept` was derived for another budget than the one the result was computed at. */
  readonly derived: boolean;
}

type Builder = (x: ReasonInput) => string;

const at = (v: number[] | null, i: number): number | null => (v && i >= 0 && i < v.length && Number.isFinite(v[i]) ? v[i] : null);

function rankPart(x: ReasonInput): string {
  if (!x.rank) return '';
  const where = x.rank.group ? ` in the ${x.rank.group} group` : '';
  return `rank ${rankText(x.rank.rank, x.rank.population)}${where}`;
}

/** "rank #12/576 ≤ K = 64" for top-k methods. */
function topkPart(x: ReasonInput, k: number | null): string {
  const r = rankPart(x);
  if (!r || k === null) return r;
  return `${r} ${x.kept ? '≤' : '>'} K = ${k}`;
}

const generic: Builder = (x) => {
  const parts = [x.kept ? 'kept' : 'dropped'];
  if (x.score !== null) parts.push(`${x.s.scoreName} ${fmt(x.score)}`);
  const r = rankPart(x);
  if (r) parts.push(r);
  return parts.join(', ');
};

const gprune: Builder = (x) => {
  const groups = arrOf(x.s.trace.groups) ?? [];
  for (const g of groups) {
    const o = objOf(g);
    const tokens = numsOf(o?.token_indices);
    const li = tokens ? tokens.indexOf(x.i) : -1;
    if (!o || li < 0) continue;
    const mass = arrOf(o.mass);
    const steps = mass ? mass.length - 1 : null;
    const m = mass ? at(numsOf(mass[mass.length - 1]), li) : null;
    const degree = at(numsOf(o.degree), li);
    const theta = numOf(x.s.params.theta);
    const k = x.rank?.group ? numOf(o.K) : x.budget;
    const parts = [`mass ${fmt(m)} after ${steps ?? '?'} steps`];
    if (degree !== null) parts.push(`${degree - 1} neighbours ≥ θ${theta !== null ? ` ${fmt(theta)}` : ''}`);
    parts.push(`score ${fmt(x.score)}`);
    parts.push(topkPart(x, k));
    return parts.filter(Boolean).join(', ');
  }
  return generic(x);
};

function f3aCell(x: ReasonInput, cell: number | null): string {
  const g = numOf(x.s.output.g);
  const w = x.s.grid?.[1] ?? null;
  if (cell === null || g === null || w === null) return cell === null ? 'its cell' : `cell ${cell}`;
  const across = Math.ceil(w / g);
  return `cell (${Math.floor(cell / across)},${cell % across})`;
}

const f3a: Builder = (x) => {
  const odour = at(numsOf(x.s.output.odour), x.i);
  const cell = at(numsOf(x.s.trace.cellOf), x.i);
  const where = f3aCell(x, cell);
  const labels = arrOf(x.s.output.labels);
  const pos = x.s.keep.indexOf(x.i);
  const stage = x.kept && labels && pos >= 0 ? strOf(labels[pos]) : null;
  if (stage === 'loc') {
    for (const r of arrOf(x.s.trace.refinement) ?? []) {
      const o = objOf(r);
      const picked = numsOf(o?.picked);
      const p = picked ? picked.indexOf(x.i) : -1;
      if (o && p >= 0) return `kept in refinement of ${f3aCell(x, numOf(o.cell))}, pick ${p + 1} of quota ${numOf(o.quota) ?? '?'}, odour ${fmt(odour)}`;
    }
    return `kept in localization of ${where}, odour ${fmt(odour)}`;
  }
  if (stage === 'comp') {
    const rounds = arrOf(x.s.trace.competition) ?? [];
    const j = rounds.findIndex((r) => numOf(objOf(r)?.token) === x.i);
    const o = j >= 0 ? objOf(rounds[j]) : null;
    if (o) {
      return `kept in competition round ${j + 1}, gain ${fmt(numOf(o.gain))} = odour ${fmt(odour)} − redundancy ${fmt(numOf(o.redPenalty))} − crowding ${fmt(numOf(o.crowdPenalty))}`;
    }
    return `kept in competition, odour ${fmt(odour)}`;
  }
  if (stage === 'rec') {
    for (const r of arrOf(x.s.trace.recovery) ?? []) {
      const o = objOf(r);
      if (!o || numOf(o.token) !== x.i) continue;
      const c = numOf(o.cell);
      const u = c !== null ? at(numsOf(o.U), c) : null;
      return `kept in recovery: medoid of the least-covered ${f3aCell(x, c)}, U ${fmt(u)}, odour ${fmt(odour)}`;
    }
    return `kept in recovery of ${where}, odour ${fmt(odour)}`;
  }
  if (x.kept) return `kept, odour ${fmt(odour)} in ${where}`;
  const quota = cell !== null ? at(numsOf(x.s.output.quotas), cell) : null;
  const r = rankPart(x);
  return `dropped: odour ${fmt(odour)}${r ? ` (${r})` : ''}; ${where} had quota ${quota ?? '?'}; not picked in competition or recovery`;
};

function greedyPick(x: ReasonInput, unit: (p: number) => string, dropped: () => string): string {
  const p = x.order ? x.order.indexOf(x.i) : -1;
  if (x.kept && p >= 0) return `picked ${ordinal(p + 1)} of ${x.budget}, ${unit(p)}`;
  const later = p >= 0 ? ` (would be picked ${ordinal(p + 1)})` : '';
  return `${dropped()}${later}`;
}

const divprune: Builder = (x) => {
  const step = numsOf(x.s.output.step_scores);
  const finalDist = at(numsOf(x.s.trace.min_distance_final), x.i);
  const last = step && step.length > 0 ? step[Math.min(step.length, x.budget) - 1] : null;
  return greedyPick(
    x,
    (p) => (p === 0 ? `largest 2nd-smallest distance ${fmt(at(step, 0))}` : `min distance ${fmt(at(step, p))}`),
    () => `not picked in ${x.budget} steps: min distance ${fmt(finalDist)} to the kept set${last !== null ? `, the last pick had ${fmt(last)}` : ''}`,
  );
};

const cdpruner: Builder = (x) => {
  const gains = numsOf(x.s.output.gains);
  const rel = at(numsOf(x.s.output.relevance), x.i);
  const residual = at(numsOf(x.s.trace.residual_gain), x.i);
  const last = gains && gains.length > 0 ? gains[Math.min(gains.length, x.budget) - 1] : null;
  return greedyPick(
    x,
    (p) => `step ${p + 1}, gain ${fmt(at(gains, p))}, relevance ${fmt(rel)}`,
    () => `not picked in ${x.budget} steps: residual gain ${fmt(residual)}${last !== null ? ` vs ${fmt(last)} at the last pick` : ''}, relevance ${fmt(rel)}`,
  );
};

const codebook: Builder = (x) => {
  const r = at(numsOf(x.s.output.r), x.i);
  const proto = at(numsOf(x.s.output.argmax_prototype), x.i);
  const mode = strOf(x.s.trace.mode) ?? strOf(x.s.params.mode) ?? 'A';
  const thr = numOf(x.s.trace.threshold);
  const closest = `closest prototype #${proto ?? '?'}, ${mode === 'A' || mode === 'B' ? 'cos' : 'score'} ${fmt(r)}`;
  if (!x.derived && (mode === 'A' || mode === 'C' || mode === 'D') && thr !== null && r !== null) {
    const sym = r < thr ? '<' : '≥';
    return `${closest} ${sym} ${mode === 'A' ? 'τ' : 'threshold'} ${fmt(thr)}: ${r < thr ? 'not redundant' : 'redundant'}`;
  }
  return `${closest}; ${topkPart(x, x.budget)} by least redundancy`;
};

const fastv: Builder = (x) => `${x.s.scoreName.replace(/_/g, ' ')} ${fmt(x.score)}, ${topkPart(x, x.budget)}`;

const visionzip: Builder = (x) => {
  const dominant = numsOf(x.s.output.dominant) ?? [];
  const targets = numsOf(x.s.output.targets) ?? [];
  const assignment = arrOf(x.s.output.assignment) ?? [];
  const slot = at(numsOf(x.s.trace.token_slot), x.i);
  const attn = `[CLS] attention ${fmt(x.score)}`;
  if (dominant.includes(x.i)) return `dominant: ${attn}, ${rankPart(x)} within the top ${dominant.length}`;
  const t = targets.indexOf(x.i);
  if (t >= 0) return `kept as contextual token ${t}: the target that ${arrOf(assignment[t])?.length ?? '?'} similar tokens merge into`;
  if (slot !== null && slot >= 0) return `merged into contextual token ${slot} (target ${targets[slot] ?? '?'}); ${attn}, ${rankPart(x)}`;
  return `dropped: not among the ${dominant.length} dominant tokens (${attn}, ${rankPart(x)}) and no contextual token`;
};

const prumerge: Builder = (x) => {
  const a = at(numsOf(x.s.output.cls_attn), x.i);
  const bound = numOf(x.s.output.upper_bound);
  if ((numsOf(x.s.output.topk_order) ?? []).includes(x.i)) return `outlier: [CLS] attention ${fmt(a)} > IQR bound ${fmt(bound)}`;
  if ((numsOf(x.s.output.added) ?? []).includes(x.i)) return `added by PruMerge+ spatial sampling ([CLS] attention ${fmt(a)} ≤ bound ${fmt(bound)})`;
  return `[CLS] attention ${fmt(a)} ≤ IQR bound ${fmt(bound)}: not an outlier, merged into the kept tokens`;
};

const tome: Builder = (x) => {
  const merges = arrOf(x.s.output.merges);
  if (merges) {
    const j = merges.findIndex((m) => numsOf(m)?.[0] === x.i);
    if (j >= 0) return `merged into token ${numsOf(merges[j])?.[1] ?? '?'} (${ordinal(j + 1)} best match of ${merges.length})`;
  }
  const g = at(numsOf(x.s.trace.group_of_token), x.i);
  const sources = arrOf(x.s.output.output_sources);
  const members = g !== null && sources ? numsOf(sources[g]) : null;
  if (!members) return generic(x);
  if (members.length === 1) return 'unmerged: kept as its own output token';
  const keep = new Set(x.s.keep);
  const rep = members.find((m) => keep.has(m));
  if (x.kept) return `kept as the representative of output token ${g} (${members.length} tokens merged)`;
  return `merged into token ${rep ?? '?'} (output token ${g}, ${members.length} tokens)`;
};

const randomBaseline: Builder = (x) => `random priority ${fmt(x.score)}, ${topkPart(x, x.budget)}`;

const uniform: Builder = (x) => {
  const g = numsOf(x.s.trace.grid);
  const lattice = g && g.length === 2 ? ` ${g[0]}×${g[1]}` : '';
  return `${x.kept ? 'on' : 'not on'} the uniform sampling lattice for K = ${x.budget} over the${lattice} grid`;
};

const BUILDERS: { [method: string]: Builder } = { gprune, f3a, divprune, cdpruner, codebook, fastv, visionzip, prumerge, tome, random: randomBaseline, uniform };

export function reasonFor(x: ReasonInput, always: boolean): string {
  if (always) return x.s.method === 'cdpruner' ? 'always kept (outside the DPP)' : 'always kept (newline / always_keep token)';
  return (BUILDERS[x.s.method] ?? generic)(x);
}
