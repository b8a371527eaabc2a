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

/** −(grid distance to the nearest kept token): 0 on kept tokens, more negative further away. */
function coverageScores(keep: number[], g: Grid): number[] {
  const n = g.h * g.w;
  return Array.from({ length: n }, (_, i) => {
    const r = Math.floor(i / g.w);
    const c = i % g.w;
    let best = Infinity;
    for (const j of keep) best = Math.min(best, Math.hypot(r - Math.floor(j / g.w), c - (j % g.w)));
    return keep.length ? 0 - best : 0;
  });
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
