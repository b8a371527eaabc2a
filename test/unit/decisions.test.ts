import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoleMapping, TokenBundle } from '../../extension/core/bundle/types.ts';
import { decideToken, decisionTable } from '../../extension/core/decisions/decide.ts';
import { fmt, ordinal } from '../../extension/core/decisions/format.ts';
import { sourceFromEntry, sourceFromResult } from '../../extension/core/decisions/source.ts';
import type { DecisionSource } from '../../extension/core/decisions/types.ts';
import type { JsonObject } from '../../extension/core/json.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { getMethod } from '../../extension/core/methods/registry.ts';
import type { PruneResult } from '../../extension/core/methods/types.ts';
import { ranksOf } from '../../extension/core/numeric/ranking.ts';
import { resultEntry as okEntry } from '../../extension/core/analyze/entries.ts';
import { loadOracleCase, recordsFor, type OracleCase, type OracleRecord } from '../helpers/oracle.ts';
import { replayOf } from '../helpers/oracle-replay.ts';

function mappingOf(inputs: string[]): RoleMapping {
  const m: Record<string, string | null> = {};
  for (const s of inputs) {
    const [role, name] = s.split('=');
    m[role] = name === 'none' ? null : name;
  }
  return m as RoleMapping;
}

function replay(c: OracleCase, r: OracleRecord): { result: PruneResult; source: DecisionSource; mapping: RoleMapping } {
  const rp = replayOf(r);
  const mapping = mappingOf(rp.inputs);
  const result = prune(c.bundle, rp.method, rp.params, mapping);
  return { result, source: sourceFromResult(result, gridOf(c)), mapping };
}

const gridOf = (c: OracleCase): [number, number] => {
  const g = c.json.grid as number[];
  return [g[0], g[1]];
};

/** Re-runs a method at budget k the way the host does (spec.budgetParams) and returns its kept set. */
function keptAt(bundle: TokenBundle, r: PruneResult, k: number, mapping: RoleMapping): Set<number> | null {
  const params = getMethod(r.method).budgetParams(k, r.n, r.params);
  if (!params) return null;
  return new Set(prune(bundle, r.method, params, mapping).keep);
}

/** A spread of tokens: first, last, and evenly spaced ones in between. */
const sample = (n: number, count: number): number[] => [...new Set(Array.from({ length: count }, (_, j) => Math.round((j * (n - 1)) / (count - 1))))];

test('ranked methods: counterfactual budget = rank + 1, confirmed by re-running at rank + 1 and rank', () => {
  const cases: [string, string][] = [
    ['oracle_f03_8x8x32', 'gprune'],
    ['oracle_f03_8x8x32', 'fastv'],
    ['oracle_f04_8x8x32', 'codebook'],
    ['oracle_f05_24x24x64', 'gprune'],
    ['oracle_f05_24x24x64', 'random'],
  ];
  for (const [name, method] of cases) {
    const c = loadOracleCase(name);
    const rec = c.json.results.find((r) => r.method === method);
    const { result, source, mapping } = rec ? replay(c, rec) : (() => {
      const res = prune(c.bundle, method, {});
      return { result: res, source: sourceFromResult(res, gridOf(c)), mapping: {} };
    })();
    const ranks = ranksOf(result.scores ?? []);
    for (const i of sample(result.n, 7)) {
      const d = decideToken(source, i);
      assert.equal(d.rank, ranks[i], `${name} ${method} token ${i} rank`);
      assert.equal(d.counterfactual.kind, 'rank');
      assert.equal(d.counterfactual.budget, ranks[i] + 1, `${name} ${method} token ${i}`);
      assert.equal(d.kept, result.keep.includes(i));
      const at = keptAt(c.bundle, result, ranks[i] + 1, mapping);
      assert.ok(at?.has(i), `${name} ${method}: token ${i} kept at budget rank+1 = ${ranks[i] + 1}`);
      if (ranks[i] > 0) assert.equal(keptAt(c.bundle, result, ranks[i], mapping)?.has(i), false, `${name} ${method}: token ${i} dropped at budget ${ranks[i]}`);
    }
  }
});

test('ranked methods at another budget: kept iff rank < budget, and the percentile follows the rank', () => {
  const c = loadOracleCase('oracle_f05_24x24x64');
  const r = prune(c.bundle, 'gprune', { keep_ratio: 0.25 });
  const s = sourceFromResult(r, gridOf(c));
  const ranks = ranksOf(r.scores ?? []);
  const best = ranks.indexOf(0);
  const worst = ranks.indexOf(r.n - 1);
  assert.equal(decideToken(s, best).percentile, 100);
  assert.equal(decideToken(s, worst).percentile, 0);
  for (const i of sample(r.n, 9)) {
    for (const b of [10, 144, 400]) {
      const d = decideToken(s, i, { budget: b });
      assert.equal(d.kept, ranks[i] < b, `token ${i} at budget ${b}`);
      assert.equal(d.budget, b);
      assert.match(d.reason, new RegExp(`rank #${ranks[i] + 1}/576 ${ranks[i] < b ? '≤' : '>'} K = ${b}`));
    }
  }
});

test('G-Prune reasons quote the oracle degree and the trace mass', () => {
  for (const { c, r } of recordsFor('gprune').filter((x) => x.r.params.layout === 'single').slice(0, 4)) {
    const { result, source } = replay(c, r);
    const degree = r.degree as number[];
    const group = (result.trace.groups as JsonObject[])[0];
    const mass = group.mass as number[][];
    for (const i of sample(result.n, 5)) {
      const why = decideToken(source, i).reason;
      assert.ok(why.includes(`${degree[i] - 1} neighbours ≥ θ 0.5`), `${c.name} token ${i}: ${why}`);
      assert.ok(why.startsWith(`mass ${fmt(mass[mass.length - 1][i])} after ${r.params.iterate_num} steps`), why);
    }
  }
});

test('G-Prune LLaVA-NeXT layout: newline tokens always kept, others ranked within their group', () => {
  const c = loadOracleCase('oracle_f06_next_24x24+12x18_d16');
  const rec = recordsFor('gprune').find((x) => x.c.name === c.name);
  assert.ok(rec);
  const { result, source } = replay(c, rec.r);
  const newlines = rec.r.newline_indices as number[];
  const nl = decideToken(source, newlines[0]);
  assert.equal(nl.kept, true);
  assert.equal(nl.counterfactual.kind, 'always');
  const scoresBase = rec.r.scores_base as number[];
  const baseRanks = ranksOf(scoresBase);
  const hiresIdx = rec.r.hires_token_indices as number[];
  const hiresRanks = ranksOf(rec.r.scores_hires as number[]);
  for (const i of [0, 100, 575]) {
    const d = decideToken(source, i);
    assert.equal(d.rank, baseRanks[i]);
    assert.equal(d.population, 576);
    assert.equal(d.counterfactual.budget, baseRanks[i] + 1);
    assert.match(d.counterfactual.note, /base group/);
    assert.equal(d.kept, result.keep.includes(i));
  }
  const h = hiresIdx[5];
  const dh = decideToken(source, h);
  assert.equal(dh.rank, hiresRanks[5]);
  assert.equal(dh.population, hiresIdx.length);
  assert.match(dh.reason, /in the hires group/);
});

test('DivPrune and CDPruner: counterfactual = selection step from the oracle order, reasons quote step scores', () => {
  for (const method of ['divprune', 'cdpruner']) {
    for (const { c, r } of recordsFor(method).filter((x) => x.c.json.kind === 'grid').slice(0, 5)) {
      const { result, source, mapping } = replay(c, r);
      const order = r.order as number[];
      for (const p of sample(order.length, Math.min(order.length, 4))) {
        const i = order[p];
        const d = decideToken(source, i);
        assert.equal(d.kept, true);
        assert.deepEqual([d.counterfactual.kind, d.counterfactual.budget], ['step', p + 1], `${c.name} ${method} pick ${p}`);
        assert.ok(d.reason.startsWith(`picked ${ordinal(p + 1)} of ${result.keep.length}`), d.reason);
        const value = method === 'divprune' ? (r.step_scores as number[])[p] : (r.gains as number[])[p];
        assert.ok(d.reason.includes(fmt(value)), `${d.reason} should quote ${fmt(value)}`);
      }
      // Confirm the prefix property the counterfactual relies on, by re-running at step+1 and step.
      const p = Math.min(order.length - 1, 2);
      if (p > 0) {
        assert.ok(keptAt(c.bundle, result, p + 1, mapping)?.has(order[p]), `${method} keeps order[${p}] at budget ${p + 1}`);
        assert.equal(keptAt(c.bundle, result, p, mapping)?.has(order[p]), false, `${method} drops order[${p}] at budget ${p}`);
      }
      // A dropped token: not within the picks; a full-budget order locates it.
      const dropped = Array.from({ length: result.n }, (_, i) => i).find((i) => !result.keep.includes(i));
      if (dropped === undefined) continue;
      const d = decideToken(source, dropped);
      assert.equal(d.kept, false);
      assert.equal(d.counterfactual.kind, 'rerun');
      assert.match(d.reason, new RegExp(`^not picked in ${result.keep.length} steps`));
      const full = prune(c.bundle, method, getMethod(method).budgetParams(result.n, result.n, result.params) ?? {}, mapping);
      const fullOrder = full.output.order as number[];
      const withFull = decideToken(source, dropped, { fullOrder });
      assert.equal(withFull.counterfactual.budget, fullOrder.indexOf(dropped) + 1);
      assert.ok(keptAt(c.bundle, result, fullOrder.indexOf(dropped) + 1, mapping)?.has(dropped));
    }
  }
});

test('F³A reasons follow the oracle stage labels', () => {
  for (const { c, r } of recordsFor('f3a_proposed').slice(0, 6)) {
    const { source } = replay(c, r);
    const keep = r.keep as number[];
    const labels = r.labels as string[];
    const word: Record<string, RegExp> = { loc: /^kept in refinement of cell \(\d+,\d+\), pick \d+ of quota \d+/, comp: /^kept in competition round \d+, gain/, rec: /^kept in recovery: medoid of the least-covered cell/ };
    keep.forEach((t, j) => {
      const d = decideToken(source, t);
      assert.equal(d.kept, true);
      assert.match(d.reason, word[labels[j]], `${c.name} token ${t} (${labels[j]}): ${d.reason}`);
      assert.equal(d.counterfactual.kind, 'rerun');
    });
    const dropped = Array.from({ length: c.json.N as number }, (_, i) => i).find((i) => !keep.includes(i));
    if (dropped !== undefined) {
      const d = decideToken(source, dropped);
      assert.equal(d.kept, false);
      const odour = (r.odour as number[])[dropped];
      assert.ok(d.reason.startsWith(`dropped: odour ${fmt(odour)}`), d.reason);
    }
  }
});

test('codebook, VisionZip, ToMe and PruMerge reasons read their outputs', () => {
  const c = loadOracleCase('oracle_f05_24x24x64');
  const recA = c.json.results.find((r) => r.method === 'codebook' && r.params.mode === 'A');
  assert.ok(recA);
  const cb = replay(c, recA).source;
  const r = recA.r as number[];
  const proto = recA.argmax_prototype as number[];
  const tau = recA.params.tau as number;
  for (const i of sample(576, 6)) {
    const d = decideToken(cb, i);
    assert.ok(d.reason.startsWith(`closest prototype #${proto[i]}, cos ${fmt(r[i])} ${r[i] < tau ? '<' : '≥'} τ`), d.reason);
    assert.equal(d.kept, r[i] < tau);
  }

  const recVz = c.json.results.find((x) => x.method === 'visionzip');
  assert.ok(recVz);
  const vz = replay(c, recVz).source;
  const targets = recVz.targets as number[];
  const pool = recVz.non_target_pool as number[];
  const slot = recVz.assigned_target_slot as number[];
  assert.match(decideToken(vz, (recVz.dominant as number[])[0]).reason, /^dominant: \[CLS\] attention/);
  assert.match(decideToken(vz, targets[1]).reason, /^kept as contextual token 1:/);
  assert.ok(decideToken(vz, pool[3]).reason.startsWith(`merged into contextual token ${slot[3]} (target ${targets[slot[3]]})`));

  const recTome = c.json.results.find((x) => x.method === 'tome');
  assert.ok(recTome);
  const tm = replay(c, recTome).source;
  const [src, dst] = (recTome.merges as number[][])[0];
  const d = decideToken(tm, src);
  assert.equal(d.kept, false);
  assert.equal(d.reason, `merged into token ${dst} (1st best match of ${(recTome.merges as number[][]).length})`);

  const recPm = c.json.results.find((x) => x.method === 'prumerge');
  assert.ok(recPm);
  const pm = replay(c, recPm).source;
  const top = (recPm.topk_order as number[])[0];
  assert.match(decideToken(pm, top).reason, /^outlier: \[CLS\] attention .* > IQR bound/);
  assert.equal(decideToken(pm, top).counterfactual.kind, 'none');
});

test('an analysis.json entry explains exactly like the live result', () => {
  const c = loadOracleCase('oracle_f03_8x8x32');
  const grid = gridOf(c);
  for (const method of ['f3a', 'gprune', 'divprune', 'cdpruner', 'visionzip', 'tome']) {
    const r = prune(c.bundle, method, {});
    const entry = JSON.parse(JSON.stringify(okEntry(getMethod(method), r, 1.5)));
    const fromEntry = sourceFromEntry(entry, { n: r.n, grid });
    assert.ok(fromEntry);
    const live = sourceFromResult(r, grid);
    for (const i of sample(r.n, 5)) assert.deepEqual(decideToken(fromEntry, i), decideToken(live, i), `${method} token ${i}`);
  }
  assert.equal(sourceFromEntry({ method: 'fastv', status: 'skipped', reason: 'no llm_attn' }, { n: 4, grid: null }), null);
});

test('decisionTable keeps the sources order and rejects out-of-range tokens', () => {
  const c = loadOracleCase('oracle_f01_4x4x8');
  const sources = ['gprune', 'divprune', 'f3a'].map((m) => sourceFromResult(prune(c.bundle, m, {}), gridOf(c)));
  assert.deepEqual(
    decisionTable(sources, 3).map((d) => d.method),
    ['gprune', 'divprune', 'f3a'],
  );
  assert.deepEqual(decisionTable(sources, 16), []);
  assert.throws(() => decideToken(sources[0], -1), RangeError);
});
