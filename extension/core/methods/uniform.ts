import type { Grid, MethodSpec } from './types.ts';
import { budgetCountParams, COUNT_PARAMS, resolveCount } from './random.ts';

/** gh × gw lattice with gh·gw ≥ k, shaped like the grid. */
function latticeShape(k: number, g: Grid): { gh: number; gw: number } {
  let gh = Math.min(g.h, Math.max(1, Math.round(Math.sqrt((k * g.h) / g.w))));
  const gw = Math.min(g.w, Math.max(1, Math.ceil(k / gh)));
  if (gh * gw < k) gh = Math.min(g.h, Math.ceil(k / gw));
  return { gh, gw };
}

/** k evenly spaced tokens: cell centres of a gh×gw lattice, thinned evenly when the lattice has more than k points. */
export function uniformGridSample(k: number, g: Grid): number[] {
  if (k <= 0) return [];
  const { gh, gw } = latticeShape(k, g);
  const points: number[] = [];
  for (let a = 0; a < gh; a++) {
    const r = Math.floor(((a + 0.5) * g.h) / gh);
    for (let b = 0; b < gw; b++) points.push(r * g.w + Math.floor(((b + 0.5) * g.w) / gw));
  }
  const picked: number[] = [];
  for (let j = 0; j < k; j++) picked.push(points[Math.floor(((j + 0.5) * points.length) / k)]);
  return picked;
}

/**
 * −(grid distance to the nearest kept token): 0 on kept tokens, more negative further away. Kept tokens are
 * bucketed on a coarse grid and each token searches rings of buckets outward, so the cost is ≈ n·(a few)
 * rather than n·k. Every candidate whose squared distance can reach the best is evaluated with Math.hypot,
 * so the values are those of the exhaustive minimum.
 */
function coverageScores(keep: number[], g: Grid): number[] {
  const n = g.h * g.w;
  const out = new Array<number>(n).fill(0);
  if (keep.length === 0) return out;
  const cell = Math.max(1, Math.round(Math.sqrt(n / keep.length)));
  const bh = Math.ceil(g.h / cell);
  const bw = Math.ceil(g.w / cell);
  const buckets: number[][] = Array.from({ length: bh * bw }, () => []);
  for (const j of keep) buckets[Math.floor(Math.floor(j / g.w) / cell) * bw + Math.floor((j % g.w) / cell)].push(j);
  for (let i = 0; i < n; i++) {
    const r = Math.floor(i / g.w);
    const c = i % g.w;
    const br = Math.floor(r / cell);
    const bc = Math.floor(c / cell);
    let bestSq = Infinity;
    let best = Infinity;
    for (let ring = 0; ; ring++) {
      // Any token in ring ≥ 1 is at least (ring − 1)·cell + 1 rows or columns away.
      const reach = ring === 0 ? 0 : (ring - 1) * cell + 1;
      if (reach * reach > bestSq) break;
      if (ring > bh + bw) break;
      for (let rr = br - ring; rr <= br + ring; rr++) {
        if (rr < 0 || rr >= bh) continue;
        const full = rr === br - ring || rr === br + ring;
        for (let cc = bc - ring; cc <= bc + ring; cc += full ? 1 : 2 * ring || 1) {
          if (cc < 0 || cc >= bw) continue;
          for (const j of buckets[rr * bw + cc]) {
            const dr = r - Math.floor(j / g.w);
            const dc = c - (j % g.w);
            const sq = dr * dr + dc * dc;
            if (sq > bestSq) continue;
            const dist = Math.hypot(dr, dc);
            if (sq < bestSq) bestSq = sq;
            if (dist < best) best = dist;
          }
        }
      }
    }
    out[i] = 0 - best;
  }
  return out;
}

export const uniformBaseline: MethodSpec = {
  id: 'uniform',
  label: 'Uniform grid',
  source: 'Baseline: an evenly spaced lattice over the token grid (a 1×N raster when the bundle has no matching grid).',
  family: 'baseline',
  needs: ['features'],
  optional: [],
  params: [...COUNT_PARAMS],
  // Not nested across budgets: a new budget re-runs the method.
  selection: 'greedy',
  budgetParams: budgetCountParams,
  run(input, params) {
    const n = input.n;
    const { k, params: resolved } = resolveCount('uniform', n, params);
    const onGrid = input.grid !== null && input.grid.h * input.grid.w === n;
    const grid: Grid = onGrid && input.grid ? input.grid : { h: 1, w: n };
    const keep = uniformGridSample(k, grid);
    return {
      method: 'uniform',
      params: resolved,
      n,
      keep,
      scores: coverageScores(keep, grid),
      scoreName: 'neg_distance_to_kept',
      selection: 'greedy',
      output: { K: k, keep },
      trace: { grid: [grid.h, grid.w] },
      notes: onGrid ? [] : ['No h×w grid covering all tokens: sampled evenly along the token sequence.'],
    };
  },
};
