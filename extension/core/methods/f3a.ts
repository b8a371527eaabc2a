// F³A (seed 000): PruneLens' reconstruction of ALGORITHMS.md §4.3 [PROPOSED]; the authors' code is not public.
import { InputError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import { sortedAscending, toArray } from '../numeric/ranking.ts';
import { roundHalfUp } from '../numeric/rounding.ts';
import { bool, optNum, str } from './params.ts';
import type { MethodInput, MethodSpec, Params, PruneResult } from './types.ts';
import { cellOdour, cellWeights, makeCells, splitBudget, waterFill } from './f3a/budget.ts';
import { sense } from './f3a/sensing.ts';
import { compete, localize, recover, Selection, type Field } from './f3a/stages.ts';
import { runMultigroup } from './f3a/multigroup.ts';

const DEFAULT_RATIO = 0.2;
const RECONSTRUCTION_NOTE =
  "F³A here is PruneLens' reconstruction from the paper's description (§4.3 [PROPOSED]); the authors' code is not public.";

/** B from `B` / `budget` / `ratio` (B = max(1, ⌊ratio·N + ½⌋)); any two given must agree. */
function resolveBudget(params: Params, n: number): { B: number; ratio: number | null } {
  const b = optNum(params, 'B');
  const alias = optNum(params, 'budget');
  const ratio = optNum(params, 'ratio');
  if (ratio !== undefined && !(ratio > 0 && ratio <= 1)) throw new InputError(`Parameter ratio of f3a must be in (0, 1], got ${ratio}.`);
  if (b !== undefined && alias !== undefined && b !== alias) throw new InputError(`Parameters B (${b}) and budget (${alias}) of f3a disagree.`);
  const given = b ?? alias;
  const fromRatio = ratio === undefined ? undefined : Math.max(1, roundHalfUp(ratio * n));
  if (given !== undefined && fromRatio !== undefined && given !== fromRatio) {
    throw new InputError(`Parameters B (${given}) and ratio (${ratio}) of f3a disagree: ratio gives B = ${fromRatio} for N = ${n}.`);
  }
  const B = given ?? fromRatio ?? Math.max(1, roundHalfUp(DEFAULT_RATIO * n));
  if (B > n) throw new InputError(`Budget B = ${B} of f3a exceeds the ${n} tokens.`);
  return { B, ratio: ratio ?? (given === undefined ? DEFAULT_RATIO : null) };
}

/** `sensing` wins; the oracle's boolean `dense` must agree with it when both are given. */
function resolveSensing(params: Params): 'sparse' | 'dense' {
  const sensing = params.sensing === undefined ? undefined : (str(params, 'sensing') as 'sparse' | 'dense');
  const dense = params.dense === undefined ? undefined : bool(params, 'dense');
  if (sensing !== undefined && dense !== undefined && (sensing === 'dense') !== dense) {
    throw new InputError(`Parameters sensing (${sensing}) and dense (${dense}) of f3a disagree.`);
  }
  return sensing ?? (dense ? 'dense' : 'sparse');
}

const list = toArray;
const finiteOrNull = (x: ArrayLike<number>): JsonValue[] => Array.from(x, (v) => (Number.isFinite(v) ? v : null));

function run(input: MethodInput, params: Params): PruneResult {
  const multi = runMultigroup(input, params, resolveBudget(params, input.n).B, runSingleGrid);
  return multi ?? runSingleGrid(input, params);
}

function runSingleGrid(input: MethodInput, params: Params): PruneResult {
  const grid = input.grid;
  if (!grid) throw new InputError('F³A needs a token grid (the bundle has no `grid` array).');
  const n = input.n;
  if (grid.h * grid.w !== n) throw new InputError(`F³A needs an h×w grid covering all tokens; grid ${grid.h}×${grid.w} ≠ N = ${n}.`);
  const V = input.matrix('features');
  if (V.cols < 2) throw new InputError(`F³A needs features at least 2 wide, got ${V.cols}.`);
  const cue = input.has('cue') ? input.matrix('cue') : null;
  if (cue && cue.rows > 0 && cue.cols !== V.cols) {
    throw new InputError(`F³A cue "${input.sourceName('cue')}" has width ${cue.cols} but features "${input.sourceName('features')}" have ${V.cols}.`);
  }
  const { B, ratio } = resolveBudget(params, n);
  const sensing = resolveSensing(params);

  const sensed = sense(V, cue, sensing === 'dense');
  const odour = sensed.odour;
  const split = splitBudget(odour, B);
  const { B_loc, B_comp, B_rec } = split.budgets;
  const cells = makeCells(grid);
  const O = cellOdour(cells, odour);
  const p = cellWeights(O);
  const quotas = waterFill(p, cells, B_loc);

  const field: Field = { n, d: V.cols, grid, odour, centred: sensed.centred };
  const sel = new Selection(n);
  const refinement = localize(field, cells, quotas, B_loc, sel);
  const competition = compete(field, B_comp, sel);
  const recovery = recover(field, cells, B_rec, sel, competition.red);

  const keep = sortedAscending(sel.order);
  const stageOf = new Map(sel.order.map((t, j) => [t, sel.stage[j]]));
  const resolved: JsonObject = { B, sensing };
  if (ratio !== null) resolved.ratio = ratio;
  for (const k of ['dense', 'view']) if (params[k] !== undefined) resolved[k] = params[k];

  const notes = [RECONSTRUCTION_NOTE];
  if (sensed.mode === 'no-cue') notes.push('No cue vectors: odour is text-agnostic distinctiveness (§4.3 step 5).');
  if (sensed.mode === 'no-cue' && sensing === 'dense') notes.push('The dense flag has no effect without cues.');

  return {
    method: 'f3a',
    params: resolved,
    n,
    keep,
    scores: list(odour),
    scoreName: 'odour',
    selection: 'staged',
    output: {
      keep,
      labels: keep.map((t) => stageOf.get(t) ?? 'loc'),
      order: [...sel.order],
      budgets: { B_loc, B_comp, B_rec },
      flat: split.flat,
      // The reference records κ to 8 decimals.
      kappa: Number(split.kappa.toFixed(8)),
      g: cells.g,
      quotas: list(quotas),
      odour: list(odour),
      cell_odour: list(O),
      comp_gains: competition.rounds.map((r) => r.gain),
      wta: sensed.wta ? { m: sensed.wta.m, s: sensed.wta.s, k: sensed.wta.k } : {},
    },
    trace: {
      sensing: sensed.mode,
      features: input.sourceName('features'),
      cue: sensed.mode === 'no-cue' ? 'none' : input.sourceName('cue'),
      kappaExact: split.kappa,
      rawOdour: list(sensed.raw),
      headOdour: sensed.perHead.map(list),
      argmaxCue: list(sensed.argmaxCue),
      cellOf: list(cells.cellOf),
      cellWeights: list(p),
      refinement: refinement.map((r) => ({ cell: r.cell, quota: r.quota, path: r.path, picked: r.picked })),
      competition: competition.rounds.map((r) => ({ ...r })),
      coverageBefore: list(recovery.coverBefore),
      coverageAfter: list(recovery.coverAfter),
      recovery: recovery.rounds.map((r) => ({ cell: r.cell, token: r.token, U: finiteOrNull(r.U) })),
    },
    notes,
  };
}

export const f3a: MethodSpec = {
  id: 'f3a',
  label: 'F³A (reconstruction)',
  source: 'Huang et al., arXiv 2605.16359 (2026), no public code; PruneLens reconstruction of ALGORITHMS.md §4.3 [PROPOSED]',
  family: 'seed',
  needs: ['features'],
  optional: ['cue'],
  params: [
    { name: 'ratio', kind: 'number', description: 'Keep ratio ρ; B = max(1, ⌊ρN + ½⌋). Default 0.2 when no B is given.', min: 0, max: 1 },
    { name: 'B', kind: 'integer', description: 'Token budget B (overrides the default ratio; must agree with ratio if both are given).', min: 1 },
    { name: 'budget', kind: 'integer', description: 'Alias of B.', min: 1 },
    { name: 'sensing', kind: 'enum', values: ['sparse', 'dense'], description: 'Odour from frozen sparse heads (default sparse) or dense cosine (§4.3 step 6).' },
    { name: 'dense', kind: 'boolean', description: "The reference's dense-variant flag (same as sensing=dense).", informational: true },
    { name: 'view', kind: 'string', description: "The reference's name for the feature/cue pairing (descriptive only).", informational: true },
  ],
  selection: 'staged',
  budgetParams: (k) => ({ B: k }),
  run,
};
