// Builds a platform-specific VSIX from the current build (npm run build first; `npm run package` does both).
//   node scripts/package-vsix.mjs [--target linux-x64|linux-arm64|win32-x64|win32-arm64|darwin-arm64] [--out file.vsix]
// .vscodeignore names the shipped files for linux-x64; for another target its native-binary segments are
// rewritten into out/vsix/<target>.vscodeignore. The finished VSIX is then opened and checked: only this
// target's native binaries, no sources, no tests, no source maps, the probe model present. Prints its size
// and file count. Exit 1 on any problem.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// VS Code target → onnxruntime-node binary folder and sharp's platform packages.
// onnxruntime-node 1.30 ships no darwin-x64 or musl binaries, so those targets cannot be built.
const TARGETS = {
  'linux-x64': { ort: 'linux/x64', sharp: 'linux-x64' },
  'linux-arm64': { ort: 'linux/arm64', sharp: 'linux-arm64' },
  'win32-x64': { ort: 'win32/x64', sharp: 'win32-x64' },
  'win32-arm64': { ort: 'win32/arm64', sharp: 'win32-arm64' },
  'darwin-arm64': { ort: 'darwin/arm64', sharp: 'darwin-arm64' },
};
const TEMPLATE = TARGETS['linux-x64'];

function fail(message) {
  console.error(`package-vsix: ${message}`);
  process.exit(1);
}

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const target = arg('--target') ?? `${process.platform}-${process.arch}`;
const spec = TARGETS[target];
if (!spec) fail(`unknown target "${target}"; one of: ${Object.keys(TARGETS).join(', ')}`);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const out = resolve(arg('--out') ?? join(ROOT, 'out', `${pkg.name}-${target}-${pkg.version}.vsix`));

// Inputs that must exist before vsce runs (it would silently package without them).
const required = [
  'dist/extension.cjs',
  'dist/worker.cjs',
  'dist/methods-worker.cjs',
  'dist/webview.js',
  'models/probe/prunelens.json',
  'models/probe/onnx/vision_model.onnx',
  `node_modules/onnxruntime-node/bin/napi-v6/${spec.ort}/onnxruntime_binding.node`,
  `node_modules/@img/sharp-${spec.sharp}/package.json`,
];
for (const f of required) {
  if (existsSync(join(ROOT, f))) continue;
  if (f.includes('@img/')) {
    // Cross-building: add this target's prebuilt sharp packages beside the host's (npm ci removes them again).
    const optional = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'sharp', 'package.json'), 'utf8')).optionalDependencies ?? {};
    const wanted = Object.entries(optional).filter(([name]) => name === `@img/sharp-${spec.sharp}` || name === `@img/sharp-libvips-${spec.sharp}`);
    fail(`${f} is missing: add sharp's ${target} binaries first: npm install --no-save --force ${wanted.map(([n, v]) => `${n}@${v}`).join(' ')}`);
  }
  fail(`${f} is missing: run \`npm run build\` first`);
}

// The per-target ignore file: only lines naming native binaries change.
const template = readFileSync(join(ROOT, '.vscodeignore'), 'utf8');
const ignore = template
  .split('\n')
  .map((line) => (line.startsWith('!node_modules/') ? line.replace(`napi-v6/${TEMPLATE.ort}/`, `napi-v6/${spec.ort}/`).replaceAll(`-${TEMPLATE.sharp}/`, `-${spec.sharp}/`) : line))
  .join('\n');
const ignoreFile = join(ROOT, 'out', 'vsix', `${target}.vscodeignore`);
mkdirSync(dirname(ignoreFile), { recursive: true });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(ignoreFile, ignore);

const vsce = join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
const started = Date.now();
execFileSync(
  process.execPath,
  [
    vsce,
    'package',
    '--target',
    target,
    '--ignoreFile',
    ignoreFile,
    '--out',
    out,
    // No repository URL (not published from a public repository): keep the README's relative links as
    // they are; VS Code resolves them inside the installed extension.
    '--allow-missing-repository',
    '--no-rewrite-relative-links',
  ],
  { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
);

// Open the VSIX and check what it holds (names and sizes only: nothing is decompressed).
const entries = [];
unzipSync(readFileSync(out), {
  filter: (f) => {
    entries.push({ name: f.name, size: f.originalSize });
    return false;
  },
});
const files = entries.map((e) => e.name).filter((n) => !n.endsWith('/'));
const problems = [];
const others = Object.entries(TARGETS).filter(([t]) => t !== target);
for (const f of files) {
  if (/\.(ts|mts|cts|map)$/.test(f) && !f.endsWith('.d.ts')) problems.push(`source or source map: ${f}`);
  if (f.endsWith('.d.ts') || f.endsWith('.d.mts') || f.endsWith('.d.cts')) problems.push(`type declarations: ${f}`);
  if (/^extension\/(test|webview|extension|bench|docs|scripts|test-output)\//.test(f)) problems.push(`not a runtime file: ${f}`);
  if (/\.test\.|\/test\//.test(f)) problems.push(`test file: ${f}`);
  for (const [t, s] of others) {
    if (f.includes(`/napi-v6/${s.ort}/`) || f.includes(`/@img/sharp-${s.sharp}/`) || f.includes(`/@img/sharp-libvips-${s.sharp}/`)) problems.push(`${t} binary: ${f}`);
  }
}
for (const f of [
  'extension/package.json',
  'extension/LICENSE.txt',
  'extension/dist/extension.cjs',
  'extension/dist/worker.cjs',
  'extension/dist/methods-worker.cjs',
  'extension/dist/webview.js',
  'extension/media/icon.png',
  'extension/media/webview.css',
  'extension/models/probe/prunelens.json',
  'extension/models/probe/tokenizer.json',
  'extension/models/probe/onnx/vision_model.onnx',
  'extension/models/probe/onnx/text_model.onnx',
  `extension/node_modules/onnxruntime-node/bin/napi-v6/${spec.ort}/onnxruntime_binding.node`,
  'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
  // Marks dist/cjs as CommonJS inside an ESM package: without it require() fails at run time.
  'extension/node_modules/onnxruntime-common/dist/cjs/package.json',
  'extension/node_modules/sharp/dist/index.cjs',
  `extension/node_modules/@img/sharp-${spec.sharp}/package.json`,
  'extension/node_modules/@huggingface/tokenizers/dist/tokenizers.cjs',
]) {
  if (!files.includes(f) && !(f.endsWith('LICENSE.txt') && files.includes('extension/LICENSE'))) problems.push(`missing: ${f}`);
}
// Every file package.json points at (icons of commands, views, the extension) must be inside.
const referenced = new Set();
const walk = (v) => {
  if (typeof v === 'string' && /^\.?\/?(media|dist|models)\/[^*]+\.\w+$/.test(v)) referenced.add(v.replace(/^\.?\//, ''));
  else if (Array.isArray(v)) v.forEach(walk);
  else if (v && typeof v === 'object') Object.values(v).forEach(walk);
};
walk(pkg);
for (const f of referenced) if (!files.includes(`extension/${f}`)) problems.push(`package.json refers to ${f}, which is not in the VSIX`);
if (problems.length) fail(`the VSIX is not as intended:\n  ${problems.join('\n  ')}`);

// On the target's own platform, load every external module from the unpacked VSIX, as the extension will.
if (target === `${process.platform}-${process.arch}`) {
  const dir = join(ROOT, 'out', 'vsix', `${target}-unpacked`);
  rmSync(dir, { recursive: true, force: true });
  const all = unzipSync(readFileSync(out), { filter: (f) => f.name.startsWith('extension/') });
  for (const [name, bytes] of Object.entries(all)) {
    const dest = join(dir, name);
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, bytes);
  }
  const probe = [
    "const ort = require('onnxruntime-node');",
    "const sharp = require('sharp');",
    "const tok = require('@huggingface/tokenizers');",
    "if (typeof ort.InferenceSession?.create !== 'function' || typeof sharp !== 'function' || !tok.Tokenizer) throw new Error('unexpected exports');",
    "console.log(`runtime modules load: onnxruntime-node ${require('onnxruntime-node/package.json').version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips})`);",
  ].join('\n');
  execFileSync(process.execPath, ['-e', probe], { cwd: join(dir, 'extension'), stdio: ['ignore', 'inherit', 'inherit'] });
  rmSync(dir, { recursive: true, force: true });
}

const size = statSync(out).size;
const unpacked = entries.reduce((s, e) => s + e.size, 0);
const mib = (b) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
console.log(`VSIX ${relative(process.cwd(), out)} (${target}): ${mib(size)}, ${files.length} files, ${mib(unpacked)} unpacked, built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
