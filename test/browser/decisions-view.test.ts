/**
 * The Decisions side view bundle (dist/decisions.js) in headless Chromium under the host's CSP, with
 * `acquireVsCodeApi` declared the way VS Code declares it (a global const): it renders the state the host
 * computes for a real analysis and posts the user's actions back.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import type { Browser } from 'playwright-core';
import { AnalysisCache } from '../../extension/core/analyze/cache.ts';
import { runAnalysis } from '../../extension/core/analyze/pipeline.ts';
import type { AnalyzeRequest } from '../../extension/core/analyze/types.ts';
import { decisionsState } from '../../extension/host/decisions-model.ts';
import { Session } from '../../extension/host/session.ts';
import { thumbnailDataUrl } from '../../extension/host/thumbnail.ts';
import type { DecisionsViewState } from '../../extension/protocol.ts';
import { collectProblems, launchChromium } from '../helpers/browser.ts';
import { servePage, type PageServer } from '../helpers/page-server.ts';
import { ORACLE_DIR, PHOTOS_DIR, REPO } from '../helpers/paths.ts';

const SHOTS = join(REPO, 'test-output', 'decisions-view');
let browser: Browser;
let server: PageServer;
let state: DecisionsViewState;

const NONCE = 'testNonce123';
// VS Code injects the API as a top-level const in its own script; this page does the same.
const API = `const acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => window.__state, setState: (s) => { window.__state = s; } }); window.__posted = [];`;

// The --vscode-* variables VS Code injects into a side-bar webview (a few of each theme), by body class.
const THEME_CSS = `
body.vscode-dark { --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-errorForeground: #f48771; --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px;
  --vscode-panel-border: #2b2b2b; --vscode-focusBorder: #0078d4; --vscode-button-secondaryBackground: #313131; --vscode-button-secondaryForeground: #cccccc; --vscode-button-secondaryHoverBackground: #3c3c3c;
  --vscode-input-background: #313131; --vscode-input-foreground: #cccccc; --vscode-input-border: #3c3c3c; --vscode-list-hoverBackground: #2a2d2e; --vscode-list-inactiveSelectionBackground: #37373d;
  --vscode-testing-iconPassed: #73c991; --vscode-testing-iconFailed: #f14c4c; --vscode-editorWarning-foreground: #cca700; --vscode-badge-background: #616161; --vscode-badge-foreground: #f8f8f8; background: #181818; }
body.vscode-light { --vscode-foreground: #3b3b3b; --vscode-descriptionForeground: #717171; --vscode-errorForeground: #a1260d; --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px;
  --vscode-panel-border: #e5e5e5; --vscode-focusBorder: #005fb8; --vscode-button-secondaryBackground: #e5e5e5; --vscode-button-secondaryForeground: #3b3b3b; --vscode-button-secondaryHoverBackground: #cccccc;
  --vscode-input-background: #ffffff; --vscode-input-foreground: #3b3b3b; --vscode-input-border: #cecece; --vscode-list-hoverBackground: #f2f2f2; --vscode-list-inactiveSelectionBackground: #e4e6f1;
  --vscode-testing-iconPassed: #388a34; --vscode-testing-iconFailed: #e51400; --vscode-editorWarning-foreground: #bf8803; --vscode-badge-background: #cccccc; --vscode-badge-foreground: #3b3b3b; background: #f8f8f8; }
body.vscode-high-contrast { --vscode-foreground: #ffffff; --vscode-descriptionForeground: #ffffff; --vscode-errorForeground: #f48771; --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px;
  --vscode-panel-border: #6fc3df; --vscode-focusBorder: #f38518; --vscode-contrastBorder: #6fc3df; --vscode-contrastActiveBorder: #f38518; --vscode-button-secondaryBackground: #000000; --vscode-button-secondaryForeground: #ffffff; --vscode-button-border: #6fc3df;
  --vscode-input-background: #000000; --vscode-input-foreground: #ffffff; --vscode-input-border: #6fc3df; --vscode-list-inactiveSelectionBackground: #000000;
  --vscode-testing-iconPassed: #73c991; --vscode-testing-iconFailed: #f14c4c; --vscode-editorWarning-foreground: #ffd370; --vscode-badge-background: #000000; --vscode-badge-foreground: #ffffff; background: #000000; }
`;

before(async () => {
  await esbuild.build({ entryPoints: [join(REPO, 'webview/decisions.ts')], bundle: true, platform: 'browser', format: 'iife', target: 'es2022', outfile: join(REPO, 'dist/decisions.js'), logLevel: 'warning' });
  mkdirSync(SHOTS, { recursive: true });
  const req: AnalyzeRequest = { image: null, bundlePath: join(ORACLE_DIR, 'oracle_f03_8x8x32.npz'), question: '', model: null, methods: 'all', budget: null, params: {}, provider: 'cpu', threads: 0, codebookPath: null };
  const s = new Session('sess_browser', 'PruneLens: oracle_f03_8x8x32.npz', req, await runAnalysis(req, {}, { cache: new AnalysisCache() }), new Date().toISOString());
  s.locked = 19;
  s.thumbnail = await thumbnailDataUrl(join(PHOTOS_DIR, 'chelsea.png'));
  state = decisionsState([s], s.id);
  server = await servePage({
    script: '/dist/decisions.js',
    styles: ['/test-theme.css', '/media/decisions.css'],
    api: API,
    nonce: NONCE,
    title: 'Decisions',
    files: { '/dist/decisions.js': join(REPO, 'dist/decisions.js'), '/media/decisions.css': join(REPO, 'media/decisions.css'), '/test-theme.css': { css: THEME_CSS } },
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('renders every method row for the locked token and posts lock / step / search / export', async () => {
  const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
  const problems = collectProblems(page);
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
  await page.evaluate((s) => window.postMessage({ type: 'state', state: s }, '*'), state);
  await page.waitForSelector('[data-testid="decision-row"]');

  const rows = await page.$$eval('[data-testid="decision-row"]', (trs) =>
    trs.map((tr) => ({ method: (tr as HTMLElement).dataset.method, cells: Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '') })),
  );
  assert.deepEqual(
    rows.map((r) => r.method),
    state.rows.map((r) => r.method),
  );
  for (const [i, r] of rows.entries()) {
    const d = state.rows[i];
    assert.equal(r.cells[1], d.kept ? 'kept' : 'dropped', d.method);
    assert.equal(r.cells[3], d.rank === null ? '—' : `${d.rank + 1}/${d.population}`);
    assert.equal(r.cells[5], d.reason);
    if (d.counterfactual.budget !== null) assert.equal(r.cells[4], String(d.counterfactual.budget));
  }
  assert.match((await page.textContent('[data-testid="token-heading"]')) ?? '', /Token #19 \(row 2, col 3\)/);
  // The thumbnail (a data: URL) loads under the view's CSP and is at most 64 px a side.
  await page.waitForFunction(() => (document.querySelector('[data-testid="analysis-thumbnail"]') as HTMLImageElement | null)?.complete === true);
  const size = await page.$eval('[data-testid="analysis-thumbnail"]', (img) => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight]);
  assert.equal(Math.max(...size), 64, `thumbnail ${size.join('×')}`);
  assert.match((await page.textContent('[data-testid="disagreement-count"]')) ?? '', new RegExp(`^${state.disagreements.count} disagreement`));
  await page.screenshot({ path: join(SHOTS, 'decisions.png'), fullPage: true });

  await page.fill('[data-testid="token-input"]', '3,4');
  await page.press('[data-testid="token-input"]', 'Enter');
  await page.fill('[data-testid="token-input"]', '99');
  await page.click('[data-testid="token-lock"]');
  await page.click('[data-testid="disagreement-next"]');
  await page.click('[data-testid="export-csv"]');
  const findable = state.rows.find((d) => d.counterfactual.budget === null && state.searchable.includes(d.method));
  if (findable) await page.click(`[data-testid="find-${findable.method}"]`);
  await page.click('[data-testid="analysis-item"]');
  const posted = await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted);
  const expected: unknown[] = [{ type: 'ready' }, { type: 'lock', index: 28 }, { type: 'step', direction: 1 }, { type: 'export', format: 'csv' }];
  if (findable) expected.push({ type: 'search', method: findable.method });
  expected.push({ type: 'select', id: 'sess_browser' });
  assert.deepEqual(posted, expected, '99 is out of range and is not posted');
  assert.match((await page.textContent('.pd-error')) ?? '', /row,col within 8×8/);
  assert.deepEqual(problems, [], 'no CSP violations or script errors');
  await page.close();
});

/** A session where F³A keeps a token at a small budget, drops it at the current (larger) one, and was searched. */
async function searchedState(): Promise<{ state: DecisionsViewState; first: number; current: number }> {
  const req: AnalyzeRequest = { image: null, bundlePath: join(ORACLE_DIR, 'oracle_f03_8x8x32.npz'), question: '', model: null, methods: 'all', budget: null, params: {}, provider: 'cpu', threads: 0, codebookPath: null };
  const s = new Session('sess_search', 'PruneLens: oracle_f03_8x8x32.npz', req, await runAnalysis(req, {}, { cache: new AnalysisCache() }), new Date().toISOString(), new AnalysisCache());
  const sets = Array.from({ length: s.n }, (_, i) => new Set(s.rerun('f3a', i + 1).result?.keep ?? []));
  for (let t = 0; t < s.n; t++) {
    const first = sets.findIndex((k) => k.has(t)) + 1;
    const current = sets.findIndex((k, j) => first > 0 && j + 1 > first && !k.has(t)) + 1;
    if (first === 0 || current === 0) continue;
    s.setPanelBudget(current);
    for (const m of ['f3a', 'visionzip', 'tome', 'uniform']) s.rerun(m, current);
    s.locked = t;
    await s.search('f3a', t);
    return { state: decisionsState([s], s.id), first, current };
  }
  throw new Error('F³A is monotone on this bundle');
}

test('fits a 300 px side bar: no sideways scrolling, every cell and the whole reason visible, keyboard reachable, in each theme', async () => {
  const page = await browser.newPage({ viewport: { width: 300, height: 1000 } });
  const problems = collectProblems(page);
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
  const narrow = await searchedState();
  await page.evaluate((s) => window.postMessage({ type: 'state', state: s.state }, '*'), narrow);
  await page.waitForSelector('[data-testid="decision-row"]');
  // F³A's searched budget is the smallest found, and the current budget drops the token again.
  const f3a = page.locator('[data-testid="decision-row"][data-method="f3a"] .pd-cf');
  assert.equal(await f3a.locator('[data-testid="cf-budget"]').innerText(), String(narrow.first));
  assert.equal((await f3a.innerText()).replace(/\s+/g, ' ').trim(), `${narrow.first} (smallest) not monotone: dropped at ${narrow.current} (current)`);
  assert.equal(await f3a.getAttribute('title'), `kept at ${narrow.first} (smallest: every smaller budget re-run); not monotone — dropped at ${narrow.current} (current)`);
  for (const theme of ['dark', 'light', 'high-contrast'] as const) {
    await page.evaluate((t) => {
      document.body.className = `vscode-${t}`;
    }, theme);
    const fit = await page.evaluate(() => {
      const doc = document.documentElement;
      const out: string[] = [];
      if (doc.scrollWidth > doc.clientWidth) out.push(`page ${doc.scrollWidth} px wide in ${doc.clientWidth}`);
      for (const el of document.querySelectorAll('[data-testid="decision-row"] > *, [data-testid="decision-row"] button')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0) continue;
        if (r.left < 0 || r.right > doc.clientWidth) out.push(`${(el as HTMLElement).closest('tr')?.dataset.method} ${el.className || el.tagName}: ${Math.round(r.left)}–${Math.round(r.right)}`);
        if (el.scrollWidth > el.clientWidth + 1) out.push(`${(el as HTMLElement).closest('tr')?.dataset.method} ${el.className}: clipped (${el.scrollWidth} > ${el.clientWidth})`);
      }
      return out;
    });
    assert.deepEqual(fit, [], `${theme}: everything inside 300 px`);
    // Colours come from the theme: "kept" / "dropped" in its testing pass / fail colours.
    const colours = await page.$$eval('.pd-decision', (els) => els.map((e) => `${e.textContent} ${getComputedStyle(e).color}`));
    const want = { dark: ['rgb(115, 201, 145)', 'rgb(241, 76, 76)'], light: ['rgb(56, 138, 52)', 'rgb(229, 20, 0)'], 'high-contrast': ['rgb(115, 201, 145)', 'rgb(241, 76, 76)'] }[theme];
    assert.deepEqual(colours, narrow.state.rows.map((d) => (d.kept ? `kept ${want[0]}` : `dropped ${want[1]}`)), `${theme}: decision colours`);
    await page.screenshot({ path: join(REPO, 'test-output', 'screenshots', `decisions-300px-${theme}.png`), fullPage: true });
  }
  // Wider (the view moved to the bottom panel): a table again, the reason wrapping in its column.
  await page.setViewportSize({ width: 700, height: 1000 });
  const wide = await page.evaluate(() => ({
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    display: getComputedStyle(document.querySelector('[data-testid="decision-row"]') as Element).display,
    tops: new Set(Array.from(document.querySelectorAll('[data-testid="decision-row"]:first-child > td'), (td) => Math.round(td.getBoundingClientRect().top))).size,
  }));
  assert.deepEqual(wide, { overflow: 0, display: 'table-row', tops: 1 });
  await page.screenshot({ path: join(REPO, 'test-output', 'screenshots', 'decisions-700px-high-contrast.png'), fullPage: true });
  await page.setViewportSize({ width: 300, height: 1000 });
  // Each row still reads as a row of labelled cells for assistive technology.
  assert.equal(await page.getAttribute('[data-testid="decision-table"]', 'role'), 'table');
  const labels = await page.$$eval('[data-testid="decision-row"]:first-child > td', (tds) => tds.map((td) => td.getAttribute('data-label')));
  assert.deepEqual(labels, ['Method', 'Decision', 'Score', 'Rank', 'Keep from', 'Why']);
  // Keyboard: Tab reaches ToMe's Find button (not searched yet), Enter presses it.
  await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted.splice(0));
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'find-tome');
  }
  assert.ok(reached, 'Tab reaches the Find button');
  const box = await page.locator('[data-testid="find-tome"]').boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 300, 'the focused Find button is on screen');
  await page.keyboard.press('Enter');
  assert.deepEqual(await page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted), [{ type: 'search', method: 'tome' }]);
  assert.deepEqual(problems, []);
  await page.close();
});
