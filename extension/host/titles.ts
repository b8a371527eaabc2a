import { basename } from 'node:path';

/** "PruneLens: coffee.png", with " (2)", " (3)" … so open panels never share a title (revival matches on it). */
export function uniqueTitle(target: string, taken: ReadonlySet<string>): string {
  const base = `PruneLens: ${basename(target)}`;
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const t = `${base} (${i})`;
    if (!taken.has(t)) return t;
  }
}
