import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateDecisionsHostMessage, validateDecisionsMessage, validatePanelBudgetMessage, validateWebviewMessage, type DecisionsToHost } from '../../extension/protocol.ts';
import { parseTokenInput, tokenLabel } from '../../webview/decisions-input.ts';

test('decisions view messages: every valid shape round-trips unchanged through the validator', () => {
  const valid: DecisionsToHost[] = [
    { type: 'ready' },
    { type: 'select', id: 'AbC_12-x' },
    { type: 'lock', index: 0 },
    { type: 'lock', index: null },
    { type: 'step', direction: 1 },
    { type: 'step', direction: -1 },
    { type: 'search', method: 'f3a' },
    { type: 'export', format: 'csv' },
    { type: 'export', format: 'json' },
  ];
  for (const m of valid) {
    const v = validateDecisionsMessage(JSON.parse(JSON.stringify(m)));
    assert.ok(v.ok, JSON.stringify(m));
    assert.deepEqual(v.message, m);
  }
});

test('decisions view messages: malformed ones are rejected with a reason', () => {
  const bad: [unknown, RegExp][] = [
    [null, /not an object/],
    [[1], /not an object/],
    [{ type: 'nuke' }, /unknown message type "nuke"/],
    [{ type: 'ready', extra: 1 }, /unexpected field "extra"/],
    [{ type: 'select', id: '../../etc' }, /analysis id/],
    [{ type: 'select', id: 'x'.repeat(65) }, /analysis id/],
    [{ type: 'lock', index: -1 }, /token index/],
    [{ type: 'lock', index: 1.5 }, /token index/],
    [{ type: 'lock' }, /token index/],
    [{ type: 'step', direction: 2 }, /direction/],
    [{ type: 'search', method: 'F3A; rm -rf' }, /method id/],
    [{ type: 'export', format: 'xlsx' }, /csv or json/],
    [{ type: 'rerun', requestId: 1, method: 'f3a', budget: 3 }, /unknown message type/],
  ];
  for (const [m, why] of bad) {
    const v = validateDecisionsMessage(m);
    assert.equal(v.ok, false, JSON.stringify(m));
    if (!v.ok) assert.match(v.reason, why);
  }
});

test('the panel budget message is part of the inspector protocol and validated like the others', () => {
  assert.deepEqual(validatePanelBudgetMessage({ type: 'budget', budget: 64 }), { ok: true, message: { type: 'budget', budget: 64 } });
  assert.deepEqual(validateWebviewMessage({ type: 'budget', budget: 64 }), { ok: true, message: { type: 'budget', budget: 64 } });
  for (const m of [{ type: 'budget', budget: 0 }, { type: 'budget', budget: 2.5 }, { type: 'budget', budget: '3' }, { type: 'budget', budget: 3, x: 1 }, { type: 'ready', protocol: 1 }]) {
    assert.equal(validatePanelBudgetMessage(m).ok, false, JSON.stringify(m));
  }
  assert.equal(validateWebviewMessage({ type: 'budget', budget: 3, x: 1 }).ok, false);
});

test('host → decisions view: state messages pass, skewed ones are caught', () => {
  const state = { analyses: [], selected: null, grid: null, n: 0, token: null, budget: null, rows: [], disagreements: { count: 0, kept: [], dropped: [] }, searching: [], searchable: [], message: null };
  assert.equal(validateDecisionsHostMessage({ type: 'state', state }).ok, true);
  assert.equal(validateDecisionsHostMessage({ type: 'state', state: { ...state, rows: null } }).ok, false);
  assert.equal(validateDecisionsHostMessage({ type: 'init' }).ok, false);
});

test('typed tokens: index or row,col within the grid', () => {
  assert.equal(parseTokenInput('17', 64, [8, 8]), 17);
  assert.equal(parseTokenInput(' 2,3 ', 64, [8, 8]), 19);
  assert.equal(parseTokenInput('2 3', 64, [8, 8]), 19);
  assert.equal(parseTokenInput('8,0', 64, [8, 8]), null);
  assert.equal(parseTokenInput('0,8', 64, [8, 8]), null);
  assert.equal(parseTokenInput('64', 64, [8, 8]), null);
  assert.equal(parseTokenInput('1,1', 64, null), null);
  assert.equal(parseTokenInput('-1', 64, null), null);
  assert.equal(parseTokenInput('abc', 64, null), null);
  assert.equal(tokenLabel(19, [8, 8]), '#19 (row 2, col 3)');
  assert.equal(tokenLabel(19, null), '#19');
});
