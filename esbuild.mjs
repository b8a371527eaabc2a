// One build for every bundle: extension host (node/cjs), CLI (node/cjs), encoder worker, webview (browser).
import * as esbuild from 'esbuild';
import { chmodSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  // Native and host-provided modules are resolved at run time, never bundled.
  external: ['vscode', 'onnxruntime-node', 'sharp', '@huggingface/tokenizers'],
  // `import.meta.url` is empty in CJS output: map it to the bundle file's own URL (scripts/import-meta-url.mjs).
  define: { 'import.meta.url': 'import_meta_url' },
  inject: ['scripts/import-meta-url.mjs'],
  logLevel: 'warning',
};

const builds = [
  { ...nodeCommon, entryPoints: ['extension/host/extension.ts'], outfile: 'dist/extension.cjs' },
  { ...nodeCommon, entryPoints: ['extension/cli.ts'], outfile: 'dist/cli.cjs', banner: { js: '#!/usr/bin/env node' } },
  // The runtime worker process (onnxruntime runs only here); the host and the CLI fork it.
  { ...nodeCommon, entryPoints: ['extension/core/runtime/worker/entry.ts'], outfile: 'dist/worker.cjs' },
  // The methods worker process (forked): the host's budget re-runs and counterfactual searches, on the same
  // kernels (onnxruntime included) as the host's own thread.
  { ...nodeCommon, entryPoints: ['extension/core/analyze/prune-worker-entry.ts'], outfile: 'dist/methods-worker.cjs' },
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: !production,
    minify: production,
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview.js',
    logLevel: 'warning',
  },
  // The Decisions side view (its own small bundle, same CSP rules).
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: !production,
    minify: production,
    entryPoints: ['webview/decisions.ts'],
    outfile: 'dist/decisions.js',
    logLevel: 'warning',
  },
];

if (watch) {
  for (const options of builds) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  }
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
  chmodSync('dist/cli.cjs', 0o755);
}
