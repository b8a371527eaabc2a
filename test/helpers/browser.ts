// Headless Debian Chromium for the browser tests (playwright-core drives it; nothing is downloaded).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** Script errors and console errors (CSP violations among them) of `page`, collected into `into` for a final check. */
export function collectProblems(page: Page, into: string[] = [], prefix = ''): string[] {
  page.on('pageerror', (e) => into.push(`${prefix}${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') into.push(`${prefix}${m.text()}`);
  });
  return into;
}
