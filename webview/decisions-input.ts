/** "123" or "4,7" (row,col on the grid) → a token index, or null when it is not one. */
export function parseTokenInput(text: string, n: number, grid: readonly [number, number] | null): number | null {
  const t = text.trim();
  let i: number;
  const rc = /^(\d+)\s*[, ]\s*(\d+)$/.exec(t);
  if (rc) {
    if (!grid) return null;
    const r = Number(rc[1]);
    const c = Number(rc[2]);
    if (r >= grid[0] || c >= grid[1]) return null;
    i = r * grid[1] + c;
  } else if (/^\d+$/.test(t)) {
    i = Number(t);
  } else {
    return null;
  }
  return i < n ? i : null;
}

/** "#12 (row 0, col 12)" */
export function tokenLabel(i: number, grid: readonly [number, number] | null): string {
  return grid ? `#${i} (row ${Math.floor(i / grid[1])}, col ${i % grid[1]})` : `#${i}`;
}
