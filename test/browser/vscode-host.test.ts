/**
 * The same webview bundle in "VS Code mode": a page with a strict CSP and a fake `acquireVsCodeApi`
 * plays the extension host over the typed protocol (init with ArrayBuffer tensors, re-run replies,
 * failures, token locks). Every message the webview posts must pass the host's validator.
 *   node --import tsx --test test/browser/vscode-host.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import type { Analysis } from '../../extension/core/analysis.ts';
import { readBundle } from '../../extension/core/bundle/io.ts';
import { getMethod } from '../../extension/core/methods/registry.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { resultEntry as okEntry } from '../../extension/core/analyze/entries.ts';
import { validateWebviewMessage, PROTOCOL_VERSION } from '../../extension/protocol.ts';
import { launchChromium } from '../helpers/browser.ts';
import { ORACLE_DIR, REPO } from '../helpers/paths.ts';
import { oracleAnalysis, ORACLE_CASE } from './make-fixture.ts';

const OUT = join(REPO, 'test-output');

let browser: Browser;
let page: Page;
let analysis: Analysis;
const errors: string[] = [];

/** The fake host: records posted messages, answers `ready` with `init` (scores and image as ArrayBuffers). */
const FAKE_HOST = `
window.__posted = [];
window.__state = undefined;
const data = JSON.parse(document.getElementById('sim-data').textContent);
window.__host = (m) => window.dispatchEvent(new MessageEvent('message', { data: m }));
window.__toBuffer = (numbers) => Float64Array.from(numbers).buffer;
function sendInit() {
  const analysis = structuredClone(data.analysis);
  const scores = {};
  for (const e of analysis.results) {
    if (e.status === 'ok' && e.display.scores) { scores[e.method] = window.__toBuffer(e.display.scores); e.display.scores = null; }
  }
  const bytes = Uint8Array.from(atob(data.image), (c) => c.charCodeAt(0)).buffer;
  window.__host({ type: 'init', protocol: ${PROTOCOL_VERSION}, analysis, scores, image: { mime: 'image/png', bytes },
    capabilities: { rerun: true, loadCodebook: true, save: true } });
}
window.acquireVsCodeApi = () => ({
  postMessage: (m) => { window.__posted.push(m); if (m.type === 'ready') setTimeout(sendInit, 0); },
  getState: () => window.__state,
  setState: (s) => { window.__state = s; },
});
`;

async function settle(): Promise<void> {
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

const text = async (id: string): Promise<string> => (await page.locator(`[data-testid="${id}"]`).first().innerText()).trim();

/** Posted messages, with ArrayBuffers turned into byte arrays so they survive the trip to Node. */
async function posted(): Promise<Record<string, unknown>[]> {
  return page.evaluate(() =>
    (window as unknown as { __posted: Record<string, unknown>[] }).__posted.map((m) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(m)) out[k] = v instanceof ArrayBuffer ? { __bytes: Array.from(new Uint8Array(v)) } : v;
      return out;
    }),
  );
}

const revive = (m: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) {
    const b = (v as { __bytes?: number[] } | null)?.__bytes;
    out[k] = b ? Uint8Array.from(b).buffer : v;
  }
  return out;
};

/** A slider drag: several budgets in one burst inside the page, so a loaded machine cannot stretch the gaps past the debounce. */
async function dragBudget(ks: number[]): Promise<void> {
  await page.locator('[data-testid="budget-input"]').evaluate((el, values) => {
    const input = el as HTMLInputElement;
    for (const v of values) {
      input.value = String(v);
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }, ks);
  await settle();
}

async function setBudget(k: number): Promise<void> {
  await page.locator('[data-testid="budget-input"]').fill(String(k));
  await page.locator('[data-testid="budget-input"]').dispatchEvent('change');
  await settle();
}

before(async () => {
  await esbuild.build({ entryPoints: [join(REPO, 'webview/main.ts')], bundle: true, platform: 'browser', format: 'iife', target: 'es2022', outfile: join(REPO, 'dist/webview.js'), logLevel: 'warning' });
  const a = await oracleAnalysis();
  analysis = a.analysis;
  const nonce = randomBytes(16).toString('base64');
  const js = readFileSync(join(REPO, 'dist/webview.js'), 'utf8').replace(/<\/script/gi, '<\\/script');
  const css = readFileSync(join(REPO, 'media/webview.css'), 'utf8');
  const data = JSON.stringify({ analysis, image: Buffer.from(a.image).toString('base64') }).replace(/</g, '\\u003c');
  // The CSP the panel uses (ARCHITECTURE.md, webview conventions), with the page's own nonce.
  const csp = `default-src 'none'; img-src blob: data:; style-src 'nonce-${nonce}'; font-src 'none'; script-src 'nonce-${nonce}'`;
  const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}"><style nonce="${nonce}">${css}</style></head>
<body class="vscode-dark"><script type="application/json" id="sim-data">${data}</script><script nonce="${nonce}">${FAKE_HOST}</script><script nonce="${nonce}">${js}</script></body></html>`;
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, 'vscode-sim.html');
  writeFileSync(file, html);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`file://${file}`);
  await page.waitForSelector('body[data-pl-image="loaded"]', { timeout: 10_000 });
  await settle();
});

after(async () => {
  await browser?.close();
});

describe('webview inside a (simulated) VS Code host', () => {
  test('handshake: ready first, then init with ArrayBuffer scores drives the re-ranking', async () => {
    const all = await posted();
    assert.deepEqual(all[0], { type: 'ready', protocol: PROTOCOL_VERSION });
    assert.equal(all.filter((m) => m.type === 'ready').length, 1, 'ready is sent exactly once');
    assert.equal(await page.locator('[data-testid="theme-toggle"]').count(), 0, 'VS Code decides the theme');
    await page.locator('[data-testid="method-select"]').selectOption('gprune');
    const before = (await posted()).length;
    await dragBudget([180, 190, 200]);
    assert.equal(await text('kept-count'), '200');
    // G-Prune re-ranks here (no re-run), but the host still hears the settled budget, once, for the side view.
    await page.waitForTimeout(400);
    const after = (await posted()).slice(before);
    assert.deepEqual(after.filter((m) => m.type === 'budget'), [{ type: 'budget', budget: 200 }]);
    assert.deepEqual(after.filter((m) => m.type === 'rerun'), []);
  });

  test('a staged method re-runs in the host: one debounced request per settled budget, reply replaces the result', async () => {
    const start = (await posted()).length;
    await page.locator('[data-testid="method-select"]').selectOption('f3a');
    await page.waitForTimeout(400);
    // Showing F³A at budget 200 (computed at 144) asks the host for a run at 200 …
    const first = (await posted()).slice(start).filter((m) => m.type === 'rerun');
    assert.deepEqual(first.map((m) => [m.method, m.budget]), [['f3a', 200]]);
    assert.match(await text('stale-note'), /re-running f3a at budget 200… \(showing budget 144\)/);
    // … and a slider drag that settles on 150 sends one request and cancels the stale one.
    const before = (await posted()).length;
    await dragBudget([148, 149, 150]);
    await page.waitForTimeout(400);
    const after = (await posted()).slice(before);
    const reruns = after.filter((m) => m.type === 'rerun');
    assert.equal(reruns.length, 1, JSON.stringify(reruns));
    assert.equal(reruns[0].method, 'f3a');
    assert.equal(reruns[0].budget, 150);
    assert.deepEqual(after.filter((m) => m.type === 'cancel'), [{ type: 'cancel', requestId: first[0].requestId }]);
    assert.match(await text('stale-note'), /re-running f3a at budget 150/);
    const bundle = readBundle(join(ORACLE_DIR, `${ORACLE_CASE}.npz`));
    const spec = getMethod('f3a');
    const r = prune(bundle, 'f3a', spec.budgetParams(150, 576, {}) ?? {});
    const entry = okEntry(spec, r, 1);
    const scores = r.scores;
    await page.evaluate(
      ({ requestId, entry, scores }) => {
        const w = window as unknown as { __host: (m: unknown) => void; __toBuffer: (x: number[]) => ArrayBuffer };
        const e = entry as { display: { scores: unknown } };
        e.display.scores = null;
        w.__host({ type: 'entry', requestId, budget: 150, entry: e, scores: scores ? w.__toBuffer(scores) : null });
      },
      { requestId: reruns[0].requestId as number, entry: JSON.parse(JSON.stringify(entry)) as unknown, scores },
    );
    await settle();
    assert.equal(await text('kept-count'), '150');
    assert.equal(await page.locator('[data-testid="stale-note"]').count(), 0);
    await page.click('[data-testid="tab-f3a"]');
    await settle();
    assert.equal(await text('f3a-total'), '150');
    await page.click('[data-testid="tab-heatmap"]');
    await settle();
  });

  test('a failed re-run is reported in the view', async () => {
    const before = (await posted()).length;
    await setBudget(90);
    await page.waitForTimeout(400);
    const rerun = (await posted()).slice(before).find((m) => m.type === 'rerun');
    assert.ok(rerun);
    await page.evaluate((requestId) => (window as unknown as { __host: (m: unknown) => void }).__host({ type: 'requestFailed', requestId, message: 'F³A needs a grid.' }), rerun.requestId as number);
    await settle();
    assert.match(await text('stale-note'), /re-run at budget 90 failed: F³A needs a grid\./);
  });

  test('token locks go both ways; malformed host messages are logged, not fatal', async () => {
    const box = await page.locator('[data-testid="heatmap-canvas"]').boundingBox();
    assert.ok(box);
    await page.mouse.click(box.x + (3 + 0.5) * (box.width / 24), box.y + 0.5 * (box.width / 24));
    await settle();
    const locked = (await posted()).filter((m) => m.type === 'tokenLocked').pop();
    assert.deepEqual(locked, { type: 'tokenLocked', index: 3, method: 'f3a' });
    await page.evaluate(() => (window as unknown as { __host: (m: unknown) => void }).__host({ type: 'lockToken', index: 100 }));
    await settle();
    assert.match(await text('locked-token'), /Locked: Token #100\b/);
    await page.evaluate(() => (window as unknown as { __host: (m: unknown) => void }).__host({ type: 'entry', requestId: 1, budget: 3, entry: {}, scores: [1, 2] }));
    await settle();
    const log = (await posted()).filter((m) => m.type === 'log').pop();
    assert.match(String(log?.message), /ignored a host message: entry scores must be an ArrayBuffer/);
    assert.equal(await text('kept-count'), '150', 'the last good F³A result (budget 150) is still shown');
  });

  test('export goes to the host as an ArrayBuffer; every posted message passes the host validator', async () => {
    await page.click('[data-testid="export-png"]');
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'export'));
    const exp = revive((await posted()).filter((m) => m.type === 'export').pop() ?? {});
    assert.equal(exp.format, 'png');
    assert.deepEqual([...new Uint8Array(exp.data as ArrayBuffer).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    // Every message the webview sent is accepted by the host's validator.
    for (const m of await posted()) {
      const v = validateWebviewMessage(revive(m));
      assert.ok(v.ok, `${String(m.type)}: ${v.ok ? '' : v.reason}`);
    }
    const state = await page.evaluate(() => (window as unknown as { __state: { budget: number; locked: number } }).__state);
    assert.equal(state.budget, 90, 'UI state persisted through setState');
    assert.equal(state.locked, 100);
    assert.deepEqual(errors, []);
  });

  test('shown again (page discarded while hidden): the restored budget is re-run and reported without user input', async () => {
    const before = (await posted()).length;
    // VS Code reloads a hidden panel's page; the host answers its ready with the analysis at budget 144.
    await page.evaluate(() => (window as unknown as { sendInit: () => void }).sendInit());
    await page.waitForTimeout(400);
    await settle();
    const after = (await posted()).slice(before);
    assert.equal(await page.inputValue('[data-testid="budget-input"]'), '90', 'budget restored from setState');
    assert.deepEqual(after.filter((m) => m.type === 'rerun').map((m) => [m.method, m.budget]), [['f3a', 90]]);
    assert.deepEqual(after.filter((m) => m.type === 'budget'), [{ type: 'budget', budget: 90 }]);
    assert.match(await text('stale-note'), /re-running f3a at budget 90… \(showing budget 144\)/);
    for (const m of after) assert.ok(validateWebviewMessage(revive(m)).ok, String(m.type));
    assert.deepEqual(errors, []);
  });
});
