import type { Matrix } from '../bundle/tensor.ts';
import type { InputRole } from '../bundle/types.ts';
import type { Grid, MethodInput } from './types.ts';

/** Roles whose rows (or, for cls_attn/llm_attn, columns) run over the N tokens. */
const PER_TOKEN_ROWS: readonly InputRole[] = ['features', 'keys', 'image_joint'];
const PER_TOKEN_VECTORS: readonly InputRole[] = ['group', 'always_keep', 'llm_attn'];

function gatherRows(m: Matrix, rows: readonly number[]): Matrix {
  const out = new Float64Array(rows.length * m.cols);
  rows.forEach((r, i) => out.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
  return { rows: rows.length, cols: m.cols, data: out };
}

function gatherCols(m: Matrix, cols: readonly number[]): Matrix {
  const out = new Float64Array(m.rows * cols.length);
  for (let h = 0; h < m.rows; h++) cols.forEach((c, j) => (out[h * cols.length + j] = m.data[h * m.cols + c]));
  return { rows: m.rows, cols: cols.length, data: out };
}

/**
 * A MethodInput restricted to some tokens (e.g. one LLaVA-NeXT group) laid out on their own grid.
 * Token-indexed roles are gathered; per-query roles (text, cue, codebook) pass through unchanged.
 */
export function subsetInput(input: MethodInput, tokens: readonly number[], grid: Grid | null): MethodInput {
  const cache = new Map<InputRole, Matrix>();
  return {
    n: tokens.length,
    grid,
    hiresGrid: null,
    has: (role) => (PER_TOKEN_VECTORS.includes(role) ? false : input.has(role)),
    sourceName: (role) => input.sourceName(role),
    matrix(role) {
      const hit = cache.get(role);
      if (hit) return hit;
      const m = input.matrix(role);
      let sub = m;
      if (PER_TOKEN_ROWS.includes(role)) sub = gatherRows(m, tokens);
      else if (role === 'cls_attn' || role === 'llm_attn') sub = gatherCols(m, tokens);
      cache.set(role, sub);
      return sub;
    },
    vector(role) {
      const v = input.vector(role);
      return PER_TOKEN_VECTORS.includes(role) ? Float64Array.from(tokens, (t) => v[t]) : v;
    },
  };
}
