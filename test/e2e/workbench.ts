/**
 * Driving VS Code's workbench (code-server in Debian's chromium) like a person: Explorer right-clicks,
 * the quick input, notifications, the webview panel and the side view. Every wait is a loop on a visible
 * condition with a deadline; there are no fixed sleeps.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Frame, type Locator, type Page } from 'playwright-core';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Console noise that is expected offline (E2E.md); anything else is recorded as an error. */
const NOISE = [
  /marketplace|gallery|open-vsx|vscode-unpkg|update\.code\.visualstudio|vscode-sync|vscodeexperiments|default\.exp-tas/i,
  /telemetry|dc\.services|mobile\.events|applicationinsights/i,
  /github|authentication|auth provider/i,
  /Content Security Policy|Content-Security-Policy/i,
  /ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_REFUSED|net::ERR_|Failed to load resource|Failed to fetch/i,
  /service ?worker/i,
  /\[Extension Host\] (?!.*prunelens)/i,
  // A window reload in the browser: the workbench cannot wait for its own shutdown tasks.
  /Long running operations during shutdown are unsupported in the web/,
  // The same race: the workbench flushes a file after the page closed its IndexedDB. A lost write that
  // mattered to PruneLens (its saved panels) would fail scenario 7's restore checks instead.
  /Unable to write file '[^']*' \(Error: IndexedDB database '[^']*' is closed/,
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

export async function launch(profileDir: string): Promise<Browser> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    deviceScaleFactor: 1,
    args: ARGS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (!NOISE.some((re) => re.test(text))) errors.push(`console: ${text}`);
  });
  return { context, page, errors, close: () => context.close() };
}

/** Polls `check` until it returns a value (not undefined/false) or the deadline passes. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Opens the workbench on a folder and waits until the Explorer lists its files. */
export async function openWorkbench(page: Page, url: string, folder: string, expectFile: string): Promise<void> {
  await page.goto(`${url}?folder=${encodeURIComponent(folder)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await explorerRow(page, expectFile).waitFor({ timeout: 60_000 });
  await installNotificationRecorder(page);
}

export function explorerRow(page: Page, name: string): Locator {
  return page.locator('.explorer-folders-view .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escape(name)}$`) }) });
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Right-click → menu item. The Explorer renders before the extension's menu contributions arrive, so the
 * first menu may lack the item: Escape and right-click again until it is there (E2E.md "menu race").
 */
export async function contextMenu(page: Page, target: Locator, item: string, timeoutMs = 60_000, beforeClick?: () => Promise<void>): Promise<void> {
  const end = Date.now() + timeoutMs;
  const menuItem = page.getByRole('menuitem', { name: item, exact: true });
  for (;;) {
    await target.click({ button: 'right' });
    try {
      await menuItem.first().waitFor({ state: 'visible', timeout: 3000 });
      await menuItem.first().hover({ timeout: 3000 });
      await beforeClick?.();
      await menuItem.first().click({ timeout: 3000 });
      // A menu re-rendered under the pointer (contributions arriving) can swallow the click: the menu
      // stays open. Only a closed menu means the command ran.
      await menuItem.first().waitFor({ state: 'hidden', timeout: 2000 });
      return;
    } catch {
      await page.keyboard.press('Escape');
      if (Date.now() > end) throw new Error(`context menu never offered "${item}"`);
    }
  }
}

/** The quick input (a QuickPick or InputBox) is open: type into it and accept. */
export async function answerQuickInput(page: Page, text: string, beforeEnter?: () => Promise<void>): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(text);
  // The typed question becomes the first item of the QuickPick; wait until it is listed before Enter.
  if (text) await page.locator('.quick-input-widget .monaco-list-row', { hasText: text }).first().waitFor({ timeout: 10_000 });
  await beforeEnter?.();
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 10_000 });
}

/** Runs a command from the palette by its title. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`>${title}`);
  // The row whose label is exactly the title (recently used commands may be listed above it).
  const row = page.locator('.quick-input-widget .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escape(title)}$`) }) }).first();
  await row.waitFor({ timeout: 15_000 });
  await row.click();
  await input.waitFor({ state: 'hidden', timeout: 10_000 });
}

/**
 * Records the text of every notification toast that appears, however briefly (a fast analysis shows its
 * progress notification for well under a second).
 */
async function installNotificationRecorder(page: Page): Promise<void> {
  // Plain source text: tsx would wrap named functions in a __name() helper the page does not have.
  await page.evaluate(`(() => {
    if (window.__plToasts) return;
    const seen = [];
    window.__plToasts = seen;
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('.notifications-toasts .notification-list-item')) {
        const t = (el.textContent || '').trim();
        if (t && !seen.includes(t)) seen.push(t);
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  })()`);
}

export async function seenToasts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __plToasts?: string[] }).__plToasts ?? []);
}

export async function clearSeenToasts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __plToasts?: string[] };
    w.__plToasts?.splice(0);
  });
}

/** Currently visible notification toasts (text). */
export async function visibleToasts(page: Page): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-list-item').allInnerTexts();
}

/** Closes every visible notification toast. */
export async function dismissToasts(page: Page): Promise<void> {
  await until('notifications to close', async () => {
    const close = page.locator('.notifications-toasts .notification-list-item .codicon-notifications-clear');
    const n = await close.count();
    if (n === 0) return true;
    await page.locator('.notifications-toasts .notification-list-item').first().hover();
    await close.first().click({ timeout: 2000 }).catch(() => undefined);
    return false;
  });
}

/** Content frames of the webviews now showing `selector` (optionally only one extension's webviews). */
export async function webviewsWith(page: Page, selector: string, extensionId?: string): Promise<Frame[]> {
  const out: Frame[] = [];
  for (const f of page.frames()) {
    if (f === page.mainFrame() || f.isDetached()) continue;
    if (extensionId && !(f.parentFrame()?.url() ?? '').includes(`extensionId=${extensionId}&`)) continue;
    if ((await f.locator(selector).count().catch(() => 0)) > 0) out.push(f);
  }
  return out;
}

/**
 * The content frame of a webview that shows `selector` (webviews are sibling iframes in an overlay, so
 * they are told apart by what they show).
 */
export async function findWebview(page: Page, selector: string, timeoutMs = 30_000, extensionId?: string): Promise<Frame> {
  return until(`a webview showing ${selector}`, async () => (await webviewsWith(page, selector, extensionId))[0], timeoutMs);
}

/**
 * Opens an image from the Explorer in VS Code's image preview. Until the built-in media-preview extension
 * has registered its editor, a click opens the binary-file placeholder instead: close that and click again.
 */
export async function openImagePreview(page: Page, name: string, timeoutMs = 60_000): Promise<Frame> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    await explorerRow(page, name).dblclick();
    try {
      return await findWebview(page, 'img', 5000, 'vscode.media-preview');
    } catch (err) {
      if (Date.now() > end) throw err;
      await runCommand(page, 'View: Close Editor');
    }
  }
}

/** Two animation frames inside a webview: every scheduled repaint has run. */
export async function settle(frame: Frame): Promise<void> {
  await frame.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))');
}

export class Shots {
  private n = 0;
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Full-window screenshot named `<scenario>-<nn>-<step>.png`. */
  async page(page: Page, scenario: string, step: string): Promise<string> {
    const file = join(this.dir, `${scenario}-${String(++this.n).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ path: file });
    return file;
  }

  /** Just one element (e.g. a webview's iframe). */
  async element(target: Locator, scenario: string, step: string): Promise<string> {
    const file = join(this.dir, `${scenario}-${String(++this.n).padStart(2, '0')}-${step}.png`);
    await target.screenshot({ path: file });
    return file;
  }

  /** Just a webview, as its box on screen (the outer iframe: the content frame may be scrolled inside it). */
  async webview(frame: Frame, scenario: string, step: string): Promise<string> {
    const file = join(this.dir, `${scenario}-${String(++this.n).padStart(2, '0')}-${step}.png`);
    const el = await (frame.parentFrame() ?? frame).frameElement();
    await el.screenshot({ path: file });
    return file;
  }
}
