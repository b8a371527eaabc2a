import type { DecisionSource } from './types.ts';

export interface Disagreement {
  readonly index: number;
  readonly kept: string[];
  readonly dropped: string[];
}

/** Tokens some methods keep and others drop (as computed), by index. */
export function disagreements(sources: readonly DecisionSource[]): Disagreement[] {
  if (sources.length < 2) return [];
  const n = Math.min(...sources.map((s) => s.n));
  const sets = sources.map((s) => new Set(s.keep));
  const out: Disagreement[] = [];
  for (let i = 0; i < n; i++) {
    const kept: string[] = [];
    const dropped: string[] = [];
    sources.forEach((s, j) => (sets[j].has(i) ? kept : dropped).push(s.method));
    if (kept.length > 0 && dropped.length > 0) out.push({ index: i, kept, dropped });
  }
  return out;
}

/** The next (direction 1) or previous (−1) disagreement after token `from`, wrapping around; null if none. */
export function stepDisagreement(list: readonly Disagreement[], from: number | null, direction: 1 | -1): Disagreement | null {
  if (list.length === 0) return null;
  if (from === null) return direction === 1 ? list[0] : list[list.length - 1];
  if (direction === 1) return list.find((d) => d.index > from) ?? list[0];
  for (let j = list.length - 1; j >= 0; j--) if (list[j].index < from) return list[j];
  return list[list.length - 1];
}
