/**
 * The Decisions side view bundle (dist/decisions.js) in headless Chromium under the host's CSP, with
 * `acquireVsCodeApi` declared the way VS Code declares it (a global const): it renders the state the host
 * computes for a real analysis and posts the user's actions back.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { AnalysisCache } from '../../extension/core/analyze/cache.ts';
import { runAnalysis } from '../../extension/core/analyze/pipeline.ts';
import type { AnalyzeRequest } from '../../extension/core/analyze/types.ts';
import { decisionsState } from '../../extension/host/decisions-model.ts';
import { pageHtml } from '../../extension/host/html.ts';
import { Session } from '../../extension/host/session.ts';
import { thumbnailDataUrl } from '../../extension/host/thumbnail.ts';
import type { DecisionsViewState } from '../../extension/protocol.ts';
import { ORACLE_DIR, PHOTOS_DIR, REPO } from '../helpers/paths.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(REPO, 'test-output', 'decisions-view');
let browser: Browser;
let server: Server;
let origin = '';
let state: DecisionsViewState;

const NONCE = 'testNonce123';
// VS Code injects the API as a top-level const in its own script; this page does the same.
const API = `const acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => window.__state, setState: (s) => { window.__state = s; } }); window.__posted = [];`;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium)`);
  await esbuild.build({ entryPoints: [join(REPO, 'webview/decisions.ts')], bundle: true, platform: 'browser', format: 'iife', target: 'es2022', outfile: join(REPO, 'dist/decisions.js'), logLevel: 'warning' });
  mkdirSync(SHOTS, { recursive: true });
  const req: AnalyzeRequest = { image: null, bundlePath: join(ORACLE_DIR, 'oracle_f03_8x8x32.npz'), question: '', model: null, methods: 'all', budget: null, params: {}, provider: 'cpu', threads: 0, codebookPath: null };
  const s = new Session('sess_browser', 'PruneLens: oracle_f03_8x8x32.npz', req, await runAnalysis(req, {}, { cache: new AnalysisCache() }), new Date().toISOString());
  s.locked = 19;
  s.thumbnail = await thumbnailDataUrl(join(PHOTOS_DIR, 'chelsea.png'));
  state = decisionsState([s], s.id);
  server = createServer((rq, res) => {
    const url = rq.url ?? '/';
    if (url === '/') {
      const page = pageHtml({ cspSource: origin, script: `${origin}/dist/decisions.js`, styles: [`${origin}/media/decisions.css`], nonce: NONCE, title: 'Decisions' });
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page.replace('<body>', `<body>\n    <script nonce="${NONCE}">${API}</script>`));
      return;
    }
    const file = url === '/dist/decisions.js' ? join(REPO, 'dist/decisions.js') : url === '/media/decisions.css' ? join(REPO, 'media/decisions.css') : null;
    if (!file) {
      // favicon.ico and anything else: nothing to load, and no 404 noise in the console.
      res.writeHead(204).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/css' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
});

after(async () => {
  await browser?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

test('renders every method row for the locked token and posts lock / step / search / export', async () => {
  const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${origin}/`);
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
