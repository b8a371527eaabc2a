import { InputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { ratioForFloor } from '../numeric/budget.ts';
import { sortedAscending, toArray, topK } from '../numeric/ranking.ts';
import { type GroupPropagation, propagateGroup } from './gprune-graph.ts';
import { inferLayout } from './layout.ts';
import { num } from './params.ts';
import type { MethodInput, MethodSpec, Params, PruneResult } from './types.ts';

const EDGES_PER_NODE = 8;

interface GroupRun {
  readonly name: 'all' | 'base' | 'hires';
  /** Global token index of each group-local token. */
  readonly tokens: number[];
  readonly k: number;
  readonly prop: GroupPropagation;
  /** Global indices in topk order (score desc, index asc). */
  readonly topkOrder: number[];
  /** Local → global index mapping (the identity for a single-group bundle: fresh local arrays are reused as is). */
  readonly global: (local: number[]) => number[];
}

function runGroup(input: MethodInput, name: GroupRun['name'], tokens: number[], params: Params): GroupRun {
  const k = Math.floor(num(params, 'keep_ratio') * tokens.length);
  const global = tokens.every((t, i) => t === i) ? (local: number[]): number[] => local : (local: number[]): number[] => globalIndices(local, tokens);
  if (tokens.length === 0) return { name, tokens, k: 0, prop: emptyProp(num(params, 'iterate_num')), topkOrder: [], global };
  const prop = propagateGroup(
    input.matrix('features'),
    { theta: num(params, 'theta'), temperature: num(params, 'temperature'), iterateNum: num(params, 'iterate_num') },
    EDGES_PER_NODE,
    tokens,
  );
  const topkOrder = global(topK(prop.scores, k));
  return { name, tokens, k, prop, topkOrder, global };
}

function emptyProp(iterations: number): GroupPropagation {
  const z = new Float64Array(0);
  return { norms: z, degree: new Int32Array(0), mass: Array.from({ length: iterations + 1 }, () => z), scores: z, edges: { src: [], dst: [], weight: [] }, upperEdges: 0, rechecked: 0 };
}

/** tokens[i] for every local index (a plain loop: Array.map's callback costs several times as much here). */
function globalIndices(local: readonly number[], tokens: readonly number[]): number[] {
  const out = new Array<number>(local.length);
  for (let q = 0; q < local.length; q++) out[q] = tokens[local[q]];
  return out;
}

function groupTrace(g: GroupRun): JsonObject {
  const { global } = g;
  return {
    name: g.name,
    token_indices: g.tokens,
    K: g.k,
    degree: toArray(g.prop.degree),
    mass: g.prop.mass.map(toArray),
    edges: { src: global(g.prop.edges.src), dst: global(g.prop.edges.dst), weight: g.prop.edges.weight },
    edges_per_node: EDGES_PER_NODE,
  };
}

function run(input: MethodInput, params: Params): PruneResult {
  const ratio = num(params, 'keep_ratio');
  if (!(ratio > 0)) throw new InputError(`Parameter keep_ratio of gprune must be in (0, 1], got ${ratio}.`);
  if (!(num(params, 'temperature') > 0)) throw new InputError(`Parameter temperature of gprune must be > 0, got ${num(params, 'temperature')}.`);

  const layout = inferLayout(input);
  const given = params.layout;
  if (given !== undefined && given !== layout.kind) {
    const why = layout.kind === 'llava_next' ? 'it has a base + high-res (group/always_keep) layout' : 'it has no high-res group';
    throw new InputError(`gprune was given layout "${String(given)}" but the bundle is "${layout.kind}": ${why}.`);
  }

  const groups: GroupRun[] =
    layout.kind === 'single'
      ? [runGroup(input, 'all', layout.base, params)]
      : [runGroup(input, 'base', layout.base, params), runGroup(input, 'hires', layout.hires, params)];
  if (groups.every((g) => g.k === 0)) {
    throw new InputError(`keep_ratio ${ratio} keeps no tokens (⌊ρ·n⌋ = 0 for ${groups.map((g) => g.tokens.length).join(' and ')} tokens).`);
  }

  const keep = sortedAscending(new Set([...groups.flatMap((g) => g.topkOrder), ...layout.alwaysKeep]));
  const scores = new Array<number>(input.n).fill(0);
  let top = -Infinity;
  for (const g of groups) {
    const local = g.prop.scores;
    for (let i = 0; i < g.tokens.length; i++) {
      scores[g.tokens[i]] = local[i];
      if (local[i] > top) top = local[i];
    }
  }
  // Always-kept tokens have no score of their own; give them the top score so a heat-map ranks them first.
  for (const t of layout.alwaysKeep) scores[t] = Number.isFinite(top) ? top : 0;

  const outParams: JsonObject = { ...params, layout: layout.kind };
  const notes: string[] = ['G-Prune as in the official code (jytmelon/G-Prune); computed in float64.'];
  let output: JsonObject;
  if (layout.kind === 'single') {
    const g = groups[0];
    output = {
      keep,
      K: g.k,
      scores: toArray(g.prop.scores),
      degree: toArray(g.prop.degree),
      norms: toArray(g.prop.norms),
      topk_order: g.topkOrder,
    };
    if (layout.alwaysKeep.length > 0) notes.push(`${layout.alwaysKeep.length} always_keep token(s) kept without scoring.`);
  } else {
    const [b, h] = groups;
    output = {
      keep,
      keep_base: sortedAscending(b.topkOrder),
      keep_hires: sortedAscending(h.topkOrder),
      newline_indices: layout.alwaysKeep,
      K_base: b.k,
      K_hires: h.k,
      scores_base: toArray(b.prop.scores),
      degree_base: toArray(b.prop.degree),
      scores_hires: toArray(h.prop.scores),
      degree_hires: toArray(h.prop.degree),
      hires_token_indices: h.tokens,
    };
    notes.push('LLaVA-NeXT layout: base and high-res groups each keep ⌊ρ·n⌋ of their own tokens (scores are on separate scales); newline tokens are always kept.');
  }
  return {
    method: 'gprune',
    params: outParams,
    n: input.n,
    keep,
    scores,
    scoreName: 'propagated mass / degree',
    selection: 'ranked',
    output,
    trace: {
      layout: layout.kind,
      always_keep: layout.alwaysKeep,
      hires_grid: layout.hiresGrid ? [layout.hiresGrid.h, layout.hiresGrid.w] : null,
      groups: groups.map(groupTrace),
    },
    notes,
  };
}

export const gprune: MethodSpec = {
  id: 'gprune',
  label: 'G-Prune (graph information propagation)',
  source: 'Jiang et al., AAAI 2025, arXiv 2501.02268; code jytmelon/G-Prune @ 762c6377 (llava_arch.py)',
  family: 'seed',
  needs: ['features'],
  optional: ['group', 'always_keep'],
  params: [
    { name: 'keep_ratio', kind: 'number', default: 0.5, min: 0, max: 1, description: 'Fraction ρ kept per group: ⌊ρ·n⌋ tokens by score.' },
    { name: 'theta', kind: 'number', default: 0.5, min: -1, max: 1, description: 'Edge threshold θ on cosine similarity (below it: no edge).' },
    { name: 'temperature', kind: 'number', default: 0.03, min: 0, description: 'Softmax temperature T on edge similarities.' },
    { name: 'iterate_num', kind: 'integer', default: 5, min: 0, max: 100, description: 'Propagation steps n (m⁽ᵗ⁺¹⁾ = m⁽ᵗ⁾P).' },
    {
      name: 'layout',
      kind: 'enum',
      values: ['single', 'llava_next'],
      informational: true,
      description: 'Informational: inferred from group/always_keep; if given it must match.',
    },
  ],
  selection: 'ranked',
  /** ⌊r·n⌋ = k for the single layout; in the LLaVA-NeXT layout the ratio applies per group. */
  budgetParams(k, n, current) {
    const r = ratioForFloor(k, n);
    return r === null ? null : { ...current, keep_ratio: r };
  },
  run,
};
