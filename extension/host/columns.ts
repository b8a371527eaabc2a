/**
 * Where a new inspector panel opens: in the column of the most recently active PruneLens panel that has
 * one, so any number of analyses share one editor group; null (→ Beside) for the first. No vscode import.
 */
export function reuseColumn(recentFirst: readonly (number | undefined)[]): number | null {
  for (const c of recentFirst) if (c !== undefined && c > 0) return c;
  return null;
}
