import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AnalysisCache } from '../../extension/core/analyze/cache.ts';
import { runAnalysis } from '../../extension/core/analyze/pipeline.ts';
import type { AnalyzeRequest } from '../../extension/core/analyze/types.ts';
import { decideToken } from '../../extension/core/decisions/decide.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { getMethod } from '../../extension/core/methods/registry.ts';
import { ranksOf } from '../../extension/core/numeric/ranking.ts';
import { decisionRows, decisionsState } from '../../extension/host/decisions-model.ts';
import { outcomeLog } from '../../extension/host/log-lines.ts';
import { Session } from '../../extension/host/session.ts';
import { addRecord, findRecord, loadSession, outcomeFromSaved, pruneSessions, saveSession, type SavedSession } from '../../extension/host/store.ts';
import { ORACLE_DIR } from '../helpers/paths.ts';

const request = (name: string, extra: Partial<AnalyzeRequest> = {}): AnalyzeRequest => ({
  image: null,
  bundlePath: join(ORACLE_DIR, `${name}.npz`),
  question: '',
  model: null,
  methods: 'all',
  budget: null,
  params: {},
  provider: 'cpu',
  threads: 0,
  codebookPath: null,
  ...extra,
});

async function session(name: string, extra: Partial<AnalyzeRequest> = {}): Promise<Session> {
  const req = request(name, extra);
  const outcome = await runAnalysis(req, {}, { cache: new AnalysisCache() });
  return new Session('sess_0001', `PruneLens: ${name}.npz`, req, outcome, '2025-01-01T00:00:00.000Z', new AnalysisCache());
}

test('a re-run replaces the method for decisions but the baseline analysis the panel loads stays at one budget', async () => {
  const s = await session('oracle_f03_8x8x32');
  const k0 = s.analysis.budget;
  const before = s.analysis.results.find((e) => e.method === 'f3a');
  assert.ok(before?.status === 'ok');
  const r = s.rerun('f3a', 20);
  assert.equal(r.entry.status, 'ok');
  assert.equal(r.entry.status === 'ok' && r.entry.keep.length, 20);
  assert.equal(s.budget, 20);
  assert.equal(s.result('f3a')?.keep.length, 20);
  assert.equal(s.analysis.budget, k0);
  assert.deepEqual(s.analysis.results.find((e) => e.method === 'f3a'), before, 'baseline untouched');
  assert.throws(() => s.rerun('f3a', 65), /Budget must be a whole number of tokens from 1 to 64/);

  // Decision rows follow the latest results and the panel's budget.
  const token = s.result('f3a')?.keep[0] ?? 0;
  const rows = decisionRows(s, token);
  assert.equal(rows.find((d) => d.method === 'f3a')?.kept, true);
  const g = s.result('gprune');
  assert.ok(g?.scores);
  const rank = ranksOf(g.scores)[token];
  assert.equal(rows.find((d) => d.method === 'gprune')?.kept, rank < 20, 'ranked methods evaluated at the panel budget');

  s.locked = token;
  const state = decisionsState([s], s.id);
  assert.equal(state.token, token);
  assert.equal(state.rows.length, s.sources().length);
  assert.deepEqual(state.analyses.map((a) => [a.id, a.active, a.source, a.n]), [['sess_0001', true, 'oracle_f03_8x8x32.npz', 64]]);
  assert.ok(state.searchable.includes('f3a') && state.searchable.includes('tome'));
  assert.ok(!state.searchable.includes('gprune') && !state.searchable.includes('divprune'));
  assert.ok(state.disagreements.count > 0);
  const empty = decisionsState([], null);
  assert.match(empty.message ?? '', /Analyze Visual Tokens/);
});

test('full pick orders give dropped tokens of greedy methods their step; search finds re-run budgets', async () => {
  const s = await session('oracle_f01_4x4x8');
  const div = s.result('divprune');
  assert.ok(div);
  const dropped = Array.from({ length: s.n }, (_, i) => i).find((i) => !div.keep.includes(i));
  assert.ok(dropped !== undefined);
  s.locked = dropped;
  assert.equal(decisionRows(s, dropped).find((d) => d.method === 'divprune')?.counterfactual.kind, 'rerun');
  assert.equal(await s.ensureFullOrder('divprune'), true);
  assert.equal(await s.ensureFullOrder('divprune'), false, 'computed once');
  const cf = decisionRows(s, dropped).find((d) => d.method === 'divprune')?.counterfactual;
  assert.equal(cf?.kind, 'step');
  const full = s.fullOrders.get('divprune') ?? [];
  assert.equal(full.length, 16);
  assert.equal(cf?.budget, full.indexOf(dropped) + 1);
  // The step is the budget a real re-run keeps it from.
  const b = cf?.budget ?? 0;
  assert.ok(s.rerun('divprune', b).result?.keep.includes(dropped));
  if (b > 1) assert.ok(!s.rerun('divprune', b - 1).result?.keep.includes(dropped));

  // F³A: search by re-running; the answer is stored and shown as the counterfactual.
  const f3aDropped = Array.from({ length: s.n }, (_, i) => i).find((i) => !s.result('f3a')?.keep.includes(i));
  assert.ok(f3aDropped !== undefined);
  const found = await s.search('f3a', f3aDropped);
  assert.equal(found.exact, true);
  assert.ok(found.budget !== null);
  assert.ok(prune(s.outcome.bundle, 'f3a', { B: found.budget }).keep.includes(f3aDropped));
  if (found.budget > 1) assert.ok(!prune(s.outcome.bundle, 'f3a', { B: found.budget - 1 }).keep.includes(f3aDropped));
  const row = decisionRows(s, f3aDropped).find((d) => d.method === 'f3a');
  assert.deepEqual([row?.counterfactual.kind, row?.counterfactual.budget], ['search', found.budget]);
  assert.equal(s.searching.size, 0);
  await assert.rejects(s.search('gprune', 0), /needs no re-runs/);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(s.search('tome', 0, ac.signal));
  assert.equal(s.searching.size, 0);
});

test('a codebook of the wrong width is reported by the codebook entry, not thrown', async () => {
  const s = await session('oracle_f03_8x8x32');
  const c = s.outcome.bundle.arrays.get('codebook');
  assert.ok(c);
  const wrong = { dtype: 'float32' as const, shape: [4, 5], data: new Float32Array(20).fill(1) };
  const arrays = new Map(s.outcome.bundle.arrays);
  arrays.set('codebook', wrong);
  const r = await s.withBundle({ arrays, meta: s.outcome.bundle.meta }, 'codebook:test', 'codebook');
  assert.notEqual(r.entry.status, 'ok');
  assert.match(r.entry.status !== 'ok' ? r.entry.reason : '', /width 5 but features have width 32/);
});

test('saved sessions round-trip (analysis, context, bundle) and explain like the live one', async () => {
  const root = mkdtempSync(join(tmpdir(), 'prunelens-store-'));
  try {
    const s = await session('oracle_f03_8x8x32');
    const saved: SavedSession = { version: 1, id: s.id, title: s.title, createdAt: s.createdAt, request: s.request, context: s.outcome.context, analysis: s.analysis };
    const { bundleSaved } = await saveSession(root, saved, s.outcome.bundle);
    assert.equal(bundleSaved, true);
    const loaded = await loadSession(root, s.id);
    assert.ok(loaded?.bundle);
    assert.deepEqual(loaded.saved, JSON.parse(JSON.stringify(saved)));
    const revived = new Session(s.id, s.title, loaded.saved.request, outcomeFromSaved(loaded.saved, loaded.bundle), s.createdAt);
    for (const t of [0, 17, 63]) {
      for (const src of s.sources()) {
        const other = revived.sources().find((x) => x.method === src.method);
        assert.ok(other, src.method);
        assert.deepEqual(decideToken(other, t), decideToken(src, t), `${src.method} token ${t}`);
      }
    }
    // A revived session re-runs from the saved bundle.
    assert.equal(revived.rerun('visionzip', 12).entry.status, 'ok');
    const vzParams = getMethod('visionzip').budgetParams(12, 64, s.result('visionzip')?.params ?? {});
    assert.ok(vzParams);
    assert.deepEqual(revived.result('visionzip')?.keep, prune(s.outcome.bundle, 'visionzip', vzParams).keep);
    assert.equal(revived.result('visionzip')?.keep.length, 12);

    assert.equal(await loadSession(root, '../etc'), null, 'ids are checked');
    assert.equal(await loadSession(root, 'missing_id'), null);
    mkdirSync(join(root, 'broken_id'));
    writeFileSync(join(root, 'broken_id', 'session.json'), '{"version":1}');
    assert.equal(await loadSession(root, 'broken_id'), null);

    // Pruning keeps listed and young sessions.
    const old = Date.now() / 1000 - 90 * 24 * 3600;
    utimesSync(join(root, 'broken_id'), old, old);
    utimesSync(join(root, s.id), old, old);
    assert.deepEqual(await pruneSessions(root, new Set([s.id]), 30 * 24 * 3600 * 1000), ['broken_id']);
    assert.ok(existsSync(join(root, s.id)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('panel records: newest per title wins, bounded, garbage ignored', () => {
  let recs = addRecord([], { title: 'PruneLens: a.png', id: 'id_aaaaaa1', createdAt: 't1' });
  recs = addRecord(recs, { title: 'PruneLens: b.png', id: 'id_bbbbbb1', createdAt: 't2' });
  recs = addRecord(recs, { title: 'PruneLens: a.png', id: 'id_aaaaaa2', createdAt: 't3' });
  assert.equal(findRecord(recs, 'PruneLens: a.png')?.id, 'id_aaaaaa2');
  assert.equal(findRecord(recs, 'PruneLens: b.png')?.id, 'id_bbbbbb1');
  assert.equal(recs.length, 2);
  assert.equal(findRecord([{ title: 3 }, null, 'x'], 'x'), null);
  let many: ReturnType<typeof addRecord> = [];
  for (let i = 0; i < 100; i++) many = addRecord(many, { title: `t${i}`, id: `id_${String(i).padStart(6, '0')}`, createdAt: '' });
  assert.equal(many.length, 60);
  assert.equal(many[0].title, 't99');
});

test('the output log says what ran, on which provider, how long', async () => {
  const s = await session('oracle_f03_8x8x32');
  const lines = outcomeLog(s.outcome, 123.456);
  assert.match(lines[0], /64 tokens \(8×8 grid\), budget 7, model .* on none; .*total 123\.5 ms/);
  assert.equal(lines.filter((l) => /^ {2}\w+: kept \d+ in [\d.]+ ms$/.test(l)).length, s.analysis.results.filter((e) => e.status === 'ok').length);
});

/** A token F³A keeps at some budget (`first`, the smallest) and drops again at a larger one (`current`). */
function nonMonotoneF3a(s: Session): { token: number; first: number; current: number } {
  // Every budget's kept set.
  const sets = Array.from({ length: s.n }, (_, i) => new Set(prune(s.outcome.bundle, 'f3a', getMethod('f3a').budgetParams(i + 1, s.n, {}) ?? {}).keep));
  for (let t = 0; t < s.n; t++) {
    const first = sets.findIndex((k) => k.has(t)) + 1;
    const current = sets.findIndex((k, j) => first > 0 && j + 1 > first && !k.has(t)) + 1;
    if (first > 0 && current > 0) return { token: t, first, current };
  }
  assert.fail('F³A is not monotone on this bundle');
}

test('the side view’s F³A search starts from the run at the current budget and says when that budget drops the token again', async () => {
  const s = await session('oracle_f01_4x4x8');
  const pick = nonMonotoneF3a(s);
  s.setPanelBudget(pick.current);
  s.rerun('f3a', pick.current);
  const found = await s.search('f3a', pick.token);
  assert.deepEqual([found.budget, found.exact], [pick.first, true]);
  assert.ok(found.checked.some(([b, kept]) => b === pick.current && !kept), 'the current run is part of the search');
  const row = decisionRows(s, pick.token).find((d) => d.method === 'f3a');
  assert.equal(row?.kept, false, `dropped at ${pick.current}`);
  assert.equal(row?.counterfactual.budget, pick.first);
  assert.equal(row?.counterfactual.note, `kept at ${pick.first} (smallest: every smaller budget re-run); not monotone — dropped at ${pick.current} (current)`);
  assert.deepEqual(row?.counterfactual.search?.current, { budget: pick.current, kept: false });
});

test('the search also checks the panel’s budget when the method’s result is from another one', async () => {
  const s = await session('oracle_f01_4x4x8');
  const pick = nonMonotoneF3a(s);
  // F³A last ran at the smallest budget (the panel moved on without re-running it, as when another method is shown).
  s.rerun('f3a', 1);
  s.setPanelBudget(pick.current);
  const found = await s.search('f3a', pick.token);
  assert.ok(found.checked.some(([b, kept]) => b === pick.current && !kept), 'the panel’s budget was checked');
  const row = decisionRows(s, pick.token).find((d) => d.method === 'f3a');
  assert.equal(row?.budget, 1, 'the row itself is still the result at budget 1');
  assert.deepEqual(row?.counterfactual.search?.current, { budget: pick.current, kept: false });
  assert.match(row?.counterfactual.note ?? '', new RegExp(`^kept at ${pick.first} \\(smallest: every smaller budget re-run\\); not monotone — dropped at ${pick.current} \\(current\\)`));
});
