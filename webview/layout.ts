/**
 * Where each token sits on screen: one panel per token group (base grid, LLaVA-NeXT high-res block with
 * its newline column, or a plain sequence when the bundle has no grid). Precomputed typed arrays keep
 * hit-testing and painting O(1) per token at 2880 tokens.
 */

export interface Panel {
  label: string;
  /** First token index of the panel. */
  start: number;
  count: number;
  rows: number;
  /** Image columns (without the newline column). */
  cols: number;
  /** Tokens per row in sequence order (cols + 1 when each row ends with a newline token). */
  stride: number;
  newline: boolean;
}

export interface Layout {
  n: number;
  panels: Panel[];
  /** Per token: panel index, row, column (column == cols marks a newline token). */
  panelOf: Uint8Array;
  row: Int32Array;
  col: Int32Array;
  /** Why the layout is a guess, if it is. */
  note: string | null;
}

function panel(label: string, start: number, count: number, rows: number, cols: number, newline: boolean): Panel {
  return { label, start, count, rows, cols, stride: cols + (newline ? 1 : 0), newline };
}

function nearSquare(label: string, start: number, count: number): Panel {
  const cols = Math.max(1, Math.ceil(Math.sqrt(count)));
  return panel(label, start, count, Math.ceil(count / cols), cols, false);
}

/** The high-res block of a LLaVA-NeXT-like sequence: given dims, else guess a square or rows×(cols+1). */
function hiresPanel(start: number, rest: number, hires: [number, number] | null): { panel: Panel; guessed: boolean } {
  if (hires) {
    const [r, c] = hires;
    if (r * (c + 1) === rest) return { panel: panel('high-res', start, rest, r, c, true), guessed: false };
    if (r * c === rest) return { panel: panel('high-res', start, rest, r, c, false), guessed: false };
  }
  const s = Math.round(Math.sqrt(rest));
  if (s * s === rest) return { panel: panel('high-res', start, rest, s, s, false), guessed: false };
  let best: Panel | null = null;
  for (let r = 1; r <= rest; r++) {
    if (rest % r !== 0) continue;
    const c = rest / r - 1;
    if (c < 1) continue;
    if (!best || Math.abs(c - r) < Math.abs(best.cols - best.rows)) best = panel('high-res', start, rest, r, c, true);
  }
  if (best && best.cols <= 4 * best.rows && best.rows <= 4 * best.cols) return { panel: best, guessed: true };
  return { panel: nearSquare('extra tokens', start, rest), guessed: true };
}

export function layoutFor(grid: readonly [number, number] | null, n: number, hires: [number, number] | null = null): Layout {
  const panels: Panel[] = [];
  let note: string | null = null;
  if (!grid || grid[0] < 1 || grid[1] < 1 || grid[0] * grid[1] > n) {
    panels.push(nearSquare('tokens', 0, n));
    note = grid ? `grid ${grid[0]}×${grid[1]} does not fit ${n} tokens; shown in sequence order` : 'no token grid; tokens shown in sequence order';
  } else {
    const base = grid[0] * grid[1];
    panels.push(panel(base === n ? 'grid' : 'base view', 0, base, grid[0], grid[1], false));
    if (base < n) {
      const h = hiresPanel(base, n - base, hires);
      panels.push(h.panel);
      if (h.guessed) note = `high-res layout of ${n - base} tokens inferred as ${h.panel.rows}×${h.panel.cols}${h.panel.newline ? ' + newline column' : ''}`;
    }
  }
  const panelOf = new Uint8Array(n);
  const row = new Int32Array(n);
  const col = new Int32Array(n);
  panels.forEach((p, pi) => {
    for (let j = 0; j < p.count; j++) {
      const i = p.start + j;
      panelOf[i] = pi;
      row[i] = Math.floor(j / p.stride);
      col[i] = j % p.stride;
    }
  });
  return { n, panels, panelOf, row, col, note };
}

/** Token at (panel, row, col), or null outside the panel. */
export function tokenAt(layout: Layout, pi: number, r: number, c: number): number | null {
  const p = layout.panels[pi];
  if (!p || r < 0 || c < 0 || r >= p.rows || c >= p.stride) return null;
  const j = r * p.stride + c;
  return j < p.count ? p.start + j : null;
}

export function isNewline(layout: Layout, i: number): boolean {
  const p = layout.panels[layout.panelOf[i]];
  return p.newline && layout.col[i] === p.cols;
}

/** Move a token cursor by (dr, dc) inside its panel, clamped at the edges. */
export function moveCursor(layout: Layout, i: number, dr: number, dc: number): number {
  const pi = layout.panelOf[i];
  const p = layout.panels[pi];
  const r = Math.max(0, Math.min(p.rows - 1, layout.row[i] + dr));
  const c = Math.max(0, Math.min(p.stride - 1, layout.col[i] + dc));
  return tokenAt(layout, pi, r, c) ?? i;
}
