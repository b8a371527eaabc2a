// Module boundaries: the pure helpers the webview and the core both need live once, in extension/shared/,
// and the lint rules let the webview import them (and the protocol) but nothing else from extension/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import * as coreRanking from '../../extension/core/numeric/ranking.ts';
import * as coreRounding from '../../extension/core/numeric/rounding.ts';
import * as sharedRanking from '../../extension/shared/ranking.ts';
import * as sharedRounding from '../../extension/shared/rounding.ts';
import { REPO } from '../helpers/paths.ts';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('the core re-exports the shared ranking and rounding (one implementation)', () => {
  for (const name of ['rankDescending', 'ranksFromOrder', 'ranksOf'] as const) assert.equal(coreRanking[name], sharedRanking[name], name);
  for (const name of ['pyRound', 'roundHalfUp'] as const) assert.equal(coreRounding[name], sharedRounding[name], name);
});

test('no webview file re-implements a shared helper', () => {
  const names = [...Object.keys(sharedRanking), ...Object.keys(sharedRounding)];
  const copies: string[] = [];
  for (const file of tsFiles(join(REPO, 'webview'))) {
    const src = readFileSync(file, 'utf8');
    for (const n of names) if (new RegExp(`\\bfunction ${n}\\s*\\(|\\b(const|let) ${n}\\s*=`).test(src)) copies.push(`${relative(REPO, file)}: ${n}`);
  }
  assert.deepEqual(copies, []);
});

test('lint boundaries: webview → protocol and extension/shared only; extension/shared imports nothing else', async () => {
  const eslint = new ESLint({ cwd: REPO });
  const restricted = async (file: string, spec: string): Promise<boolean> => {
    const [r] = await eslint.lintText(`import { x } from '${spec}';\nexport const y = x;\n`, { filePath: join(REPO, file) });
    return r.messages.some((m) => m.ruleId === 'no-restricted-imports');
  };
  const cases: [string, string, boolean][] = [
    ['webview/rerank.ts', '../extension/shared/ranking.ts', false],
    ['webview/views/heatmap.ts', '../../extension/shared/rounding.ts', false],
    ['webview/app.ts', '../extension/protocol.ts', false],
    ['webview/app.ts', './dom.ts', false],
    ['webview/rerank.ts', '../extension/core/numeric/ranking.ts', true],
    ['webview/app.ts', '../extension/host/panel.ts', true],
    ['webview/app.ts', '../extension/cli/args.ts', true],
    ['webview/app.ts', 'node:fs', true],
    ['extension/shared/ranking.ts', './rounding.ts', false],
    ['extension/shared/ranking.ts', '../core/numeric/linalg.ts', true],
    ['extension/shared/ranking.ts', 'node:path', true],
  ];
  for (const [file, spec, banned] of cases) assert.equal(await restricted(file, spec), banned, `${file} importing ${spec}`);
});
