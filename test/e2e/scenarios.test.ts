/**
 * PruneLens in a real VS Code client: code-server with the extension installed from the freshly built VSIX,
 * driven through Debian's chromium. One server and one window for all scenarios (they run in order and
 * build on each other's panels, as a person's session would); each asserts what the user sees and what the
 * extension wrote to its output channel. Screenshots of every step go to test-output/e2e/.
 *   npm run e2e            (build → package → these scenarios)
 *   node test/e2e/run.mjs  (these scenarios against out/prunelens-linux-x64-<version>.vsix)
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { REPO, SHARED } from '../helpers/paths.ts';
import { extensionLog, harnessMissing, installVsix, makeRunDirs, removeRunDirs, startCodeServer, type CodeServer, type RunDirs } from './harness.ts';
import {
  answerQuickInput,
  contextMenu,
  explorerRow,
  findWebview,
  launch,
  openImagePreview,
  openWorkbench,
  runCommand,
  seenToasts,
  settle,
  Shots,
  until,
  visibleToasts,
  dismissToasts,
  webviewsWith,
  type Browser,
} from './workbench.ts';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string; publisher: string };
const VSIX = process.env.PRUNELENS_VSIX ?? join(REPO, 'out', `${pkg.name}-linux-x64-${pkg.version}.vsix`);
const SHOTS = new Shots(join(REPO, 'test-output', 'e2e'));
const BUNDLE = 'oracle_f05_24x24x64.npz';
const PANEL = '[data-testid="kept-count"]';
const SCENARIO_MS = 120_000;

let dirs: RunDirs;
let server: CodeServer;
let browser: Browser;
let page: Page;
let workspace: string;

// ------------------------------------------------------------------ helpers on the inspector panel

/** The inspector webview whose header satisfies `match` (several panels can be visible side by side). */
async function panelWhere(what: string, match: (h1: string) => boolean, timeoutMs = 60_000): Promise<Frame> {
  return until(
    what,
    async () => {
      for (const f of await webviewsWith(page, PANEL)) {
        if (match((await f.locator('h1').first().textContent()) ?? '')) return f;
      }
      return undefined;
    },
    timeoutMs,
    200,
  );
}

/** The inspector webview of an image. */
const panelFor = (file: string, timeoutMs = 60_000): Promise<Frame> => panelWhere(`the PruneLens panel of ${file}`, (h1) => h1 === `PruneLens — ${file}`, timeoutMs);

async function text(f: Frame, testid: string): Promise<string> {
  return (await f.locator(`[data-testid="${testid}"]`).first().innerText()).trim();
}

const keptCount = async (f: Frame): Promise<number> => Number(await text(f, 'kept-count'));
const budgetValue = async (f: Frame): Promise<number> => Number(await f.locator('[data-testid="budget-input"]').inputValue());

async function setBudget(f: Frame, k: number): Promise<void> {
  await f.locator('[data-testid="budget-input"]').fill(String(k));
  await f.locator('[data-testid="budget-input"]').dispatchEvent('change');
  await settle(f);
}

async function selectMethod(f: Frame, id: string): Promise<void> {
  await f.locator('[data-testid="method-select"]').selectOption(id);
  await settle(f);
}

/** Waits until the heatmap shows `k` kept tokens (a host re-run may be on its way). */
async function keptBecomes(f: Frame, k: number, timeoutMs = 30_000): Promise<void> {
  await until(`kept count ${k}`, async () => (await keptCount(f)) === k, timeoutMs);
}

/** RGB at the centre of every cell of the heatmap canvas. */
async function cellCentres(f: Frame, rows: number, cols: number): Promise<number[][]> {
  return f.locator('[data-testid="heatmap-canvas"]').evaluate(
    (el, [rows, cols]) => {
      const c = el as HTMLCanvasElement;
      const d = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
      const out: number[][] = [];
      for (let r = 0; r < rows; r++) {
        for (let q = 0; q < cols; q++) {
          const o = (Math.floor(((r + 0.5) * c.height) / rows) * c.width + Math.floor(((q + 0.5) * c.width) / cols)) * 4;
          out.push([d[o], d[o + 1], d[o + 2]]);
        }
      }
      return out;
    },
    [rows, cols] as const,
  );
}

const differs = (a: number[], b: number[]): boolean => Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]) > 6;
const changedCells = (a: number[][], b: number[][]): number => a.filter((px, i) => differs(px, b[i])).length;

/** A subsample of a canvas's pixels (enough to see any redraw). */
async function canvasPixels(f: Frame, testid: string): Promise<number[]> {
  return f.locator(`[data-testid="${testid}"]`).evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const d = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
    const out: number[] = [];
    for (let i = 0; i < d.length; i += 4 * 7) out.push(d[i], d[i + 1], d[i + 2]);
    return out;
  });
}

function pixelDiffFraction(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  for (let i = 0; i < a.length; i += 3) if (Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]) > 6) diff++;
  return diff / (a.length / 3);
}

/** Lines the extension's output channel holds now. */
const logLines = (): string[] => extensionLog(dirs).split('\n');

/** Waits for an output-channel line matching `re`; returns it. */
async function logLine(re: RegExp, timeoutMs = 30_000): Promise<string> {
  return until(`an output line matching ${re}`, async () => logLines().find((l) => re.test(l)), timeoutMs, 200);
}

/** Methods that ran (status ok) in the analysis of `file`, from the output channel's summary. */
function methodsRan(file: string): string[] {
  const lines = logLines();
  const start = lines.findIndex((l) => l.includes('analysed ') && l.includes(file));
  assert.ok(start >= 0, `no "analysed … ${file}" line`);
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    // "<time> [info]   f3a: kept 64 in 59.5 ms": the summary's indented lines follow the "analysed" line.
    const m = /\[info\] {3}([a-z0-9_]+): kept \d+ in /.exec(l);
    if (m) out.push(m[1]);
    else if (!/\[info\] {3}/.test(l)) break;
  }
  return out;
}

/** Right-click → Analyze Visual Tokens → question → the panel. */
async function analyzeFromExplorer(file: string, question: string, scenario: string): Promise<Frame> {
  await contextMenu(page, explorerRow(page, file), 'Analyze Visual Tokens', 60_000, async () => {
    await SHOTS.page(page, scenario, 'context-menu');
  });
  await answerQuickInput(page, question, async () => {
    await SHOTS.page(page, scenario, 'question');
  });
  return panelFor(file);
}

async function showExplorer(): Promise<void> {
  const explorer = page.locator('.activitybar [aria-label^="Explorer"]').first();
  if ((await page.locator('.explorer-folders-view').count()) === 0 || !(await page.locator('.explorer-folders-view').isVisible())) await explorer.click();
  await page.locator('.explorer-folders-view').waitFor();
}

async function activateTab(title: string): Promise<void> {
  await page.locator('.tabs-container .tab', { hasText: title }).first().click();
}

// ------------------------------------------------------------------ lifecycle

before(async () => {
  const missing = harnessMissing();
  assert.equal(missing, null, missing ?? '');
  assert.ok(existsSync(VSIX), `${VSIX} is missing: run \`npm run package\` first`);
  rmSync(SHOTS.dir, { recursive: true, force: true });
  mkdirSync(SHOTS.dir, { recursive: true });
  dirs = makeRunDirs();
  workspace = join(dirs.root, 'workspace');
  mkdirSync(workspace);
  for (const f of ['chelsea.png', 'coffee.png', 'rocket.jpg']) copyFileSync(join(SHARED, 'images', 'photos', f), join(workspace, f));
  copyFileSync(join(SHARED, 'images', 'edge', 'truncated.jpg'), join(workspace, 'truncated.jpg'));
  copyFileSync(join(SHARED, 'fixtures', 'oracle', BUNDLE), join(workspace, BUNDLE));
  installVsix(dirs, VSIX);
  assert.ok(existsSync(join(dirs.exts, `${pkg.publisher}.${pkg.name}-${pkg.version}`, 'dist', 'extension.cjs')), 'the VSIX was unpacked into the extensions folder');
  server = await startCodeServer(dirs, workspace);
  browser = await launch(dirs.profile);
  page = browser.page;
  await openWorkbench(page, server.url, workspace, 'chelsea.png');
});

/** Console errors a scenario may cause on purpose: the workbench echoes error notifications to the console. */
const EXPECTED_ERRORS = [/truncated\.jpg is truncated or corrupt/];
let errorsSeen = 0;

// Any other page error or console error (after E2E.md's offline noise is filtered) fails the scenario.
afterEach(() => {
  const fresh = browser?.errors.slice(errorsSeen) ?? [];
  errorsSeen += fresh.length;
  const unexpected = fresh.filter((e) => !EXPECTED_ERRORS.some((re) => re.test(e)));
  assert.deepEqual(unexpected, [], 'unexpected errors in the browser console');
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  if (dirs && !process.env.PRUNELENS_E2E_KEEP) removeRunDirs(dirs);
  else if (dirs) console.log(`run folder kept: ${dirs.root}`);
});

// ------------------------------------------------------------------ scenarios

describe('PruneLens in VS Code (code-server, extension installed from the VSIX)', () => {
  test('1: right-click a photo → Analyze Visual Tokens → question → progress → heatmap with the budget’s kept tokens', { timeout: SCENARIO_MS }, async () => {
    const f = await analyzeFromExplorer('chelsea.png', 'where is the cat?', 's1');
    // The progress notification was shown while the analysis ran.
    const toasts = await seenToasts(page);
    assert.ok(
      toasts.some((t) => t.includes('PruneLens: analysing chelsea.png')),
      `no progress notification seen: ${JSON.stringify(toasts)}`,
    );
    await until('the photo under the token grid', async () => (await f.locator('body[data-pl-image="loaded"]').count()) > 0);
    await settle(f);
    assert.equal(await f.locator('.pl-question').textContent(), '“where is the cat?”');
    const budget = await budgetValue(f);
    assert.equal(await keptCount(f), budget, 'kept tokens shown = budget');
    assert.equal(Number(await text(f, 'budget-shown')), budget);
    assert.match((await f.locator('.pl-toolbar').textContent()) ?? '', /of 576 tokens/);
    await SHOTS.page(page, 's1', 'panel');
    await SHOTS.webview(f, 's1', 'heatmap');
    // Host side: the request and the summary with the budget, the model and the provider.
    await logLine(/analyze .*chelsea\.png: question "where is the cat\?", model probe/);
    const done = await logLine(/analysed .*chelsea\.png: 576 tokens \(24×24 grid\)/);
    assert.match(done, new RegExp(`budget ${budget}, model PruneLens Probe \\[probe\\] on cpu`));
    assert.ok(methodsRan('chelsea.png').length >= 5, `methods ran: ${methodsRan('chelsea.png').join(', ')}`);
  });

  test('2: switch method and move the budget → the kept count and the picture change', { timeout: SCENARIO_MS }, async () => {
    const f = await panelFor('chelsea.png');
    await selectMethod(f, 'gprune');
    await f.locator('select[aria-label="Show"]').selectOption('kept');
    // Every token kept: the reference picture (nothing veiled). G-Prune is score-ranked: re-ranked in the webview.
    await setBudget(f, 576);
    await keptBecomes(f, 576);
    const all = await cellCentres(f, 24, 24);
    await setBudget(f, 64);
    await keptBecomes(f, 64);
    const at64 = await cellCentres(f, 24, 24);
    assert.equal(576 - changedCells(at64, all), 64, 'G-Prune at 64: exactly 64 cells unveiled');
    await SHOTS.webview(f, 's2', 'gprune-64');
    // Move the slider with the keyboard, as a person would: 36 steps up.
    const slider = f.locator('[data-testid="budget-slider"]');
    await slider.focus();
    for (let i = 0; i < 36; i++) await slider.press('ArrowRight');
    await settle(f);
    await keptBecomes(f, 100);
    assert.equal(await budgetValue(f), 100);
    const g100 = await cellCentres(f, 24, 24);
    assert.equal(576 - changedCells(g100, all), 100, 'G-Prune at 100: exactly 100 cells unveiled');
    assert.equal(changedCells(g100, at64), 36, 'moving 64 → 100 unveils 36 more cells');
    await SHOTS.webview(f, 's2', 'gprune-100');
    // DivPrune is greedy: the host re-runs it at the new budget (debounced), then the picture follows.
    await selectMethod(f, 'divprune');
    await keptBecomes(f, 100, 60_000);
    await logLine(/re-ran divprune at budget 100 in \d+ ms/);
    const d100 = await cellCentres(f, 24, 24);
    assert.equal(576 - changedCells(d100, all), 100, 'DivPrune at 100: exactly 100 cells unveiled');
    assert.ok(changedCells(d100, g100) > 0, 'DivPrune keeps other tokens than G-Prune');
    await SHOTS.webview(f, 's2', 'divprune-100');
    await f.locator('select[aria-label="Show"]').selectOption('both');
    await SHOTS.page(page, 's2', 'panel');
  });

  test('3: G-Prune flow scrubs iterations; F³A stage budgets are shown and sum to the budget', { timeout: SCENARIO_MS }, async () => {
    const f = await panelFor('chelsea.png');
    await f.locator('[data-testid="tab-gprune"]').click();
    await settle(f);
    const scrub = f.locator('[data-testid="gprune-scrubber"]');
    const steps = Number(await scrub.getAttribute('max'));
    assert.ok(steps >= 1, `scrubber max ${steps}`);
    await scrub.fill('0');
    await settle(f);
    assert.equal(await text(f, 'gprune-t'), `t = 0 / ${steps}`);
    const p0 = await canvasPixels(f, 'gprune-canvas');
    const r0 = await text(f, 'gprune-readout');
    await SHOTS.webview(f, 's3', 'gprune-t0');
    await scrub.fill(String(steps));
    await settle(f);
    assert.equal(await text(f, 'gprune-t'), `t = ${steps} / ${steps}`);
    const pN = await canvasPixels(f, 'gprune-canvas');
    const rN = await text(f, 'gprune-readout');
    assert.ok(pixelDiffFraction(p0, pN) > 0.02, 'the nodes are drawn differently after the last iteration');
    assert.notEqual(rN, r0, 'the readout follows the scrubber');
    await SHOTS.webview(f, 's3', `gprune-t${steps}`);

    await f.locator('[data-testid="tab-f3a"]').click();
    await settle(f);
    const stages = async (): Promise<{ parts: number[]; total: number; budget: number }> => ({
      parts: await Promise.all(['loc', 'comp', 'rec'].map(async (s) => Number(await text(f, `f3a-B_${s}`)))),
      total: Number(await text(f, 'f3a-total')),
      budget: Number(await text(f, 'f3a-budget')),
    });
    const b0 = await budgetValue(f);
    // F³A re-runs in the host after a budget change: wait until the stages are those of the current budget.
    await until(`F³A stages at budget ${b0}`, async () => (await stages()).total === b0, 60_000);
    let s = await stages();
    assert.equal(s.parts.reduce((a, b) => a + b, 0), s.total, `stage budgets ${s.parts.join(' + ')} sum to the total`);
    assert.equal(s.budget, b0);
    assert.match(await text(f, 'f3a-note'), /reconstruction from the paper/);
    assert.match((await f.locator('[data-testid="f3a-bar"]').textContent()) ?? '', new RegExp(`loc ${s.parts[0]}, comp ${s.parts[1]}, rec ${s.parts[2]}`));
    await SHOTS.webview(f, 's3', `f3a-${b0}`);
    await setBudget(f, 48);
    await until('F³A re-run at budget 48', async () => (await stages()).total === 48, 60_000);
    s = await stages();
    assert.equal(s.parts.reduce((a, b) => a + b, 0), 48);
    assert.equal(s.budget, 48);
    await logLine(/re-ran f3a at budget 48 in \d+ ms/);
    await SHOTS.webview(f, 's3', 'f3a-48');
  });

  test('4: click a token → the Decisions side view shows every method’s decision for it', { timeout: SCENARIO_MS }, async () => {
    const f = await panelFor('chelsea.png');
    await f.locator('[data-testid="tab-heatmap"]').click();
    await selectMethod(f, 'gprune');
    await setBudget(f, 64);
    await keptBecomes(f, 64);
    const canvas = f.locator('[data-testid="heatmap-canvas"]');
    const box = await canvas.boundingBox();
    assert.ok(box);
    const [r, c] = [9, 10];
    const index = r * 24 + c;
    const at = { x: ((c + 0.5) * box.width) / 24, y: ((r + 0.5) * box.height) / 24 };
    await canvas.hover({ position: at });
    const tip = f.locator('#pl-tooltip');
    await tip.waitFor({ state: 'visible' });
    const tipText = await tip.innerText();
    assert.match(tipText, new RegExp(`Token #${index}\\b`));
    const rank = /rank (\d+) \/ 576/.exec(tipText)?.[1];
    assert.ok(rank, `tooltip names a rank: ${tipText}`);
    const keptInPanel = /\bkept\b/.test(tipText) && !/\bpruned\b/.test(tipText);
    await canvas.click({ position: at });
    await until('the token locked', async () => new RegExp(`Locked: Token #${index}\\b`).test(await text(f, 'locked-token')));

    // The Decisions view in the PruneLens activity-bar container.
    await page.locator('.activitybar [aria-label="PruneLens"]').first().click();
    const d = await findWebview(page, '.pd-root', 30_000);
    await until('decision rows for the locked token', async () => (await d.locator('[data-testid="decision-row"]').count()) > 0, 30_000);
    // The panel reports its budget to the host once it settles (debounced), then the view follows.
    await until('the side view at the panel’s budget', async () => new RegExp(`Token #${index} .* at budget 64$`).test(await d.locator('[data-testid="token-heading"]').innerText()), 10_000);
    const rows = await d.locator('[data-testid="decision-row"]').evaluateAll((trs) =>
      trs.map((tr) => ({ method: (tr as HTMLElement).dataset.method ?? '', cells: [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim()) })),
    );
    const expected = methodsRan('chelsea.png');
    assert.deepEqual(rows.map((x) => x.method).sort(), [...expected].sort(), 'one row per method that ran');
    for (const row of rows) {
      assert.match(row.cells[1], /^(kept|dropped)$/, `${row.method} decision`);
      assert.ok(row.cells[5].length > 10, `${row.method} gives a reason: "${row.cells[5]}"`);
    }
    const gp = rows.find((x) => x.method === 'gprune');
    assert.ok(gp);
    assert.equal(gp.cells[1], keptInPanel ? 'kept' : 'dropped', 'the side view agrees with the panel’s tooltip');
    assert.equal(gp.cells[3], `${rank}/576`, 'same rank as the panel’s tooltip');
    // A ranked method keeps a token from the budget equal to its 1-based rank (0-based rank + 1).
    assert.equal(gp.cells[4], rank, 'G-Prune keeps it from a budget equal to its rank');
    // F³A is staged: its smallest keeping budget is found by re-running it in the host on request (not a
    // threshold: F³A is not monotone in the budget), and the output channel reports the same budget as the cell.
    const f3aRow = d.locator('[data-testid="decision-row"][data-method="f3a"]');
    const cfBudget = f3aRow.locator('[data-testid="cf-budget"]');
    const find = d.locator('[data-testid="find-f3a"]');
    assert.equal(await find.count(), 1, 'F³A offers a search for its smallest keeping budget');
    await find.click();
    await until('F³A’s counterfactual budget', async () => (await cfBudget.count()) === 1 && /^\d+$/.test((await cfBudget.innerText()).trim()), 60_000);
    const found = await logLine(new RegExp(`chelsea\\.png: f3a token ${index}: .*\\(\\d+ re-runs\\)`));
    const f3aFrom = Number((await cfBudget.innerText()).trim());
    assert.ok(f3aFrom >= 1 && f3aFrom <= 576, `F³A keeps token ${index} at budget ${f3aFrom}`);
    assert.match(found, new RegExp(`: kept at ${f3aFrom} \\(smallest`), 'the output names the budget the view shows');
    // The search checks the budget on screen too: the cell and the output say whether F³A keeps the token at
    // 64, and a drop there above the smallest keeping budget is called out as not monotone.
    const cfText = (await f3aRow.locator('.pd-cf').innerText()).replace(/\s+/g, ' ');
    if (f3aFrom !== 64) {
      const now = /\b(kept|dropped) at (?:\d+ and at )?64 \(current\)/.exec(found)?.[1];
      assert.ok(now, `the output says what happens at the current budget: ${found}`);
      assert.match(cfText, new RegExp(`\\b(${now} at|and) 64 \\(current\\)`), `the cell agrees: ${cfText}`);
      if (now === 'dropped' && f3aFrom < 64) assert.match(cfText, /not monotone: dropped at/);
    }
    await until('the search’s progress notification to close', async () => !(await visibleToasts(page)).some((t) => t.includes('smallest budget keeping')), 15_000);
    // The table fits the side bar: nothing to scroll sideways (it used to be wider than the view).
    assert.equal(await d.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'), 0, 'the decisions fit the side bar’s width');
    await SHOTS.page(page, 's4', 'decisions');
    await SHOTS.webview(d, 's4', 'decisions-view');
  });

  test('5: the image preview’s title-bar action analyses the open image', { timeout: SCENARIO_MS }, async () => {
    await showExplorer();
    await openImagePreview(page, 'coffee.png');
    const action = page.locator('.editor-actions .action-label[aria-label="Analyze Visual Tokens"]');
    await action.waitFor({ timeout: 30_000 });
    await SHOTS.page(page, 's5', 'image-preview');
    await action.click();
    // Empty question = question-agnostic.
    await answerQuickInput(page, '');
    const f = await panelFor('coffee.png');
    assert.equal(await f.locator('.pl-question').textContent(), 'No question (text-agnostic analysis)');
    assert.equal(await keptCount(f), await budgetValue(f));
    await logLine(/analyze .*coffee\.png: question \(none\), model probe/);
    await logLine(/analysed .*coffee\.png: 576 tokens/);
    await until('the photo under the token grid', async () => (await f.locator('body[data-pl-image="loaded"]').count()) > 0);
    await SHOTS.page(page, 's5', 'panel');
  });

  test('6: a corrupt image → one clear error notification; the extension keeps working', { timeout: SCENARIO_MS }, async () => {
    await showExplorer();
    await dismissToasts(page);
    await contextMenu(page, explorerRow(page, 'truncated.jpg'), 'Analyze Visual Tokens');
    await answerQuickInput(page, '');
    const toast = await until('an error notification', async () => (await visibleToasts(page)).find((t) => t.includes('truncated.jpg') && !t.includes('analysing')), 60_000);
    assert.match(toast, /truncated\.jpg/);
    assert.match(toast, /truncated|corrupt/i);
    assert.doesNotMatch(toast, /\n\s+at |\bat .*\.(c?js|ts):\d+/, 'no stack trace in the notification');
    assert.ok(await page.locator('.notifications-toasts .notification-list-item .codicon-error').count(), 'shown as an error');
    // The failed analysis's progress notification goes away; the error stays.
    await until('the progress notification to close', async () => !(await visibleToasts(page)).some((t) => t.includes('analysing truncated.jpg')), 15_000);
    await SHOTS.page(page, 's6', 'error');
    await logLine(/\[error\] analyze truncated\.jpg failed: /);
    await dismissToasts(page);
    // Still working: the next photo analyses normally.
    const f = await analyzeFromExplorer('rocket.jpg', 'where is the rocket?', 's6');
    assert.equal(await keptCount(f), await budgetValue(f));
    await logLine(/analysed .*rocket\.jpg: 576 tokens/);
  });

  test('7: reload the window → the panel comes back with its analysis', { timeout: SCENARIO_MS }, async () => {
    await activateTab('chelsea.png');
    const before = await panelFor('chelsea.png');
    await selectMethod(before, 'gprune');
    await setBudget(before, 90);
    await keptBecomes(before, 90);
    const cells = await cellCentres(before, 24, 24);
    const restoredBefore = logLines().filter((l) => /restor/.test(l)).length;
    // Mark this document: the old panel's frame must not be mistaken for the restored one.
    await page.evaluate('window.__plBeforeReload = true');
    await runCommand(page, 'Developer: Reload Window');
    await until('the window to reload', async () => !(await page.evaluate('window.__plBeforeReload === true').catch(() => true)), 60_000, 200);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    const f = await panelFor('chelsea.png', 90_000);
    await until('the restored analysis', async () => (await keptCount(f)) === 90, 30_000);
    assert.equal(await budgetValue(f), 90, 'the budget survives the reload');
    assert.equal(await f.locator('[data-testid="method-select"]').inputValue(), 'gprune', 'the method survives the reload');
    assert.equal(await f.locator('.pl-question').textContent(), '“where is the cat?”');
    await until('the photo under the token grid', async () => (await f.locator('body[data-pl-image="loaded"]').count()) > 0);
    await settle(f);
    assert.equal(changedCells(await cellCentres(f, 24, 24), cells), 0, 'the same picture as before the reload');
    await until('a restore line in the output', async () => logLines().filter((l) => /restor(ed|ing) .*chelsea\.png/.test(l)).length > 0 && logLines().filter((l) => /restor/.test(l)).length > restoredBefore);
    for (const t of ['coffee.png', 'rocket.jpg']) assert.ok(await page.locator('.tabs-container .tab', { hasText: `PruneLens: ${t}` }).count(), `the ${t} panel is back as a tab`);
    await SHOTS.page(page, 's7', 'after-reload');
  });

  test('8: open a .npz token bundle → analysed without an encoder', { timeout: SCENARIO_MS }, async () => {
    await showExplorer();
    await contextMenu(page, explorerRow(page, BUNDLE), 'Open Token Bundle', 60_000, async () => {
      await SHOTS.page(page, 's8', 'context-menu');
    });
    await page.locator('.tabs-container .tab.active', { hasText: `PruneLens: ${BUNDLE}` }).waitFor({ timeout: 60_000 });
    const f = await panelWhere('the bundle’s panel', (h1) => h1.replace(/\s+/g, ' ') === `PruneLens — ${BUNDLE} (token bundle, no image)`);
    await SHOTS.page(page, 's8', 'panel');
    assert.equal(await keptCount(f), await budgetValue(f));
    assert.match((await f.locator('.pl-toolbar').textContent()) ?? '', /of 576 tokens/);
    const line = await logLine(/analysed .*oracle_f05_24x24x64\.npz: 576 tokens/);
    assert.doesNotMatch(line, /session_run|encode /, 'no encoder ran for a bundle');
    assert.match(logLines().find((l) => /analyze .*oracle_f05_24x24x64\.npz:/.test(l)) ?? '', /model \(bundle\)/);
    await settle(f);
    await SHOTS.webview(f, 's8', 'bundle');
  });
});
