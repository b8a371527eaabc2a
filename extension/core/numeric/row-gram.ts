// Cosine rows on demand for greedy methods (DivPrune, CDPruner) that read one Gram row per pick.
// The upper staircase of the Gram matrix is computed once with the GEMM (≈ half the products). It is then
// kept, in the cheapest layout the memory budget allows:
//   - full: mirrored into an n×n matrix (rows are contiguous reads);
//   - staircase: as the GEMM wrote it (≈ n²/2 entries; the left part of a row is a strided read);
//   - none: each row is its own matrix–vector product.
import { type FloatArray, type KernelPlan, gemmNT } from './gemm.ts';
import type { CosineRows, UpperBlock } from './gram.ts';
import { staircaseRows } from './gram.ts';
import { kthLargest } from './ranking.ts';
import { scratchF32 } from './scratch.ts';

/** Memory budgets in bytes (float32 full: n ≤ 8,192; float32 staircase: n ≤ ≈ 22,000 within 1 GB). */
export const rowGramLimits = { fullBytes: 256 << 20, staircaseBytes: 1 << 30 };

export type RowGramLayout = 'full' | 'staircase' | 'none';

/** Reading at most n / FEW_ROWS rows: the staircase layout, without the mirror (576 tokens, 64 rows: ≈ 12 % faster DivPrune). */
const FEW_ROWS = 4;

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
 * `rowsRead`: how many rows the caller will read, when known; a few rows are read from the staircase
 * directly, cheaper than mirroring all n² entries first.
 */
export function rowGram(u: CosineRows, plan: KernelPlan, visit?: (b: UpperBlock) => void, rowsRead = u.n): RowGram {
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
  const fullFits = n * n * width <= rowGramLimits.fullBytes;
  const stairFits = starts[blocks] * width <= rowGramLimits.staircaseBytes;
  const fewRows = rowsRead * FEW_ROWS <= n;
  const layout: RowGramLayout = fullFits && !(stairFits && fewRows) ? 'full' : stairFits ? 'staircase' : 'none';
  const alloc = (len: number): FloatArray => (f32 ? new Float32Array(len) : new Float64Array(len));
  // The full layout reuses one retained buffer across runs (valid until the next rowGram call).
  const full = layout === 'full' ? (f32 ? scratchF32('rowgram.full', n * n) : alloc(n * n)) : null;
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

/** What a row source may use to guess which rows come next: current scores and tokens never needed. */
export interface RowHint {
  readonly score: Float64Array;
  readonly skip: Uint8Array;
}

/** Anything that yields cosine rows one at a time (a RowGram, or speculative batches). */
export interface RowSource {
  readonly n: number;
  row(i: number, out: Float64Array, hint?: RowHint): Float64Array;
}

/**
 * Rows computed on demand in batches: when row i is missing, it is computed together with the rows of the
 * `batch − 1` best-scored tokens not yet computed (one GEMM), on the bet that greedy methods pick among
 * their current top scores next. Only picked rows are ever needed, so far fewer products than the Gram's
 * n²/2 are formed when k ≪ n, and memory stays O(batch·n). Each cached row is served once.
 */
export function speculativeRows(u: CosineRows, plan: KernelPlan, batch: number): RowSource & { readonly computed: () => number } {
  const { n, d } = u;
  const f32 = u.data instanceof Float32Array;
  const cache = new Map<number, FloatArray>();
  const a = f32 ? new Float32Array(batch * d) : new Float64Array(batch * d);
  const prod = f32 ? new Float32Array(batch * n) : new Float64Array(batch * n);
  const work = new Float64Array(n);
  let computed = 0;
  const fill = (i: number, hint?: RowHint): void => {
    const ids = [i];
    if (hint && batch > 1) {
      // The (batch − 1) best-scored eligible tokens: threshold by quickselect, then take them in index order.
      let m = 0;
      for (let j = 0; j < n; j++) if (j !== i && !hint.skip[j] && !cache.has(j) && Number.isFinite(hint.score[j])) work[m++] = hint.score[j];
      const want = Math.min(batch - 1, m);
      if (want > 0) {
        const kth = kthLargest(work, want, m);
        for (let j = 0; j < n && ids.length <= want; j++) {
          if (j === i || hint.skip[j] || cache.has(j)) continue;
          if (hint.score[j] >= kth) ids.push(j);
        }
      }
    }
    for (let r = 0; r < ids.length; r++) a.set(u.data.subarray(ids[r] * d, (ids[r] + 1) * d), r * d);
    const out = prod.subarray(0, ids.length * n);
    gemmNT(plan, a.subarray(0, ids.length * d), ids.length, u.data, n, d, out);
    computed += ids.length;
    ids.forEach((id, r) => cache.set(id, out.slice(r * n, (r + 1) * n)));
    // Bound the cache: rows that were guessed but not picked for a long time are dropped (recomputed if needed).
    while (cache.size > 4 * batch) cache.delete(cache.keys().next().value as number);
  };
  return {
    n,
    computed: () => computed,
    row(i, out, hint) {
      if (!cache.has(i)) fill(i, hint);
      const r = cache.get(i) as FloatArray;
      cache.delete(i);
      const pi = u.post[i];
      for (let j = 0; j < n; j++) out[j] = r[j] * (pi * u.post[j]);
      out[i] = u.self[i];
      return out;
    },
  };
}
