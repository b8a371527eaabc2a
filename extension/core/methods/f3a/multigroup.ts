import { InputError } from '../../errors.ts';
import type { JsonObject, JsonValue } from '../../json.ts';
import { roundHalfUp } from '../../numeric/rounding.ts';
import { sortedAscending } from '../../numeric/ranking.ts';
import { inferLayout } from '../layout.ts';
import { subsetInput } from '../subset.ts';
import type { MethodInput, Params, PruneResult } from '../types.ts';

export const MULTIGROUP_NOTE =
  'LLaVA-NeXT layout: F³A runs on the base view and on the high-res grid separately, with the budget split in proportion to their token counts and every newline token kept (a PruneLens extension; §4.3 describes one grid).';

type SingleRun = (input: MethodInput, params: Params) => PruneResult;

/** Budget of the whole sequence → per-group budgets (newlines come off the top). */
export function splitGroupBudget(B: number, nBase: number, nHires: number, nAlways: number): [number, number] {
  const scored = B - nAlways;
  if (scored < 2) throw new InputError(`F³A budget ${B} is too small for this LLaVA-NeXT bundle: ${nAlways} newline tokens are always kept, leaving ${scored} for two groups.`);
  const base = Math.min(nBase, Math.max(1, roundHalfUp((scored * nBase) / (nBase + nHires))));
  return [base, Math.min(nHires, scored - base)];
}

/** Run single-grid F³A per LLaVA-NeXT group and merge; null when the bundle is one grid. */
export function runMultigroup(input: MethodInput, params: Params, B: number, single: SingleRun): PruneResult | null {
  const layout = inferLayout(input);
  if (layout.kind !== 'llava_next') return null;
  if (!input.grid || !layout.hiresGrid) throw new InputError('F³A needs the base grid and hires_grid arrays to lay out a LLaVA-NeXT bundle.');
  if (input.grid.h * input.grid.w !== layout.base.length) {
    throw new InputError(`F³A: base grid ${input.grid.h}×${input.grid.w} does not match the ${layout.base.length} base tokens.`);
  }
  const [bBase, bHires] = splitGroupBudget(B, layout.base.length, layout.hires.length, layout.alwaysKeep.length);
  const groups = [
    { name: 'base', tokens: layout.base, grid: input.grid, B: bBase },
    { name: 'hires', tokens: layout.hires, grid: layout.hiresGrid, B: bHires },
  ];
  // Each group gets its own B; the whole-sequence ratio/budget must not reach the per-group runs.
  const rest: Params = Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'ratio' && k !== 'budget'));
  const runs = groups.map((g) => ({ g, r: single(subsetInput(input, g.tokens, g.grid), { ...rest, B: g.B }) }));

  const label = new Map<number, string>();
  const order: number[] = [];
  const odour: JsonValue[] = new Array<JsonValue>(input.n).fill(null);
  const scores = new Array<number>(input.n).fill(0);
  const budgets = { B_loc: 0, B_comp: 0, B_rec: 0 };
  const perGroup: JsonObject[] = [];
  for (const { g, r } of runs) {
    const out = r.output as JsonObject & { labels: string[]; keep: number[]; order: number[]; budgets: typeof budgets; odour: number[] };
    out.keep.forEach((t, j) => label.set(g.tokens[t], out.labels[j]));
    order.push(...out.order.map((t) => g.tokens[t]));
    out.odour.forEach((o, t) => {
      odour[g.tokens[t]] = o;
      scores[g.tokens[t]] = o;
    });
    for (const k of Object.keys(budgets) as (keyof typeof budgets)[]) budgets[k] += out.budgets[k];
    perGroup.push({ group: g.name, tokens: g.tokens, ...out, keep: out.keep.map((t) => g.tokens[t]), order: out.order.map((t) => g.tokens[t]) });
  }
  for (const t of layout.alwaysKeep) {
    label.set(t, 'always');
    scores[t] = 1;
  }
  const keep = sortedAscending(label.keys());
  const first = runs[0].r;
  return {
    method: 'f3a',
    params: { ...first.params, B },
    n: input.n,
    keep,
    scores,
    scoreName: 'odour (per group; newline tokens always kept)',
    selection: 'staged',
    output: { keep, labels: keep.map((t) => label.get(t) ?? 'loc'), order: [...order, ...layout.alwaysKeep], budgets, odour, newline_indices: layout.alwaysKeep, groups: perGroup },
    trace: { layout: 'llava_next', groups: runs.map(({ g, r }) => ({ group: g.name, tokens: g.tokens, trace: r.trace })) },
    notes: [...first.notes, MULTIGROUP_NOTE],
  };
}
