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
    counterfactual: { kind: 'rank', budget: 1, note: 'kept from budget 1 up (rank + 1)' },
  };
  const csv = decisionsToCsv(9, [4, 4], [row, { ...row, method: 'y', rank: null, counterfactual: { kind: 'rerun', budget: null, note: '' } }]);
  const lines = csv.split('\r\n');
  assert.equal(lines[0].split(',').length, 16);
  assert.ok(lines[0].endsWith(',counterfactual_budget,counterfactual_kind,counterfactual_note,reason'));
  assert.ok(csv.startsWith('token,row,col,method'));
  assert.ok(lines[1].startsWith(`9,2,1,x,"'=HYPERLINK(""evil"")",true,10,-0.5,"a, ""b""",1,16,100,1,rank,kept from budget 1 up (rank + 1),"line1`));
  assert.ok(csv.includes('\r\ny,') === false && csv.includes(',y,'), 'second row present');
  assert.ok(csv.includes(',,16,100,,rerun,,'), 'null rank and budget are empty cells');
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
  assert.match(bounded.note, /^kept at 37 \(smallest found by bisection; budgets 3–36 not all re-run\)/);
  // The scan found 9 below the bisection's 37: budgets between them that drop it show the method is not monotone.
  assert.match(exact.note, /^kept at 9 \(smallest: every smaller budget re-run\); not monotone — dropped at \d+$/);
  assert.ok(exact.checked.some(([b, kept]) => b > 9 && b < 37 && !kept));

  const never = await smallestKeepingBudget(3, 1, 64, async () => [1, 2]);
  assert.equal(never.budget, null);

  const unrealisable = await smallestKeepingBudget(3, 1, 16, async (b) => (b % 2 === 1 ? null : b >= 8 ? [3] : []));
  assert.deepEqual([unrealisable.budget, unrealisable.exact], [8, true]);

  // alsoCheck: the budget on screen is run too; one below an inexact answer that keeps the token lowers it.
  const withCurrent = await smallestKeepingBudget(3, 1, 64, async (b) => rule(b), { alsoCheck: [50] });
  assert.ok(withCurrent.checked.some(([b, kept]) => b === 50 && kept));
  const lowered = await smallestKeepingBudget(3, 1, 64, async (b) => rule(b), { maxRuns: 9, alsoCheck: [9] });
  assert.deepEqual([lowered.budget, lowered.exact], [9, false]);

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
    const d = decideToken(source, t, { searched: found });
    assert.deepEqual([d.counterfactual.kind, d.counterfactual.budget], ['search', linear]);
  }
});

test('a searched budget is the smallest found, not a threshold: F³A keeps a token at one budget and drops it at a larger, current one', async () => {
  const c = loadOracleCase('oracle_f01_4x4x8');
  const keepAt = (b: number): number[] => {
    const p = getMethod('f3a').budgetParams(b, 16, {});
    return p ? prune(c.bundle, 'f3a', p).keep : [];
  };
  const all = Array.from({ length: 16 }, (_, i) => keepAt(i + 1));
  // A token whose smallest keeping budget is below a budget that drops it (found by a full scan, not assumed).
  const t = Array.from({ length: 16 }, (_, i) => i).find((i) => {
    const first = all.findIndex((k) => k.includes(i));
    return first >= 0 && all.slice(first + 1).some((k) => !k.includes(i));
  });
  assert.ok(t !== undefined, 'F³A is not monotone on this bundle');
  const first = all.findIndex((k) => k.includes(t)) + 1;
  const current = all.findIndex((k, j) => j + 1 > first && !k.includes(t)) + 1;
  const atCurrent = prune(c.bundle, 'f3a', getMethod('f3a').budgetParams(current, 16, {}) ?? {});
  assert.equal(atCurrent.keep.length, current);
  let runs = 0;
  const found = await smallestKeepingBudget(t, 1, 16, async (b) => (runs++, keepAt(b)), { known: new Map([[current, false]]) });
  assert.deepEqual([found.budget, found.exact], [first, true]);
  assert.equal(runs, found.runs);
  assert.ok(found.checked.some(([b, kept]) => b === current && !kept), 'the known run at the current budget is among the checked');
  assert.equal(found.checked.filter(([b]) => b === current).length, 1, 'and was not re-run');

  const d = decideToken(sourceFromResult(atCurrent, [4, 4]), t, { budget: current, searched: found });
  assert.equal(d.kept, false);
  assert.deepEqual([d.counterfactual.kind, d.counterfactual.budget], ['search', first]);
  assert.deepEqual(d.counterfactual.search, { exact: true, droppedAt: current, current: { budget: current, kept: false } });
  assert.equal(d.counterfactual.note, `kept at ${first} (smallest: every smaller budget re-run); not monotone — dropped at ${current} (current)`);
  assert.doesNotMatch(d.counterfactual.note, /kept from/);

  // Without drop evidence it says what was not checked; the current budget kept is reported as such.
  const keptNow = prune(c.bundle, 'f3a', getMethod('f3a').budgetParams(16, 16, {}) ?? {});
  const onlyTop = decideToken(sourceFromResult(keptNow, [4, 4]), t, { budget: 16, searched: { budget: first, note: '', exact: false, checked: [[16, true]] } });
  assert.equal(onlyTop.counterfactual.note, `kept at ${first} (smallest found; smaller budgets not all re-run); kept at 16 (current); larger budgets not all re-run (the method need not be monotone)`);
  assert.deepEqual(onlyTop.counterfactual.search, { exact: false, droppedAt: null, current: { budget: 16, kept: true } });
});
