import { InputError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import { sortedAscending } from '../numeric/ranking.ts';
import { bool, optNum } from './params.ts';
import { initialState, tomeStep, type TomeState } from './tome/matching.ts';
import { TomeWasm } from './tome/tome-wasm.ts';
import type { MethodInput, MethodSpec, Params, PruneResult } from './types.ts';

const DEFAULT_R = 8;

function first4(s: TomeState): number[][] {
  const dims = Math.min(4, s.d);
  return s.size.map((_, o) => Array.from(s.x.subarray(o * s.d, o * s.d + dims)));
}

/** Output index of the group each original token ended in. */
function groupOf(s: TomeState, n: number): number[] {
  const g = new Array<number>(n).fill(-1);
  s.sources.forEach((src, o) => src.forEach((i) => (g[i] = o)));
  return g;
}

/** keep = the representative original token of every output group (for one step: unmerged A ∪ all B). */
function keepOf(s: TomeState): number[] {
  return sortedAscending(s.rep);
}

function checkInformational(input: MethodInput, params: Params, schedule: boolean, metricRole: string): void {
  const metric = params.metric;
  if (typeof metric === 'string') {
    const ok = schedule ? metric.startsWith('features') : metric === metricRole || metric === input.sourceName(metricRole === 'keys' ? 'keys' : 'features');
    if (!ok) throw new InputError(`tome metric "${metric}" does not match what this run uses (${schedule ? 'features, merged each step' : metricRole}).`);
  }
  const x = params.x;
  if (typeof x === 'string' && x !== 'features' && x !== input.sourceName('features')) {
    throw new InputError(`tome x "${x}" must be the features role (the merged tokens are always features).`);
  }
}

function singleStep(input: MethodInput, params: Params, r: number, classToken: boolean): PruneResult {
  const n = input.n;
  const x = input.matrix('features');
  const notes: string[] = [];
  let metricRole = 'keys';
  let metric = x;
  if (input.has('keys')) {
    metric = input.matrix('keys');
    if (metric.rows !== n) throw new InputError(`keys "${input.sourceName('keys')}" has ${metric.rows} rows but there are ${n} tokens.`);
  } else {
    if (params.metric === 'keys') throw new InputError('tome metric "keys" was asked for but the bundle has no keys array.');
    metricRole = 'features';
    notes.push('No keys in this bundle: ToMe matches on the features themselves.');
  }
  checkInformational(input, params, false, metricRole);
  const step = tomeStep(initialState(x.data, n, x.cols), metric.data, metric.cols, r, classToken);
  const out = step.state;
  const keep = keepOf(out);
  const mergedFirst4 = first4(out);
  TomeWasm.releaseIfLarge();
  // Distinctiveness 1 − best match for A tokens; B tokens and the protected [CLS] cannot be merged away (2).
  const scores = new Array<number>(n).fill(2);
  step.nodeMax.forEach((m, ia) => (scores[2 * ia] = m === -Infinity ? 2 : 1 - m));
  return {
    method: 'tome',
    params: { ...params, r, class_token: classToken },
    n,
    keep,
    scores,
    scoreName: 'tome_distinctiveness',
    selection: 'merge',
    output: {
      r_effective: step.r,
      merges: step.merges,
      unmerged_order: step.unmerged,
      output_sources: out.sources,
      sizes: out.size,
      merged_first4: mergedFirst4,
      node_max: step.nodeMax.map((v): JsonValue => (v === -Infinity ? null : v)),
      node_idx: step.nodeIdx,
      keep,
    },
    trace: { group_of_token: groupOf(out, n), metric: metricRole },
    notes,
  };
}

function scheduled(input: MethodInput, params: Params, schedule: number[], classToken: boolean): PruneResult {
  const n = input.n;
  const x = input.matrix('features');
  checkInformational(input, params, true, 'features');
  let state = initialState(x.data, n, x.cols);
  const rEff: number[] = [];
  const stepMerges: [number, number][][] = [];
  for (const r of schedule) {
    // The metric of each step is the current size-weighted merged x.
    const step = tomeStep(state, state.x, state.d, r, classToken);
    state = step.state;
    rEff.push(step.r);
    stepMerges.push(step.merges);
  }
  const keep = keepOf(state);
  const groups = groupOf(state, n);
  const mergedFirst4 = first4(state);
  TomeWasm.releaseIfLarge();
  return {
    method: 'tome',
    params: { ...params, class_token: classToken },
    n,
    keep,
    scores: groups.map((g) => 1 / state.size[g]),
    scoreName: 'inverse_group_size',
    selection: 'merge',
    output: {
      r_effective: rEff,
      n_out: state.size.length,
      output_sources: state.sources,
      sizes: state.size,
      merged_first4: mergedFirst4,
      keep,
    },
    trace: { group_of_token: groups, step_merges: stepMerges },
    notes: ['keep lists the token each output group sits on (its representative); output_sources gives every member.'],
  };
}

export const tome: MethodSpec = {
  id: 'tome',
  label: 'ToMe (bipartite soft matching)',
  source: 'Bolya et al., ICLR 2023 (arXiv 2210.09461); facebookresearch/ToMe @ af95e4b1, tome/merge.py',
  family: 'baseline',
  needs: ['features'],
  optional: ['keys'],
  params: [
    { name: 'r', kind: 'integer', min: 0, description: 'Merges in one step (at most ⌊(N − protected)/2⌋); metric = keys (features if absent). Used with 8 when schedule is not given.' },
    { name: 'class_token', kind: 'boolean', default: false, description: 'Protect token 0 ([CLS]) from merging.' },
    { name: 'schedule', kind: 'integer-list', min: 0, description: 'Several steps with these r values; each step matches on the current size-weighted merged features (the oracle’s tome_schedule).' },
    { name: 'metric', kind: 'string', informational: true, description: 'Oracle label of the matching metric; checked.' },
    { name: 'x', kind: 'string', informational: true, description: 'Oracle label of the merged tensor (features); checked.' },
  ],
  selection: 'merge',
  budgetParams(k, n, current) {
    const protectedCount = current.class_token === true ? 1 : 0;
    if (k < 1 || k > n) return null;
    const rest = Object.fromEntries(Object.entries(current).filter(([key]) => !['r', 'schedule', 'metric', 'x'].includes(key))) as JsonObject;
    if (n - k <= Math.floor((n - protectedCount) / 2)) return { ...rest, r: n - k };
    const schedule: number[] = [];
    for (let t = n; t > k; ) {
      const r = Math.min(t - k, Math.floor((t - protectedCount) / 2));
      if (r <= 0) return null;
      schedule.push(r);
      t -= r;
    }
    return { ...rest, schedule };
  },
  run(input, params) {
    const r = optNum(params, 'r');
    const schedule = params.schedule as number[] | undefined;
    if (r !== undefined && schedule !== undefined) throw new InputError('tome takes either r (one step) or schedule (several steps), not both.');
    const classToken = bool(params, 'class_token');
    return schedule ? scheduled(input, params, schedule, classToken) : singleStep(input, params, r ?? DEFAULT_R, classToken);
  },
};
