/**
 * The inspector bundle (dist/webview.js) as the host serves it: the host's page and CSP, `acquireVsCodeApi`
 * declared the way VS Code declares it (a global const, not a globalThis property). The bundle must post
 * `ready`, accept the host's `init` (scores as ArrayBuffers) and draw, with no CSP violations.
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
import { packAnalysis, PROTOCOL_VERSION, type Analysis, type PackedScores } from '../../extension/protocol.ts';
import { collectProblems, launchChromium } from '../helpers/browser.ts';
import { servePage, type PageServer } from '../helpers/page-server.ts';
import { ORACLE_DIR, REPO } from '../helpers/paths.ts';

const NONCE = 'panelNonce42';
const API = `const acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => undefined, setState: () => {} }); window.__posted = [];`;
let browser: Browser;
let server: PageServer;
let packed: { analysis: Analysis; scores: PackedScores };

before(async () => {
  await esbuild.build({ entryPoints: [join(REPO, 'webview/main.ts')], bundle: true, platform: 'browser', format: 'iife', target: 'es2022', outfile: join(REPO, 'dist/webview.js'), logLevel: 'warning' });
  const req: AnalyzeRequest = { image: null, bundlePath: join(ORACLE_DIR, 'oracle_f03_8x8x32.npz'), question: '', model: null, methods: 'all', budget: null, params: {}, provider: 'cpu', threads: 0, codebookPath: null };
  packed = packAnalysis((await runAnalysis(req, {}, { cache: new AnalysisCache() })).analysis);
  server = await servePage({
    script: '/dist/webview.js',
    styles: ['/media/webview.css'],
    api: API,
    nonce: NONCE,
    title: 'PruneLens',
    files: { '/dist/webview.js': join(REPO, 'dist/webview.js'), '/media/webview.css': join(REPO, 'media/webview.css') },
  });
  mkdirSync(join(REPO, 'test-output', 'screenshots'), { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the inspector bundle finds the VS Code API, posts ready, and draws the analysis the host sends', async () => {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  const problems = collectProblems(page);
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'), undefined, { timeout: 10_000 });
  const ready = await page.evaluate(() => (window as unknown as { __posted: { type: string }[] }).__posted.filter((m) => m.type === 'ready'));
  assert.deepEqual(ready, [{ type: 'ready', protocol: PROTOCOL_VERSION }], 'exactly one ready');
  // ArrayBuffers survive postMessage's structured clone, as they do from the extension host.
  const arg = JSON.parse(
    JSON.stringify({ analysis: packed.analysis, scores: Object.fromEntries(Object.entries(packed.scores).map(([m, b]) => [m, Array.from(new Float64Array(b))])) }),
  ) as { analysis: unknown; scores: { [m: string]: number[] } };
  await page.evaluate(({ analysis, scores }) => {
    const bufs: { [m: string]: ArrayBuffer } = {};
    for (const [m, v] of Object.entries(scores)) bufs[m] = new Float64Array(v).buffer;
    window.postMessage({ type: 'init', protocol: 1, analysis, scores: bufs, image: null, capabilities: { rerun: true, loadCodebook: true, save: true } }, '*');
  }, arg);
  await page.waitForSelector('[data-testid="budget-slider"]', { timeout: 10_000 });
  assert.equal(await page.inputValue('[data-testid="budget-input"]'), String(packed.analysis.budget));
  // A bundle without an image: the page says so, and the heatmap still draws the 8×8 grid of scores.
  assert.equal(await page.getAttribute('body', 'data-pl-image'), 'none');
  // The heading names the bundle's file, not "no image".
  assert.equal((await page.textContent('[data-testid="panel-heading"]'))?.replace(/\s+/g, ' '), 'PruneLens — oracle_f03_8x8x32.npz (token bundle, no image)');
  assert.match((await page.textContent('[data-testid="no-image-note"]')) ?? '', /No image: this analysis comes from a token bundle, so the views draw the 8×8 token grid without a picture/);
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
  const colours = await page.$eval('[data-testid="heatmap-canvas"]', (c) => {
    const canvas = c as HTMLCanvasElement;
    const ctx = canvas.getContext('2d');
    if (!ctx) return -1;
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set<number>();
    // Cell centres of the 8×8 grid.
    for (let r = 0; r < 8; r++) {
      for (let q = 0; q < 8; q++) {
        const x = Math.floor(((q + 0.5) * canvas.width) / 8);
        const y = Math.floor(((r + 0.5) * canvas.height) / 8);
        const i = 4 * (y * canvas.width + x);
        seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      }
    }
    return seen.size;
  });
  assert.ok(colours >= 8, `the score heatmap has ${colours} distinct cell colours without an image`);
  await page.screenshot({ path: join(REPO, 'test-output', 'screenshots', 'bundle-without-image.png') });
  assert.deepEqual(problems, [], 'no CSP violations or script errors');
  await page.close();
});
