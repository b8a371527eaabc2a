import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decisionsToCsv } from '../../extension/core/decisions/csv.ts';
import { decideToken } from '../../extension/core/decisions/decide.ts';
import { disagreements, stepDisagreement } from '../../extension/core/decisions/disagreements.ts';
import { smallestKeepingBudget } from '../../extension/core/decisions/search.ts';
import { sourceFromResult } from '../../extension/core/decisions/source.ts';
import type { DecisionSource, TokenDecision } from '../../extension/core/decisions/types.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { getMethod } from '../../extension/core/methods/registry.ts';
import { loadOracleCase } from '../helpers/oracle.ts';

function src(method: string, keep: number[], n = 6): DecisionSource {
  return { method, label: method, selection: 'ranked', n, grid: null, keep, scores: null, scoreName: 's', params: {}, output: {}, trace: {} };
}

test('disagreements: tokens kept by some methods and dropped by others, stepped with wrap-around', () => {
  const list = disagreements([src('a', [0, 1, 2]), src('b', [0, 2, 4]), src('c', [0, 2, 5])]);
  assert.deepEqual(
    list.map((d) => [d.index, d.kept, d.dropped]),
    [
      [1, ['a'], ['b', 'c']],
      [4, ['b'], ['a', 'c']],
      [5, ['c'], ['a', 'b']],
    ],
  );
  assert.equal(stepDisagreement(list, null, 1)?.index, 1);
  assert.equal(stepDisagreement(list, null, -1)?.index, 5);
  assert.equal(stepDisagreement(list, 1, 1)?.index, 4);
  assert.equal(stepDisagreement(list, 2, 1)?.index, 4);
  assert.equal(stepDisagreement(list, 5, 1)?.index, 1);
  assert.equal(stepDisagreement(list, 1, -1)?.index, 5);
  assert.equal(stepDisagreement(list, 4, -1)?.index, 1);
  assert.deepEqual(disagreements([src('a', [1])]), []);
  assert.equal(stepDisagreement([], 3, 1), null);
});

test('CSV export: one row per method, RFC 4180 quoting, formula cells defused, 1-based ranks', () => {
  const row: TokenDecision = {
    method: 'x',
    label: '=HYPERLINK("evil")',
    selection: 'ranked',
    kept: true,
    budget: 10,
    score: -0.5,
    scoreName: 'a, "b"',
    rank: 0,
    population: 16,
    percentile: 100,
    reason: 'line1\nline2',
    counterfactual: { kind: 'rank', budget: 1, note: '' },
  };
  const csv = decisionsToCsv(9, [4, 4], [row, { ...row, method: 'y', rank: null, counterfactual: { kind: 'rerun', budget: null, note: '' } }]);
  const lines = csv.split('\r\n');
  assert.equal(lines[0].split(',').length, 15);
  assert.ok(csv.startsWith('token,row,col,method'));
  assert.ok(lines[1].startsWith(`9,2,1,x,"'=HYPERLINK(""evil"")",true,10,-0.5,"a, ""b""",1,16,100,1,rank,"line1`));
  assert.ok(csv.includes('\r\ny,') === false && csv.includes(',y,'), 'second row present');
  assert.ok(csv.includes(',,16,100,,rerun,'), 'null rank and budget are empty cells');
  assert.ok(csv.endsWith('\r\n'));
});

test('budget search: bisection bound, exact upward scan within the allowance, null when never kept', async () => {
  let calls = 0;
  const rule = (b: number): number[] => (b >= 37 || b === 9 ? [3] : [0]);
  const exact = await smallestKeepingBudget(3, 1, 64, async (b) => {
    calls++;
    return rule(b);
  });
  assert.deepEqual([exact.budget, exact.exact], [9, true]);
  assert.equal(exact.runs, calls);

  // Too few runs for the scan: the bisection bound, flagged as not exact.
  const bounded = await smallestKeepingBudget(3, 1, 64, async (b) => rule(b), { maxRuns: 9 });
  assert.deepEqual([bounded.budget, bounded.exact], [37, false]);
  assert.ok(bounded.runs <= 9);
  assert.match(bounded.note, /bisection; budgets 3–36 not all re-run/);

  const never = await smallestKeepingBudget(3, 1, 64, async () => [1, 2]);
  assert.equal(never.budget, null);

  const unrealisable = await smallestKeepingBudget(3, 1, 16, async (b) => (b % 2 === 1 ? null : b >= 8 ? [3] : []));
  assert.deepEqual([unrealisable.budget, unrealisable.exact], [8, true]);

  const ac = new AbortController();
  ac.abort();
  await assert.rejects(smallestKeepingBudget(0, 1, 8, async () => [0], { signal: ac.signal }));
});

test('budget search on F³A equals a full linear scan of re-runs', async () => {
  const c = loadOracleCase('oracle_f01_4x4x8');
  const keepAt = async (b: number): Promise<number[] | null> => {
    const p = getMethod('f3a').budgetParams(b, 16, {});
    return p ? prune(c.bundle, 'f3a', p).keep : null;
  };
  const all: number[][] = [];
  for (let b = 1; b <= 16; b++) all.push((await keepAt(b)) ?? []);
  const r0 = prune(c.bundle, 'f3a', {});
  const source = sourceFromResult(r0, [4, 4]);
  for (let t = 0; t < 16; t++) {
    const linear = all.findIndex((k) => k.includes(t)) + 1;
    const found = await smallestKeepingBudget(t, 1, 16, keepAt);
    assert.deepEqual([found.budget, found.exact], [linear, true], `token ${t}`);
    const d = decideToken(source, t, { searched: { budget: found.budget, note: found.note } });
    assert.deepEqual([d.counterfactual.kind, d.counterfactual.budget], ['search', linear]);
  }
});
