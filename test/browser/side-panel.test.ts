/**
 * The inspector panel and the Decisions side view together, as in VS Code: the bundled extension host
 * (dist/extension.cjs, against the recording `vscode` stand-in) analyses a photo with the probe model, and
 * both webview bundles run in headless Chromium under the exact pages and CSP the host writes. Messages
 * travel host ⇄ page as they do in VS Code (ArrayBuffers included). A token locked in the panel must show,
 * in the side view, every method's decision as the decisions core computes it; stepping through
 * disagreements moves the panel's lock; the CSV export has the documented columns and the core's values.
 *   node --import tsx --test test/browser/side-panel.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Analysis, AnalysisEntry } from '../../extension/core/analysis.ts';
import { decisionsToCsv } from '../../extension/core/decisions/csv.ts';
import { disagreements, stepDisagreement } from '../../extension/core/decisions/disagreements.ts';
import { decisionRows } from '../../extension/host/decisions-model.ts';
import { Session } from '../../extension/host/session.ts';
import { loadSession, outcomeFromSaved } from '../../extension/host/store.ts';
import { unpackAnalysis, type DecisionsViewState, type HostToWebview, type TokenDecision } from '../../extension/protocol.ts';
import * as fake from '../helpers/fake-vscode.ts';
import { loadBundledExtension, type BundledExtension } from '../helpers/host-bundle.ts';
import { collectProblems, launchChromium } from '../helpers/browser.ts';
import { PHOTOS_DIR, REPO } from '../helpers/paths.ts';
import { until } from '../helpers/wait.ts';

const SHOTS = join(REPO, 'test-output', 'screenshots');
const CDN = 'https://fake.vscode-cdn.net';
const PHOTO = join(PHOTOS_DIR, 'chelsea.png');
const QUESTION = 'where is the cat?';

type Ok = Extract<AnalysisEntry, { status: 'ok' }>;

const storage = mkdtempSync(join(tmpdir(), 'prunelens-side-'));
const { recorder } = fake;
const ctx = fake.extensionContext(storage);
let ext: BundledExtension;
let browser: Browser;
let panelPage: Page;
let sidePage: Page;
let panel: fake.FakePanel;
let view: fake.FakeView;
let analysis: Analysis;
/** The same analysis, rebuilt from what the host saved, explained by the decisions core in this process. */
let core: Session;
const problems: string[] = [];

// ------------------------------------------------------------------ the bridge (what VS Code does)

type Wire = unknown;

/** ArrayBuffers → {__ab: base64} so they survive page.evaluate / exposeFunction; everything else as is. */
function toWire(x: unknown): Wire {
  if (x instanceof ArrayBuffer) return { __ab: Buffer.from(x).toString('base64') };
  if (Array.isArray(x)) return x.map(toWire);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, toWire(v)]));
  return x;
}

function fromWire(x: Wire): unknown {
  if (Array.isArray(x)) return x.map(fromWire);
  if (x && typeof x === 'object') {
    const ab = (x as { __ab?: unknown }).__ab;
    if (typeof ab === 'string') {
      const b = Buffer.from(ab, 'base64');
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    }
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, fromWire(v)]));
  }
  return x;
}

/** In the page, before its scripts: the VS Code API as VS Code declares it (a global const), over the bridge. */
const PAGE_API = `
const __fromWire = (x) => {
  if (Array.isArray(x)) return x.map(__fromWire);
  if (x && typeof x === 'object') {
    if (typeof x.__ab === 'string') return Uint8Array.from(atob(x.__ab), (c) => c.charCodeAt(0)).buffer;
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, __fromWire(v)]));
  }
  return x;
};
const __toWire = (x) => {
  if (x instanceof ArrayBuffer) { let s = ''; const b = new Uint8Array(x); for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192)); return { __ab: btoa(s) }; }
  if (Array.isArray(x)) return x.map(__toWire);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, __toWire(v)]));
  return x;
};
window.__deliver = (m) => window.postMessage(__fromWire(m), '*');
let __state;
const acquireVsCodeApi = () => ({ postMessage: (m) => window.__toHost(__toWire(m)), getState: () => __state, setState: (s) => { __state = s; } });
`;

/** Theme variables VS Code injects into webviews (a few, so screenshots look like the editor's dark theme). */
const THEME_CSS = `:root { --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-font-family: system-ui, sans-serif;
  --vscode-font-size: 13px; --vscode-errorForeground: #f48771; --vscode-list-hoverBackground: #2a2d2e; --vscode-list-inactiveSelectionBackground: #37373d;
  --vscode-input-background: #3c3c3c; --vscode-input-foreground: #cccccc; --vscode-button-secondaryBackground: #3a3d41;
  --vscode-button-secondaryForeground: #cccccc; --vscode-panel-border: #2b2b2b; --vscode-testing-iconPassed: #73c991; --vscode-testing-iconFailed: #f14c4c;
  --vscode-editor-background: #1e1e1e; --vscode-sideBar-background: #181818; }
body { background: var(--vscode-sideBar-background); }`;

/** Opens the page the host wrote for `webview` in Chromium and wires both directions. */
async function openWebview(webview: fake.FakeWebview, name: string, viewport: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
  collectProblems(page, problems, `${name}: `);
  // Host → page: every postMessage of the fake webview is delivered to the page, in order.
  const post = webview.postMessage.bind(webview);
  webview.postMessage = (m: unknown): Promise<boolean> => {
    void page.evaluate((w) => (window as unknown as { __deliver(m: unknown): void }).__deliver(w), toWire(m)).catch(() => undefined);
    return post(m);
  };
  // Page → host.
  await page.exposeFunction('__toHost', (m: Wire) => webview.send(fromWire(m)));
  await page.route(`${CDN}/**`, async (route) => {
    const file = normalize(decodeURIComponent(new URL(route.request().url()).pathname));
    if (file === '/theme.css') return route.fulfill({ status: 200, contentType: 'text/css', body: THEME_CSS });
    const allowed = [join(REPO, 'dist'), join(REPO, 'media')].some((root) => file.startsWith(`${root}/`));
    if (!allowed || !existsSync(file)) return route.fulfill({ status: 404, body: '' });
    await route.fulfill({ status: 200, contentType: file.endsWith('.js') ? 'text/javascript' : 'text/css', body: readFileSync(file) });
  });
  const html = webview.html;
  const nonce = /<script nonce="([^"]+)"/.exec(html)?.[1];
  assert.ok(nonce, `${name}: the host's page has a nonce'd script`);
  // The only additions: VS Code's own script (the API) and theme variables; the host's CSP is untouched.
  const page0 = html
    .replace('</head>', `  <link rel="stylesheet" href="${CDN}/theme.css">\n  </head>`)
    .replace('<body>', `<body class="vscode-dark">\n    <script nonce="${nonce}">${PAGE_API}</script>`);
  await page.route('https://webview.test/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: page0 }));
  await page.goto(`https://webview.test/${name}`);
  return page;
}

// ------------------------------------------------------------------ helpers


function hostState(): DecisionsViewState | undefined {
  const states = view.webview.posted.filter((m) => (m as { type?: string }).type === 'state') as { state: DecisionsViewState }[];
  return states.at(-1)?.state;
}

const ok = (method: string): Ok => {
  const e = analysis.results.find((r) => r.method === method);
  assert.ok(e && e.status === 'ok', method);
  return e;
};

/** The core's rows for the token, with what the host computes on a lock (pick orders of greedy methods that drop it). */
async function coreRows(token: number, budget: number): Promise<TokenDecision[]> {
  core.locked = token;
  core.setPanelBudget(budget);
  for (const src of core.sources()) if (!src.keep.includes(token)) await core.ensureFullOrder(src.method);
  return decisionRows(core, token);
}

interface ShownRow {
  method: string;
  cells: string[];
}

async function shownRows(): Promise<ShownRow[]> {
  return sidePage.$$eval('[data-testid="decision-row"]', (trs) => trs.map((tr) => ({ method: (tr as HTMLElement).dataset.method ?? '', cells: Array.from(tr.querySelectorAll('td'), (td) => (td.textContent ?? '').trim()) })));
}

/** Every method's row as shown = the core's decision, and consistent with the method's own result. */
async function checkRows(token: number, expected: readonly TokenDecision[], budget: number): Promise<void> {
  await until(`side view rows for token ${token}`, () => hostState()?.token === token && JSON.stringify(hostState()?.rows) === JSON.stringify(expected));
  await sidePage.waitForFunction((t) => (document.querySelector('[data-testid="token-heading"]')?.textContent ?? '').includes(`Token #${t} `), token);
  const rows = await shownRows();
  const ran = analysis.results.filter((e) => e.status === 'ok').map((e) => e.method);
  assert.deepEqual(
    rows.map((r) => r.method),
    ran,
    'one row for every method that ran',
  );
  for (const [i, r] of rows.entries()) {
    const d = expected[i];
    const e = ok(r.method);
    const [, decision, score, rank, keepFrom, reason] = r.cells;
    assert.equal(decision, d.kept ? 'kept' : 'dropped', r.method);
    assert.equal(rank, d.rank === null ? '—' : `${d.rank + 1}/${d.population}`, r.method);
    assert.equal(reason, d.reason, r.method);
    assert.ok(reason.length > 10, `${r.method}: a reason in words`);
    if (d.counterfactual.budget !== null) assert.equal(keepFrom, String(d.counterfactual.budget), r.method);
    // Consistent with the method's own result (the entry the panel draws).
    const s = e.display.scores?.[token];
    if (s === undefined || s === null || !Number.isFinite(s)) assert.equal(score, '—', r.method);
    else assert.ok(Math.abs(Number(score) - s) <= 5e-3 * Math.max(1e-12, Math.abs(s)) || Number(score) === s, `${r.method}: score ${score} vs ${s}`);
    if (d.selection === 'ranked' && d.rank !== null) {
      assert.equal(d.kept, d.rank < budget, `${r.method}: ranked decision at budget ${budget}`);
      assert.equal(d.counterfactual.budget, d.rank + 1, `${r.method}: counterfactual = rank + 1`);
    }
    if (budget === analysis.budget) assert.equal(d.kept, e.keep.includes(token), `${r.method}: kept as in its result`);
    if (/^(divprune|cdpruner)$/.test(r.method)) {
      const order = (e as unknown as { order?: number[] }).order ?? [];
      if (d.kept) assert.equal(d.counterfactual.budget, order.indexOf(token) + 1, `${r.method}: picked at step ${order.indexOf(token) + 1}`);
      else assert.ok(d.counterfactual.kind === 'step' && (d.counterfactual.budget ?? 0) > order.length, `${r.method}: picked after the first ${order.length}`);
    }
  }
}

function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      out.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return out;
}

/** The CSV columns as docs/DECISIONS.md documents them. */
function documentedColumns(): string[] {
  const doc = readFileSync(join(REPO, 'docs', 'DECISIONS.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Decision table columns'));
  return [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
}

// ------------------------------------------------------------------ set-up

before(async () => {
  execFileSync('node', ['esbuild.mjs'], { cwd: REPO, stdio: 'inherit' });
  mkdirSync(SHOTS, { recursive: true });
  ext = loadBundledExtension();
  ext.activate(ctx);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const d of ctx.subscriptions) d.dispose();
  await ext?.deactivate();
  rmSync(storage, { recursive: true, force: true });
});

test('a probe analysis of a photo opens in the panel page and the side view lists it', async () => {
  recorder.questions.push(QUESTION);
  await recorder.commands.get('prunelens.analyzeImage')?.(fake.Uri.file(PHOTO));
  assert.deepEqual(recorder.errors, []);
  panel = recorder.panels[0];
  panelPage = await openWebview(panel.webview, 'panel', { width: 1280, height: 900 });
  await panelPage.waitForSelector('body[data-pl-image="loaded"]', { timeout: 20_000 });
  const init = panel.webview.posted.find((m): m is Extract<HostToWebview, { type: 'init' }> => (m as { type?: string }).type === 'init');
  assert.ok(init);
  analysis = unpackAnalysis(init.analysis, init.scores);
  assert.equal(analysis.n, 576);

  view = new fake.FakeView();
  // Wrapped before the host resolves the view, so its first state reaches the page.
  sidePage = await (async () => {
    recorder.viewProviders.get('prunelens.decisions')?.resolveWebviewView(view);
    return openWebview(view.webview, 'decisions', { width: 460, height: 1100 });
  })();
  await sidePage.waitForSelector('[data-testid="analysis-item"]');
  assert.match((await sidePage.textContent('[data-testid="analysis-item"]')) ?? '', /chelsea\.png.*where is the cat\?/);
  await sidePage.waitForFunction(() => (document.querySelector('[data-testid="analysis-thumbnail"]') as HTMLImageElement | null)?.naturalWidth === 64);

  // The decisions core, independently: the same analysis and bundle, as the host saved them.
  const rec = await until('saved session', () => (ctx.workspaceState.get<{ title: string; id: string }[]>('prunelens.panels') ?? []).find((r) => r.title === panel.title));
  const loaded = await until('saved files', () => existsSync(join(storage, 'global', 'analyses', rec.id, 'session.json')));
  assert.ok(loaded);
  const saved = await loadSession(join(storage, 'global', 'analyses'), rec.id);
  assert.ok(saved?.bundle);
  core = new Session(rec.id, panel.title, saved.saved.request, outcomeFromSaved(saved.saved, saved.bundle), saved.saved.createdAt);
});

let locked = -1;

test('lock a token in the panel: the side view shows every method’s decision as the decisions core computes it', async () => {
  const list = disagreements(core.sources());
  assert.ok(list.length > 2, 'the methods disagree on some tokens');
  // A token in the middle of the disagreement list, so stepping has somewhere to go.
  const target = list[Math.floor(list.length / 2)].index;
  const [rows, cols] = analysis.grid ?? [24, 24];
  const box = await panelPage.locator('[data-testid="heatmap-canvas"]').boundingBox();
  assert.ok(box);
  await panelPage.mouse.click(box.x + ((target % cols) + 0.5) * (box.width / cols), box.y + (Math.floor(target / cols) + 0.5) * (box.height / rows));
  await panelPage.waitForFunction((t) => new RegExp(`Locked: Token #${t}(?!\\d)`).test(document.querySelector('[data-testid="locked-token"]')?.textContent ?? ''), target);
  locked = target;
  await checkRows(target, await coreRows(target, analysis.budget), analysis.budget);
  assert.match((await sidePage.textContent('[data-testid="token-heading"]')) ?? '', new RegExp(`Token #${target} \\(row ${Math.floor(target / cols)}, col ${target % cols}\\) at budget ${analysis.budget}`));
  await sidePage.screenshot({ path: join(SHOTS, 'side-panel-locked.png'), fullPage: true });
  await panelPage.screenshot({ path: join(SHOTS, 'side-panel-with-inspector.png') });
});

test('step through disagreements: the lock moves (in the panel too) to the next token some methods keep and others drop', async () => {
  for (const direction of [1, 1, -1] as const) {
    const expected = stepDisagreement(disagreements(core.sources()), locked, direction);
    assert.ok(expected);
    await sidePage.click(`[data-testid="disagreement-${direction === 1 ? 'next' : 'prev'}"]`);
    await panelPage.waitForFunction((t) => new RegExp(`Locked: Token #${t}(?!\\d)`).test(document.querySelector('[data-testid="locked-token"]')?.textContent ?? ''), expected.index);
    const kept = analysis.results.filter((e): e is Ok => e.status === 'ok' && e.keep.includes(expected.index)).map((e) => e.method);
    const dropped = analysis.results.filter((e): e is Ok => e.status === 'ok' && !e.keep.includes(expected.index)).map((e) => e.method);
    assert.ok(kept.length > 0 && dropped.length > 0, `token ${expected.index}: kept by ${kept.join(',')}, dropped by ${dropped.join(',')}`);
    assert.deepEqual([expected.kept, expected.dropped], [kept, dropped]);
    if (direction === 1) assert.ok(expected.index > locked || expected.index === disagreements(core.sources())[0].index, 'the next one (wrapping at the end)');
    locked = expected.index;
    await checkRows(locked, await coreRows(locked, analysis.budget), analysis.budget);
    const decisions = (await shownRows()).map((r) => r.cells[1]);
    assert.ok(decisions.includes('kept') && decisions.includes('dropped'), decisions.join(','));
    assert.match((await sidePage.textContent('.pd-token')) ?? '', new RegExp(`As computed: kept by ${kept.join(', ')}; dropped by ${dropped.join(', ')}\\.`));
  }
  await sidePage.screenshot({ path: join(SHOTS, 'side-panel-disagreement.png'), fullPage: true });
});

test('export CSV: one row per method, the documented columns, the decisions core’s values', async () => {
  const csvPath = join(storage, 'out', 'decisions.csv');
  recorder.saveAnswers.push(fake.Uri.file(csvPath));
  await sidePage.click('[data-testid="export-csv"]');
  await until('csv written', () => existsSync(csvPath));
  const text = readFileSync(csvPath, 'utf8');
  const expectedRows = await coreRows(locked, analysis.budget);
  assert.equal(text, decisionsToCsv(locked, analysis.grid, expectedRows), 'byte for byte the core’s CSV');
  const table = parseCsv(text);
  const columns = documentedColumns();
  assert.equal(columns.length, 16);
  assert.deepEqual(table[0], columns, 'header = the columns docs/DECISIONS.md lists');
  assert.equal(table.length - 1, analysis.results.filter((e) => e.status === 'ok').length, 'one row per method');
  const [rows, cols] = analysis.grid ?? [0, 0];
  for (const [i, cells] of table.slice(1).entries()) {
    const r = Object.fromEntries(columns.map((c, j) => [c, cells[j]]));
    const d = expectedRows[i];
    const e = ok(d.method);
    assert.equal(r.method, d.method);
    assert.deepEqual([r.token, r.row, r.col], [String(locked), String(Math.floor(locked / cols)), String(locked % cols)]);
    assert.ok(rows > 0);
    assert.equal(r.kept, String(e.keep.includes(locked)), `${d.method}: kept as in its result`);
    assert.equal(r.budget, String(d.budget));
    assert.equal(r.score, d.score === null ? '' : String(d.score));
    if (d.score !== null) assert.equal(Number(r.score), e.display.scores?.[locked]);
    assert.equal(r.rank, d.rank === null ? '' : String(d.rank + 1));
    assert.equal(r.counterfactual_budget, d.counterfactual.budget === null ? '' : String(d.counterfactual.budget));
    assert.equal(r.counterfactual_kind, d.counterfactual.kind);
    assert.equal(r.counterfactual_note, d.counterfactual.note);
    assert.equal(r.reason, d.reason);
  }
  // JSON export: the same rows.
  const jsonPath = join(storage, 'out', 'decisions.json');
  recorder.saveAnswers.push(fake.Uri.file(jsonPath));
  await sidePage.click('[data-testid="export-json"]');
  await until('json written', () => existsSync(jsonPath));
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as { token: number; rows: TokenDecision[] };
  assert.equal(json.token, locked);
  assert.deepEqual(json.rows, JSON.parse(JSON.stringify(expectedRows)));
});

test('moving the panel’s budget (a ranked method, no re-run) moves the side view’s decisions with it', async () => {
  await panelPage.locator('[data-testid="method-select"]').selectOption('gprune');
  const g = (await coreRows(locked, analysis.budget)).find((d) => d.method === 'gprune');
  assert.ok(g && g.rank !== null);
  // The budget at which G-Prune's decision for the locked token flips.
  const flip = g.kept ? Math.max(1, g.rank) : g.rank + 1;
  await panelPage.locator('[data-testid="budget-input"]').fill(String(flip));
  await panelPage.locator('[data-testid="budget-input"]').dispatchEvent('change');
  await until('budget reached the host', () => hostState()?.budget === flip);
  const expected = await coreRows(locked, flip);
  await checkRows(locked, expected, flip);
  const row = (await shownRows()).find((r) => r.method === 'gprune');
  assert.equal(row?.cells[1], g.kept ? 'dropped' : 'kept', `G-Prune rank ${g.rank + 1}: at budget ${flip} the decision flips`);
  assert.match((await sidePage.textContent('[data-testid="token-heading"]')) ?? '', new RegExp(`at budget ${flip}$`));
  await sidePage.screenshot({ path: join(SHOTS, 'side-panel-budget.png'), fullPage: true });
  assert.deepEqual(problems, [], 'no CSP violations or script errors in either page');
});
