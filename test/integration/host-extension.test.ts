// The bundled extension host (dist/extension.cjs) against a recording stand-in for the `vscode` module:
// commands → real analysis (runtime worker + probe model) → panel handshake and messages → Decisions view
// → revival after a "reload". Real VS Code is covered by the code-server E2E; this checks the host itself.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { readBundle } from '../../extension/core/bundle/io.ts';
import { serializeNpy } from '../../extension/core/bundle/npy.ts';
import type { DecisionsViewState, HostToWebview } from '../../extension/protocol.ts';
import * as fake from '../helpers/fake-vscode.ts';
import { loadBundledExtension, type BundledExtension } from '../helpers/host-bundle.ts';
import { ORACLE_DIR, PHOTOS_DIR, REPO, SHARED } from '../helpers/paths.ts';
import { settle, until } from '../helpers/wait.ts';

const storage = mkdtempSync(join(tmpdir(), 'prunelens-host-'));
const { recorder } = fake;
let ext: BundledExtension;
const ctx = fake.extensionContext(storage);

before(() => {
  execFileSync('node', ['esbuild.mjs'], { cwd: REPO, stdio: 'inherit' });
  ext = loadBundledExtension();
  ext.activate(ctx);
});

after(async () => {
  for (const d of ctx.subscriptions) d.dispose();
  await ext?.deactivate();
  rmSync(storage, { recursive: true, force: true });
});


const posted = (w: fake.FakeWebview, type: string): HostToWebview[] => w.posted.filter((m): m is HostToWebview => (m as { type?: string }).type === type);

function decisionsState(view: fake.FakeView): DecisionsViewState | undefined {
  const states = view.webview.posted.filter((m) => (m as { type?: string }).type === 'state') as { state: DecisionsViewState }[];
  return states.at(-1)?.state;
}

let panel: fake.FakePanel;
let view: fake.FakeView;

test('activation registers the commands, the serializer and the Decisions view', async () => {
  assert.ok(recorder.commands.has('prunelens.analyzeImage'));
  assert.ok(recorder.commands.has('prunelens.openBundle'));
  assert.ok(recorder.commands.has('prunelens.loadCodebook'));
  // Every registered command is contributed (palette), and the Explorer offers bundles and codebooks on right-click.
  const pkg = ctx.extension.packageJSON as { contributes: { commands: { command: string }[]; menus: Record<string, { command: string; when?: string }[]> } };
  assert.deepEqual(pkg.contributes.commands.map((c) => c.command).sort(), [...recorder.commands.keys()].sort());
  assert.deepEqual(pkg.contributes.menus.commandPalette.map((c) => c.command).sort(), [...recorder.commands.keys()].sort());
  const explorer = pkg.contributes.menus['explorer/context'];
  assert.match(explorer.find((m) => m.command === 'prunelens.openBundle')?.when ?? '', /resourceExtname == \.npz/);
  assert.match(explorer.find((m) => m.command === 'prunelens.loadCodebook')?.when ?? '', /resourceExtname == \.npy/);
  // Load Codebook with no analysis open says what to do first.
  await recorder.commands.get('prunelens.loadCodebook')?.(fake.Uri.file(join(storage, 'none.npy')));
  assert.match(recorder.errors.pop() ?? '', /open an analysis first/);
  assert.ok(recorder.serializers.has('prunelens.inspector'));
  assert.ok(recorder.viewProviders.has('prunelens.decisions'));
  assert.ok(recorder.logs.some((l) => /PruneLens .* activated/.test(l.text)));
});

test('Analyze Visual Tokens on a photo: question box, progress, a panel with a strict CSP and the image folder as root', async () => {
  recorder.questions.push('what colour is the cat?');
  await recorder.commands.get('prunelens.analyzeImage')?.(fake.Uri.file(join(PHOTOS_DIR, 'chelsea.png')));
  assert.deepEqual(recorder.errors, []);
  assert.equal(recorder.panels.length, 1);
  panel = recorder.panels[0];
  assert.equal(panel.title, 'PruneLens: chelsea.png');
  assert.ok(recorder.progress[0].title.includes('chelsea.png'));
  const html = panel.webview.html;
  assert.match(html, /default-src 'none'; img-src https:\/\/fake\.vscode-cdn\.net blob: data:; style-src https:\/\/fake\.vscode-cdn\.net; font-src https:\/\/fake\.vscode-cdn\.net; script-src 'nonce-[A-Za-z0-9_-]+'/);
  assert.match(html, /<script nonce="[A-Za-z0-9_-]+" src="https:\/\/fake\.vscode-cdn\.net[^"]*\/dist\/webview\.js"><\/script>/);
  assert.deepEqual(
    panel.webview.options.localResourceRoots?.map((u) => u.fsPath),
    [join(REPO, 'dist'), join(REPO, 'media'), PHOTOS_DIR],
  );
  assert.equal(panel.webview.options.enableScripts, true);
  assert.deepEqual(ctx.globalState.get('prunelens.questions'), ['what colour is the cat?']);
  assert.ok(recorder.logs.some((l) => /analysed .*chelsea\.png: \d+ tokens .* on cpu/.test(l.text)), 'log names the provider');
  assert.ok(recorder.logs.some((l) => /^ {2}f3a: kept \d+ in [\d.]+ ms$/.test(l.text)));
});

test('ready handshake: the analysis arrives with scores and image bytes as ArrayBuffers', async () => {
  panel.webview.send({ type: 'ready', protocol: 1 });
  const init = await until('init', () => posted(panel.webview, 'init')[0]);
  assert.equal(init.type, 'init');
  if (init.type !== 'init') return;
  assert.equal(init.analysis.question, 'what colour is the cat?');
  assert.ok(init.image && init.image.bytes instanceof ArrayBuffer && init.image.mime === 'image/png');
  assert.deepEqual(new Uint8Array(init.image.bytes), new Uint8Array(readFileSync(join(PHOTOS_DIR, 'chelsea.png'))));
  const ok = init.analysis.results.filter((e) => e.status === 'ok');
  assert.ok(ok.length >= 5);
  for (const e of ok) {
    if (e.status !== 'ok') continue;
    assert.equal(e.display.scores, null, 'scores travel separately');
    const buf: ArrayBuffer | undefined = init.scores[e.method];
    if (buf) assert.equal(buf.byteLength, 8 * init.analysis.n);
  }
  assert.deepEqual(init.capabilities, { rerun: true, loadCodebook: true, save: true });
});

test('re-runs: debounced, superseded requests cancelled, the entry answered with its request id', async () => {
  panel.webview.send({ type: 'rerun', requestId: 7, method: 'f3a', budget: 30 });
  panel.webview.send({ type: 'rerun', requestId: 8, method: 'f3a', budget: 40 });
  const entry = await until('entry', () => posted(panel.webview, 'entry')[0]);
  assert.ok(entry.type === 'entry' && entry.requestId === 8 && entry.budget === 40);
  if (entry.type === 'entry' && entry.entry.status === 'ok') assert.equal(entry.entry.keep.length, 40);
  assert.ok(posted(panel.webview, 'requestCancelled').some((m) => m.type === 'requestCancelled' && m.requestId === 7));
  assert.ok(!recorder.logs.some((l) => /methods-worker\.cjs not found/.test(l.text)), 're-runs go to the methods worker process');
  assert.ok(recorder.logs.some((l) => /methods worker: process \d+ started/.test(l.text)), 'a methods worker process ran them');
  assert.ok(recorder.logs.some((l) => /re-ran f3a at budget 40 in \d+ ms \(method [\d.]+ ms\)/.test(l.text)));
  panel.webview.send({ type: 'rerun', requestId: 9, method: 'f3a', budget: 100000 });
  const failed = await until('requestFailed', () => posted(panel.webview, 'requestFailed')[0]);
  assert.ok(failed.type === 'requestFailed' && failed.requestId === 9 && /Budget must be a whole number of tokens from 1 to \d+/.test(failed.message));
});

test('invalid panel messages are rejected and logged, never acted on', async () => {
  const before = panel.webview.posted.length;
  panel.webview.send({ type: 'rerun', requestId: -1, method: 'f3a', budget: 3 });
  panel.webview.send({ type: 'export', requestId: 1, format: 'png', fileName: '../../evil.png', data: new ArrayBuffer(1) });
  panel.webview.send('hello');
  await settle();
  assert.equal(panel.webview.posted.length, before);
  assert.equal(recorder.logs.filter((l) => l.level === 'warn' && /ignored an invalid panel message/.test(l.text)).length, 3);
});

test('the Decisions view follows token locks: one row per method, disagreements stepped back into the panel', async () => {
  view = new fake.FakeView();
  recorder.viewProviders.get('prunelens.decisions')?.resolveWebviewView(view);
  assert.match(view.webview.html, /script-src 'nonce-[^']+'/);
  assert.match(view.webview.html, /dist\/decisions\.js/);
  view.webview.send({ type: 'ready' });
  const first = await until('decisions state', () => decisionsState(view));
  assert.equal(first.analyses.length, 1);
  assert.equal(first.token, null);
  // The list shows a thumbnail of the photo: a PNG data URL made by the host, at most 64 px a side.
  const thumb = await until('thumbnail', () => {
    view.webview.send({ type: 'ready' });
    return decisionsState(view)?.analyses[0].thumbnail;
  });
  assert.match(thumb, /^data:image\/png;base64,[A-Za-z0-9+/=]+$/);
  const meta = await sharp(Buffer.from(thumb.slice(thumb.indexOf(',') + 1), 'base64')).metadata();
  const photo = await sharp(join(PHOTOS_DIR, 'chelsea.png')).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(Math.max(meta.width, meta.height), 64);
  assert.equal(Math.round((meta.width / meta.height) * 10), Math.round((photo.width / photo.height) * 10), 'aspect kept');

  panel.webview.send({ type: 'tokenLocked', index: 5, method: 'gprune' });
  const locked = await until('locked state', () => (decisionsState(view)?.token === 5 ? decisionsState(view) : undefined));
  const methods = locked.rows.map((r) => r.method);
  assert.ok(methods.includes('f3a') && methods.includes('gprune') && methods.includes('divprune'));
  assert.equal(locked.budget, 40, 'the budget of the latest re-run');
  for (const r of locked.rows) assert.ok(r.reason.length > 0, r.method);
  const g = locked.rows.find((r) => r.method === 'gprune');
  assert.equal(g?.counterfactual.budget, (g?.rank ?? -2) + 1);

  // The panel's slider moved (G-Prune re-ranks in the webview, no re-run): the view follows the budget.
  const far = g && g.rank !== null ? (g.kept ? Math.max(1, g.rank) : g.rank + 1) : 1;
  panel.webview.send({ type: 'budget', budget: far });
  const moved = await until('budget state', () => (decisionsState(view)?.budget === far ? decisionsState(view) : undefined));
  const g2 = moved.rows.find((r) => r.method === 'gprune');
  assert.equal(g2?.budget, far);
  assert.equal(g2?.kept, !g?.kept, `token 5 has G-Prune rank ${g?.rank}: at budget ${far} the decision flips`);
  const f3aRow = moved.rows.find((r) => r.method === 'f3a');
  assert.equal(f3aRow?.budget, 40, 'F³A is shown as computed (at 40) until it is re-run');
  panel.webview.send({ type: 'budget', budget: 40 });
  await until('budget back', () => decisionsState(view)?.budget === 40);

  const before = posted(panel.webview, 'lockToken').length;
  view.webview.send({ type: 'step', direction: 1 });
  const lock = await until('lockToken', () => posted(panel.webview, 'lockToken')[before]);
  assert.ok(lock.type === 'lockToken' && lock.index !== null && lock.index > 5);
  const stepped = await until('stepped state', () => (decisionsState(view)?.token === (lock.type === 'lockToken' ? lock.index : -1) ? decisionsState(view) : undefined));
  assert.ok(stepped.disagreements.kept.length > 0 && stepped.disagreements.dropped.length > 0);

  // Export the table as CSV.
  const csvPath = join(storage, 'out', 'decisions.csv');
  recorder.saveAnswers.push(fake.Uri.file(csvPath));
  view.webview.send({ type: 'export', format: 'csv' });
  await until('csv', () => existsSync(csvPath));
  const csv = readFileSync(csvPath, 'utf8').trim().split('\r\n');
  assert.equal(csv.length, 1 + stepped.rows.length);
  assert.ok(csv[0].startsWith('token,row,col,method'));

  // Hidden and shown again: the last state is posted again.
  const n = view.webview.posted.length;
  view.setVisible(false);
  view.setVisible(true);
  await until('re-post', () => view.webview.posted.length > n);
  view.webview.send({ type: 'lock', index: 1e9 });
  view.webview.send({ type: 'nope' });
  await settle();
  assert.ok(recorder.logs.some((l) => /decisions view: ignored an invalid message/.test(l.text)));
});

test('prunelens.maxMegapixels reaches the decoder: an image over the limit is refused in one sentence', async () => {
  recorder.config['prunelens.maxMegapixels'] = 0.01;
  try {
    recorder.questions.push('');
    const before = recorder.errors.length;
    await recorder.commands.get('prunelens.analyzeImage')?.(fake.Uri.file(join(PHOTOS_DIR, 'coffee.png')));
    assert.equal(recorder.errors.length, before + 1);
    assert.match(recorder.errors.at(-1) ?? '', /coffee\.png is \d+×\d+ \([\d.]+ megapixels\), above the 0\.01-megapixel limit/);
    assert.equal(recorder.panels.length, 1, 'no panel for a refused image');
  } finally {
    delete recorder.config['prunelens.maxMegapixels'];
  }
});

test('a corrupt image gives one clear error sentence, and the next analysis still works', async () => {
  recorder.questions.push('');
  const errorsBefore = recorder.errors.length;
  await recorder.commands.get('prunelens.analyzeImage')?.(fake.Uri.file(join(SHARED, 'images', 'edge', 'truncated.jpg')));
  assert.equal(recorder.errors.length, errorsBefore + 1);
  const msg = recorder.errors.at(-1) ?? '';
  assert.ok(!msg.includes('\n') && !/\bat .*\(.*:\d+:\d+\)/.test(msg), msg);
  assert.match(msg, /truncated\.jpg/);
  assert.equal(recorder.panels.length, 1, 'no panel for a failed analysis');

  recorder.questions.push(null);
  await recorder.commands.get('prunelens.analyzeImage')?.(fake.Uri.file(join(PHOTOS_DIR, 'coffee.png')));
  assert.equal(recorder.panels.length, 1, 'dismissing the question box cancels');

  await recorder.commands.get('prunelens.openBundle')?.(fake.Uri.file(join(ORACLE_DIR, 'oracle_f03_8x8x32.npz')));
  assert.equal(recorder.panels.length, 2);
  const bundlePanel = recorder.panels[1];
  bundlePanel.webview.send({ type: 'ready', protocol: 1 });
  const init = await until('bundle init', () => posted(bundlePanel.webview, 'init')[0]);
  assert.ok(init.type === 'init' && init.image === null && init.analysis.n === 64);
  await until('bundle listed', () => decisionsState(view)?.analyses.length === 2 || (view.webview.send({ type: 'ready' }), false));
  assert.equal(decisionsState(view)?.analyses.find((a) => a.source === 'oracle_f03_8x8x32.npz')?.thumbnail, null, 'a bundle has no image to show');
});

test('Open Token Bundle from the palette (file dialog); a file that is not a bundle is refused', async () => {
  // One editor group for all analyses: the first panel opened beside the image, the next joined its column,
  // and a panel dragged elsewhere and focused takes later panels with it.
  const [photoPanel, bundlePanel] = recorder.panels;
  assert.equal(photoPanel.viewColumn, 2, 'the first panel opens beside the image');
  assert.equal(bundlePanel.viewColumn, 2, 'the second panel joins the first one’s column');
  bundlePanel.focus(1);
  const before = recorder.panels.length;
  recorder.openAnswers.push([fake.Uri.file(join(ORACLE_DIR, 'oracle_f01_4x4x8.npz'))]);
  await recorder.commands.get('prunelens.openBundle')?.();
  assert.equal(recorder.panels.length, before + 1);
  const p = recorder.panels.at(-1) as fake.FakePanel;
  assert.equal(p.viewColumn, 1, 'a new panel opens in the last-active PruneLens panel’s column');
  assert.equal(p.title, 'PruneLens: oracle_f01_4x4x8.npz');
  assert.deepEqual(p.webview.options.localResourceRoots?.map((u) => u.fsPath).at(-1), ORACLE_DIR, 'the bundle folder is a resource root');
  p.webview.send({ type: 'ready', protocol: 1 });
  const init = await until('palette bundle init', () => posted(p.webview, 'init')[0]);
  assert.ok(init.type === 'init' && init.image === null && init.analysis.n === 16 && init.analysis.grid?.join('x') === '4x4');
  await recorder.commands.get('prunelens.openBundle')?.(fake.Uri.file(join(PHOTOS_DIR, 'chelsea.png')));
  assert.match(recorder.errors.pop() ?? '', /chelsea\.png is not a token bundle \(\.npz\)/);
  p.dispose();
});

test('PruneLens: Load Codebook puts a codebook into the analysis in front; a wrong width is refused naming both widths', async () => {
  const bundlePanel = recorder.panels.find((x) => x.title === 'PruneLens: oracle_f03_8x8x32.npz' && !x.disposed);
  assert.ok(bundlePanel);
  bundlePanel.active = true;
  const own = readBundle(join(ORACLE_DIR, 'oracle_f03_8x8x32.npz')).arrays.get('codebook');
  assert.ok(own && own.shape[1] === 32);
  const dir = join(storage, 'codebooks');
  mkdirSync(dir, { recursive: true });
  const wrong = join(dir, 'wrong-width.npy');
  writeFileSync(wrong, serializeNpy({ dtype: 'float32', shape: [4, 5], data: new Float32Array(20).fill(0.5) }));
  const good = join(dir, 'half.npy');
  const rows = Math.max(1, Math.floor(own.shape[0] / 2));
  writeFileSync(good, serializeNpy({ dtype: 'float32', shape: [rows, 32], data: Float32Array.from(own.data.subarray(0, rows * 32)) }));

  const errs = recorder.errors.length;
  await recorder.commands.get('prunelens.loadCodebook')?.(fake.Uri.file(wrong));
  assert.equal(recorder.errors.length, errs + 1);
  assert.match(recorder.errors.at(-1) ?? '', /^Codebook wrong-width\.npy does not fit this analysis: Array "codebook" has width 5 but "features" has width 32/);
  assert.ok(posted(bundlePanel.webview, 'requestFailed').some((m) => m.type === 'requestFailed' && m.requestId === 0));

  // From the file dialog this time, with a codebook of the right width.
  recorder.openAnswers.push([fake.Uri.file(good)]);
  const n = posted(bundlePanel.webview, 'entry').length;
  await recorder.commands.get('prunelens.loadCodebook')?.();
  const entry = await until('codebook entry', () => posted(bundlePanel.webview, 'entry')[n]);
  assert.ok(entry.type === 'entry' && entry.entry.method === 'codebook' && entry.entry.status === 'ok');
  assert.match(recorder.infos.at(-1) ?? '', /codebook half\.npy loaded for PruneLens: oracle_f03_8x8x32\.npz; the codebook method keeps \d+ of 64 tokens/);
  await recorder.commands.get('prunelens.loadCodebook')?.(fake.Uri.file(join(PHOTOS_DIR, 'chelsea.png')));
  assert.match(recorder.errors.pop() ?? '', /chelsea\.png is not a codebook \(\.npy, \.npz\)/);
});

test('prunelens.codebookPath with a codebook of the wrong width: the analysis runs, the codebook method says why it was skipped', async () => {
  const wrong = join(storage, 'codebooks', 'wrong-width.npy');
  recorder.config['prunelens.codebookPath'] = wrong;
  try {
    const before = recorder.panels.length;
    await recorder.commands.get('prunelens.openBundle')?.(fake.Uri.file(join(ORACLE_DIR, 'oracle_f01_4x4x8.npz')));
    assert.equal(recorder.panels.length, before + 1);
    const p = recorder.panels.at(-1) as fake.FakePanel;
    p.webview.send({ type: 'ready', protocol: 1 });
    const init = await until('init', () => posted(p.webview, 'init')[0]);
    assert.ok(init.type === 'init');
    const cb = init.analysis.results.find((e) => e.method === 'codebook');
    assert.equal(cb?.status, 'skipped');
    assert.match(cb?.status === 'skipped' ? cb.reason : '', /^codebook wrong-width\.npy not used — Array "codebook" has width 5 but "features" has width 8/);
    assert.ok(init.analysis.results.filter((e) => e.status === 'ok').length >= 5, 'the other methods ran');
    p.dispose();
  } finally {
    delete recorder.config['prunelens.codebookPath'];
  }
});

test('after a window reload the serializer restores the panel from the saved analysis', async () => {
  await until('saved session', () => (ctx.workspaceState.get<unknown[]>('prunelens.panels') ?? []).length >= 2);
  const revived = new fake.FakePanel('prunelens.inspector', 'PruneLens: chelsea.png', {});
  await recorder.serializers.get('prunelens.inspector')?.deserializeWebviewPanel(revived, { view: 'heatmap' });
  assert.match(revived.webview.html, /dist\/webview\.js/);
  revived.webview.send({ type: 'ready', protocol: 1 });
  const init = await until('revived init', () => posted(revived.webview, 'init')[0]);
  const original = posted(panel.webview, 'init')[0];
  assert.ok(init.type === 'init' && original.type === 'init');
  if (init.type !== 'init' || original.type !== 'init') return;
  assert.deepEqual(init.analysis, original.analysis);
  assert.equal(init.image?.bytes.byteLength, original.image?.bytes.byteLength);
  assert.ok(recorder.logs.some((l) => /restored PruneLens: chelsea\.png from the saved analysis and bundle/.test(l.text)));

  const unknown = new fake.FakePanel('prunelens.inspector', 'PruneLens: never-saved.png', {});
  await recorder.serializers.get('prunelens.inspector')?.deserializeWebviewPanel(unknown, undefined);
  assert.match(unknown.webview.html, /could not restore this analysis/);
  assert.doesNotMatch(unknown.webview.html, /<script/);
});
