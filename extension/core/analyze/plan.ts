// Per-method set-up for an analysis: which methods can run on this bundle, with which parameters
// (model defaults → budget → user overrides) and which role mapping; a clear "needs X" otherwise.
import type { InputRole, RoleMapping, TokenBundle } from '../bundle/types.ts';
import { InputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { resolveParams } from '../methods/params.ts';
import { getMethod } from '../methods/registry.ts';
import type { MethodSpec } from '../methods/types.ts';
import { pyRound } from '../numeric/rounding.ts';
import type { BudgetRequest, MethodPlan } from './types.ts';

/** What each role is, for "needs X" reasons a user can act on. */
const ROLE_HELP: { [R in InputRole]: string } = {
  features: 'patch features',
  cls_attn: "the vision tower's [CLS]→patch attention, which this model or bundle does not provide",
  keys: "the vision tower's attention keys, which this model or bundle does not provide",
  text: 'a question: the text tower embeds it',
  image_joint: 'patch embeddings in the joint image–text space, which this model or bundle does not provide',
  cue: "per-word cue vectors from the model's text side",
  llm_attn:
    "the language model's attention to each visual token — FastV prunes inside the LLM, which an image encoder alone does not run; dump llm_attn from a VLM into a bundle",
  codebook:
    'a redundancy codebook [P,d] from the same model and feature layer (CLI: --codebook <file.npy|.npz>; VS Code: "PruneLens: Load Codebook" or the prunelens.codebookPath setting)',
  group: 'token groups (LLaVA-NeXT layouts)',
  always_keep: 'an always-keep mask',
};

export interface PlanContext {
  bundle: TokenBundle;
  /** Kept tokens the analysis compares methods at. */
  k: number;
  question: string;
  /** The model has a text tower (null: unknown, e.g. a bundle from elsewhere). */
  hasTextTower: boolean | null;
  methodDefaults: { [methodId: string]: JsonObject };
  params: { [methodId: string]: JsonObject };
}

/** Method ids of a request ('all' = every registered method, in display order). */
export function selectMethods(methods: 'all' | readonly string[], all: readonly MethodSpec[]): MethodSpec[] {
  if (methods === 'all') return [...all];
  if (methods.length === 0) throw new InputError('No methods selected; use --methods all or a comma-separated list of method ids.');
  const seen = new Set<string>();
  const out: MethodSpec[] = [];
  for (const id of methods) {
    const spec = getMethod(id.trim());
    if (!seen.has(spec.id)) out.push(spec);
    seen.add(spec.id);
  }
  return out;
}

/** Number of tokens and the comparison budget k for a request: round(N/9) unless given. */
export function budgetK(budget: BudgetRequest | null, n: number): number {
  if (budget === null) return Math.max(1, Math.min(n, pyRound(n / 9)));
  if ('k' in budget) {
    if (!Number.isInteger(budget.k) || budget.k < 1 || budget.k > n) throw new InputError(`--budget must be a whole number of tokens from 1 to ${n}, got ${budget.k}.`);
    return budget.k;
  }
  if (!(budget.ratio > 0 && budget.ratio <= 1)) throw new InputError(`--ratio must be in (0, 1], got ${budget.ratio}.`);
  return Math.max(1, Math.min(n, pyRound(budget.ratio * n)));
}

function needsReason(role: InputRole, ctx: PlanContext): string {
  if (role === 'text') {
    if (ctx.question.trim() === '') return 'needs text — ask a question (this analysis is question-agnostic)';
    if (ctx.hasTextTower === false) return 'needs text — the model has no text tower, so the question cannot be embedded';
  }
  return `needs ${role} — ${ROLE_HELP[role]}`;
}

function has(bundle: TokenBundle, mapping: RoleMapping, role: InputRole): boolean {
  const name = mapping[role] === undefined ? role : mapping[role];
  return name !== null && bundle.arrays.has(name);
}

/** Role mapping and parameter defaults a method needs for bundles made by the runtime. */
function adapt(spec: MethodSpec, bundle: TokenBundle, params: JsonObject, notes: string[]): RoleMapping {
  if (spec.id !== 'prumerge') return {};
  // PruMerge's own single-head attention, recomputed by the graph surgery, when the bundle has it.
  if (bundle.arrays.has('pm_cls_attn') && bundle.arrays.has('pm_keys')) return { cls_attn: 'pm_cls_attn', keys: 'pm_keys' };
  const cls = bundle.arrays.get('cls_attn');
  if (cls && cls.shape.length === 2 && cls.shape[0] > 1 && params.heads === undefined) {
    params.heads = 'mean';
    notes.push(`No single-head PruMerge attention in this bundle: heads=mean over the ${cls.shape[0]} heads of cls_attn.`);
  }
  return {};
}

/**
 * Parameters for one method: its spec defaults, then the model's method defaults, then the budget k
 * mapped through `budgetParams`, then the user's overrides (which win).
 */
export function planMethod(spec: MethodSpec, ctx: PlanContext): MethodPlan {
  const n = ctx.bundle.arrays.get('features')?.shape[0] ?? 0;
  const notes: string[] = [];
  const base: JsonObject = { ...(ctx.methodDefaults[spec.id] ?? {}) };
  const mapping = adapt(spec, ctx.bundle, base, notes);
  for (const role of spec.needs) if (!has(ctx.bundle, mapping, role)) return { method: spec.id, runnable: false, status: 'skipped', reason: needsReason(role, ctx) };
  const user = ctx.params[spec.id] ?? {};
  const budgeted = spec.budgetParams(ctx.k, n, base);
  if (budgeted === null) notes.push(`${spec.label} does not take a token budget: it keeps its own adaptive count.`);
  const params: JsonObject = { ...(budgeted ?? base), ...user };
  try {
    resolveParams(spec, params);
  } catch (err) {
    return { method: spec.id, runnable: false, status: 'error', reason: err instanceof Error ? err.message : String(err) };
  }
  if (ctx.methodDefaults[spec.id]) notes.push(`Model-specific settings: ${JSON.stringify(ctx.methodDefaults[spec.id])}.`);
  return { method: spec.id, runnable: true, params, mapping, notes };
}
