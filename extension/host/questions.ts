/** The question box's memory: most recent first, no duplicates (trimmed), bounded. */
export const MAX_QUESTIONS = 12;

export function rememberQuestion(history: readonly unknown[], question: string, max = MAX_QUESTIONS): string[] {
  const out: string[] = [];
  for (const h of [question, ...history]) {
    const q = typeof h === 'string' ? h.trim() : '';
    if (q !== '' && !out.includes(q)) out.push(q);
  }
  return out.slice(0, max);
}

/** Sanitises what globalState returned (it may hold anything after a downgrade or a manual edit). */
export function questionHistory(stored: unknown): string[] {
  return Array.isArray(stored) ? rememberQuestion(stored, '') : [];
}
