// Cosine rows on demand for greedy methods (DivPrune, CDPruner) that read one Gram row per pick.
// The upper staircase of the Gram matrix is computed once with the GEMM (≈ half the products). It is then
// kept, in the cheapest layout the memory budget allows:
//   - full: mirrored into an n×n matrix (rows are contiguous reads);
//   - staircase: as the GEMM wrote it (≈ n²/2 entries; the left part of a row is a strided read);
//   - none: each row is its own matrix–vector product.
import { type FloatArray, type KernelPlan, gemmNT } from './gemm.ts';
import type { CosineRows, UpperBlock } from './gram.ts';
import { staircaseRows } from './gram.ts';

/** Memory budgets in bytes (float32 full: n ≤ 8,192; float32 staircase: n ≤ ≈ 22,000). */
export const rowGramLimits = { fullBytes: 256 << 20, staircaseBytes: 1 << 31 };

export type RowGramLayout = 'full' | 'staircase' | 'none';

export interface RowGram {
  readonly n: number;
  readonly layout: RowGramLayout;
  /** out[j] = x̂_i·x̂_j for every j (float64 of the plan's product; the diagonal is the float64 self value). */
  row(i: number, out: Float64Array): Float64Array;
  /** x̂_i·x̂_j as row(i)[j] gives it; NaN when rows are computed on demand (layout 'none'). */
  entry(i: number, j: number): number;
}

/**
 * Builds the row source; `visit` sees every staircase block once (for single-pass statistics such as
 * DivPrune's nearest neighbours) whatever the layout. Entries are symmetric: row(i)[j] = row(j)[i].
 */
export function rowGram(u: CosineRows, plan: KernelPlan, visit?: (b: UpperBlock) => void): RowGram {
  const n = u.n;
  const d = u.d;
  const f32 = u.data instanceof Float32Array;
  const width = f32 ? 4 : 8;
  const blockRows = staircaseRows(n);
  const blocks = Math.ceil(n / blockRows);
  const starts = new Float64Array(blocks + 1);
  for (let b = 0; b < blocks; b++) {
    const i0 = b * blockRows;
    starts[b + 1] = starts[b] + Math.min(blockRows, n - i0) * (n - i0);
  }
  const layout: RowGramLayout =
    n * n * width <= rowGramLimits.fullBytes ? 'full' : starts[blocks] * width <= rowGramLimits.staircaseBytes ? 'staircase' : 'none';
  const alloc = (len: number): FloatArray => (f32 ? new Float32Array(len) : new Float64Array(len));
  const full = layout === 'full' ? alloc(n * n) : null;
  const stair = layout === 'staircase' ? alloc(starts[blocks]) : null;
  const scratch = layout !== 'staircase' && (full || visit) ? alloc(blockRows * n) : null;
  if (full || stair || visit) {
    for (let b = 0; b < blocks; b++) {
      const i0 = b * blockRows;
      const rows = Math.min(blockRows, n - i0);
      const cols = n - i0;
      const out = stair ? stair.subarray(starts[b], starts[b] + rows * cols) : (scratch as FloatArray).subarray(0, rows * cols);
      gemmNT(plan, u.data.subarray(i0 * d, (i0 + rows) * d), rows, u.data.subarray(i0 * d), cols, d, out);
      visit?.({ i0, rows, cols, data: out });
      if (full) mirrorBlock(out, i0, rows, cols, full, n);
    }
  }
  const post = u.post;
  const self = u.self;
  if (full) {
    return {
      n,
      layout,
      entry: (i, j) => (i === j ? self[i] : full[i * n + j] * (post[i] * post[j])),
      row(i, out) {
        // post_i·post_j is symmetric, so row(i)[j] and row(j)[i] are the same number.
        const pi = post[i];
        const base = i * n;
        for (let j = 0; j < n; j++) out[j] = full[base + j] * (pi * post[j]);
        out[i] = self[i];
        return out;
      },
    };
  }
  if (stair) {
    const at = (a: number, c: number): number => {
      const b = Math.floor(a / blockRows);
      const i0 = b * blockRows;
      return stair[starts[b] + (a - i0) * (n - i0) + (c - i0)];
    };
    return {
      n,
      layout,
      entry: (i, j) => (i === j ? self[i] : at(Math.min(i, j), Math.max(i, j)) * (post[i] * post[j])),
      row(i, out) {
        // Left of the diagonal: column i of earlier rows; from the diagonal on: row i of its block.
        for (let b = 0; b * blockRows <= i && b < blocks; b++) {
          const i0 = b * blockRows;
          const rows = Math.min(blockRows, n - i0);
          const cols = n - i0;
          const jEnd = Math.min(i0 + rows, i);
          const base = starts[b] + (i - i0);
          for (let j = i0; j < jEnd; j++) out[j] = stair[base + (j - i0) * cols];
          if (i < i0 + rows) {
            const rowBase = starts[b] + (i - i0) * cols - i0;
            for (let j = i + 1; j < n; j++) out[j] = stair[rowBase + j];
          }
        }
        const pi = post[i];
        for (let j = 0; j < n; j++) out[j] *= pi * post[j];
        out[i] = self[i];
        return out;
      },
    };
  }
  const one = alloc(n);
  return {
    n,
    layout,
    entry: () => NaN,
    row(i, out) {
      gemmNT(plan, u.data.subarray(i * d, (i + 1) * d), 1, u.data, n, d, one);
      const pi = post[i];
      for (let j = 0; j < n; j++) out[j] = one[j] * (pi * post[j]);
      out[i] = self[i];
      return out;
    },
  };
}

const TILE = 64;

/** Copies a staircase block's upper part into an n×n matrix and its transpose below the diagonal. */
function mirrorBlock(block: FloatArray, i0: number, rows: number, cols: number, full: FloatArray, n: number): void {
  for (let r = 0; r < rows; r++) {
    const i = i0 + r;
    // Row i from the diagonal on (the block also holds entries left of it, which the mirror supplies).
    full.set(block.subarray(r * cols + r, (r + 1) * cols), i * n + i);
  }
  // Transpose in tiles so both sides stay in cache: full[j][i] = block[i][j] for j > i.
  for (let c0 = 0; c0 < cols; c0 += TILE) {
    const c1 = Math.min(cols, c0 + TILE);
    for (let r0 = 0; r0 < rows; r0 += TILE) {
      const r1 = Math.min(rows, r0 + TILE);
      for (let c = c0; c < c1; c++) {
        const j = i0 + c;
        const dst = j * n + i0;
        for (let r = r0; r < Math.min(r1, c); r++) full[dst + r] = block[r * cols + c];
      }
    }
  }
}
