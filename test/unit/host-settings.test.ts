import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../extension/core/errors.ts';
import { isCancellation, logText, userMessage } from '../../extension/host/errors.ts';
import { contentSecurityPolicy, makeNonce, pageHtml } from '../../extension/host/html.ts';
import { questionHistory, rememberQuestion } from '../../extension/host/questions.ts';
import { effectiveValue, readSettings, toRequest, type Inspected, type Settings } from '../../extension/host/settings.ts';
import { uniqueTitle } from '../../extension/host/titles.ts';

const inspector = (values: { [key: string]: Inspected<unknown> }) => (key: keyof Settings) => values[key];

test('restricted settings ignore workspace values in an untrusted workspace, others do not', () => {
  const i: Inspected<string> = { defaultValue: 'probe', globalValue: '/home/me/models/clip', workspaceValue: './evil', workspaceFolderValue: './eviler' };
  assert.equal(effectiveValue(i, false, true), '/home/me/models/clip');
  assert.equal(effectiveValue({ defaultValue: 'probe', workspaceValue: './evil' }, false, true), 'probe');
  assert.equal(effectiveValue(i, true, true), './eviler');
  assert.equal(effectiveValue({ defaultValue: 'probe', workspaceValue: './w' }, true, true), './w');
  assert.equal(effectiveValue({ defaultValue: 0, workspaceValue: 4 }, false, false), 4);
  assert.equal(effectiveValue(undefined, true, false), undefined);

  const values = {
    model: { defaultValue: 'probe', workspaceValue: '/tmp/evil-model' },
    executionProvider: { defaultValue: 'auto', workspaceValue: 'cuda' },
    codebookPath: { defaultValue: '', workspaceValue: 'cb.npy' },
    threads: { defaultValue: 0, workspaceValue: 3 },
  };
  const untrusted = readSettings(inspector(values), false);
  assert.deepEqual([untrusted.model, untrusted.executionProvider, untrusted.codebookPath, untrusted.threads], ['probe', 'auto', '', 3]);
  const trusted = readSettings(inspector(values), true);
  assert.deepEqual([trusted.model, trusted.executionProvider, trusted.codebookPath], ['/tmp/evil-model', 'cuda', 'cb.npy']);
});

test('malformed setting values fall back to safe defaults', () => {
  const s = readSettings(
    inspector({
      model: { globalValue: '  ' },
      executionProvider: { globalValue: 'tpu' },
      threads: { globalValue: -2 },
      defaultBudget: { globalValue: 2.5 },
      defaultRatio: { globalValue: 1.5 },
      methods: { globalValue: ['f3a', 7, ' gprune ', ''] },
      maxMegapixels: { globalValue: -1 },
    }),
    true,
  );
  assert.deepEqual(s, { model: 'probe', executionProvider: 'auto', threads: 0, defaultBudget: null, defaultRatio: null, methods: ['f3a', 'gprune'], codebookPath: '', maxMegapixels: 50 });
  assert.equal(readSettings(inspector({ executionProvider: { globalValue: ' CPU ' } }), true).executionProvider, 'cpu');
});

test('settings become an AnalyzeRequest: budget precedence, relative paths, bundles take their own model', () => {
  const base: Settings = { model: 'probe', executionProvider: 'cpu', threads: 2, defaultBudget: null, defaultRatio: 0.25, methods: [], codebookPath: 'cb/codebook.npy', maxMegapixels: 50 };
  const img = toRequest(base, { kind: 'image', path: '/data/cat.png', question: 'what?', baseDir: '/ws' });
  assert.deepEqual(img, {
    image: '/data/cat.png',
    bundlePath: null,
    question: 'what?',
    model: 'probe',
    methods: 'all',
    budget: { ratio: 0.25 },
    params: {},
    provider: 'cpu',
    threads: 2,
    codebookPath: '/ws/cb/codebook.npy',
    maxMegapixels: 50,
  });
  assert.equal(toRequest({ ...base, maxMegapixels: 0.5 }, { kind: 'image', path: '/a.png', question: '', baseDir: null }).maxMegapixels, 0.5, 'the decode limit reaches the analysis');
  const bundle = toRequest({ ...base, defaultBudget: 64, methods: ['gprune'] }, { kind: 'bundle', path: '/data/b.npz', question: '', baseDir: null });
  assert.equal(bundle.model, null);
  assert.equal(bundle.bundlePath, '/data/b.npz');
  assert.deepEqual(bundle.budget, { k: 64 });
  assert.deepEqual(bundle.methods, ['gprune']);
  assert.equal(bundle.codebookPath, 'cb/codebook.npy', 'no workspace folder: left relative');
  const model = toRequest({ ...base, model: 'models/clip', defaultRatio: null }, { kind: 'bundle', path: '/b.npz', question: '', baseDir: '/ws' });
  assert.equal(model.model, '/ws/models/clip');
  assert.equal(model.budget, null);
});

test('question history: newest first, trimmed, de-duplicated, bounded; empty questions are not remembered', () => {
  let h: string[] = [];
  for (const q of ['a', ' b ', 'c', 'a', '', '   ']) h = rememberQuestion(h, q, 3);
  assert.deepEqual(h, ['a', 'c', 'b']);
  assert.deepEqual(rememberQuestion(h, 'd', 3), ['d', 'a', 'c']);
  assert.deepEqual(questionHistory({ not: 'a list' }), []);
  assert.deepEqual(questionHistory(['x', 3, null, ' x ', 'y']), ['x', 'y']);
});

test('user messages: InputError as-is; others one line with a next step and no stack', () => {
  assert.equal(userMessage(new InputError('Image not found: /a.png.'), 'analyse a.png'), 'Image not found: /a.png.');
  const err = new Error('worker died\n    at foo (bar.js:1:2)\n    at baz');
  const msg = userMessage(err, 'analyse a.png');
  assert.equal(msg, 'PruneLens could not analyse a.png: worker died. See the PruneLens output for details.');
  assert.ok(!msg.includes('\n') && !msg.includes(' at '));
  assert.ok(userMessage(new Error('x'.repeat(1000)), 'do it').length < 300);
  assert.match(logText(err), /at foo/);
  const cancelled = new Error('cancelled (encode)');
  cancelled.name = 'CancelledError';
  assert.equal(isCancellation(cancelled), true);
  assert.equal(isCancellation(new Error('x')), false);
});

test('webview pages: strict CSP with a nonce, no inline allowances, escaped attributes', () => {
  const csp = contentSecurityPolicy('https://x.vscode-cdn.net', 'abc');
  assert.equal(csp, "default-src 'none'; img-src https://x.vscode-cdn.net blob: data:; style-src https://x.vscode-cdn.net; font-src https://x.vscode-cdn.net; script-src 'nonce-abc'");
  const html = pageHtml({ cspSource: 'vscode-resource:', script: 'https://r/dist/webview.js', styles: ['https://r/media/webview.css'], nonce: 'N0nce', title: 'PruneLens: <cat>.png' });
  assert.ok(html.includes('<script nonce="N0nce" src="https://r/dist/webview.js"></script>'));
  assert.ok(html.includes('<link rel="stylesheet" href="https://r/media/webview.css">'));
  assert.ok(html.includes('&#60;cat&#62;.png'));
  assert.ok(!/unsafe-(inline|eval)/.test(html));
  assert.equal((html.match(/<script/g) ?? []).length, 1);
  assert.ok(!/style="/.test(html));
  const a = makeNonce();
  assert.match(a, /^[A-Za-z0-9_-]{24}$/);
  assert.notEqual(a, makeNonce());
});

test('panel titles stay unique (revival matches panels by title)', () => {
  assert.equal(uniqueTitle('/a/cat.png', new Set()), 'PruneLens: cat.png');
  assert.equal(uniqueTitle('/b/cat.png', new Set(['PruneLens: cat.png'])), 'PruneLens: cat.png (2)');
  assert.equal(uniqueTitle('/b/cat.png', new Set(['PruneLens: cat.png', 'PruneLens: cat.png (2)'])), 'PruneLens: cat.png (3)');
});
