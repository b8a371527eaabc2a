import { rankDescending } from '../numeric/ranking.ts';
import { arrOf, numsOf, objOf, strOf } from './json-read.ts';
import type { DecisionSource } from './types.ts';

export interface TokenRank {
  /** 0-based, (score desc, index asc) — the order every top-k method keeps in. */
  readonly rank: number;
  readonly population: number;
  /** The group ranked within ('base' / 'hires' for G-Prune's LLaVA-NeXT layout), null for one group. */
  readonly group: string | null;
}

export interface Ranking {
  of(index: number): TokenRank | null;
  /** Tokens kept whatever the budget (newline tokens, always_keep). */
  readonly always: ReadonlySet<number>;
}

/** Token groups ranked separately: G-Prune's per-group top-k in the LLaVA-NeXT layout, else one group. */
function groupsOf(s: DecisionSource, always: ReadonlySet<number>): { name: string | null; tokens: number[] }[] {
  const traced = arrOf(s.trace.groups);
  if (s.method === 'gprune' && traced && traced.length > 1) {
    const out: { name: string | null; tokens: number[] }[] = [];
    for (const g of traced) {
      const o = objOf(g);
      const tokens = numsOf(o?.token_indices);
      if (o && tokens) out.push({ name: strOf(o.name), tokens });
    }
    if (out.length > 0) return out;
  }
  const all: number[] = [];
  for (let i = 0; i < s.n; i++) if (!always.has(i)) all.push(i);
  return [{ name: null, tokens: all }];
}

const cache = new WeakMap<DecisionSource, Ranking>();

/** Ranks of every token in a method's scores (cached per source). */
export function rankingOf(s: DecisionSource): Ranking {
  const hit = cache.get(s);
  if (hit) return hit;
  const always = new Set((numsOf(s.trace.always_keep) ?? []).filter((i) => Number.isInteger(i)));
  const ranks = new Map<number, TokenRank>();
  const scores = s.scores;
  if (scores && scores.length === s.n) {
    for (const g of groupsOf(s, always)) {
      const local = g.tokens.map((t) => scores[t]);
      rankDescending(local).forEach((li, r) => ranks.set(g.tokens[li], { rank: r, population: g.tokens.length, group: g.name }));
    }
  }
  const ranking: Ranking = { of: (i) => ranks.get(i) ?? null, always };
  cache.set(s, ranking);
  return ranking;
}

/** 100 for the best-ranked token, 0 for the worst (one decimal). */
export function percentileOf(rank: number, population: number): number {
  if (population <= 1) return 100;
  return Math.round((1000 * (population - 1 - rank)) / (population - 1)) / 10;
}
