import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Analysis, AnalysisEntry } from '../../extension/core/analysis.ts';
import { readBundle } from '../../extension/core/bundle/io.ts';
import { PHOTOS_DIR, REPO } from '../helpers/paths.ts';

// `prunelens analyze` through the built CLI (dist/cli.cjs from `npm run build`, which also generates the
// probe model) on every example photo with the built-in probe model.

const CLI = join(REPO, 'dist', 'cli.cjs');
const ALL = ['f3a', 'gprune', 'codebook', 'fastv', 'visionzip', 'divprune', 'cdpruner', 'prumerge', 'tome', 'random', 'uniform'];
// Photos after the first two run a subset (with one method that must be skipped) to keep the test short.
const SUBSET = ['f3a', 'cdpruner', 'gprune', 'fastv'];

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Ok = Extract<AnalysisEntry, { status: 'ok' }>;

function readAnalysis(dir: string): Analysis {
  return JSON.parse(readFileSync(join(dir, 'analysis.json'), 'utf8')) as Analysis;
}

test('analyze succeeds on every example photo with the probe: analysis.json, bundle.npz and one PNG per method that ran', async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-analyze-'));
  try {
    const photos = readdirSync(PHOTOS_DIR)
      .filter((f) => /\.(png|jpe?g|gif|webp|bmp)$/i.test(f))
      .sort();
    assert.ok(photos.length >= 5, 'expected the example photos');
    for (const [i, photo] of photos.entries()) {
      const out = join(dir, `out-${i}`);
      const methods = i < 2 ? ALL : SUBSET;
      const question = i % 3 === 2 ? [] : ['--question', i % 2 === 0 ? 'where is the orange cat?' : 'what is on the left, dark or bright?'];
      const extra = i === 0 ? ['--provider', 'auto', '--html'] : ['--provider', 'cpu', '--threads', '1'];
      const r = cli(['analyze', join(PHOTOS_DIR, photo), '--model', 'probe', '--methods', i < 2 ? 'all' : SUBSET.join(','), '--out', out, ...question, ...extra]);
      assert.equal(r.status, 0, `analyze ${photo}: ${r.stderr}`);

      const a = readAnalysis(out);
      const meta = await sharp(join(PHOTOS_DIR, photo)).metadata();
      assert.equal(a.version, 1);
      assert.deepEqual(a.image, { path: join(PHOTOS_DIR, photo), width: meta.width, height: meta.height }, photo);
      assert.equal(a.question, question[1] ?? '');
      assert.equal(a.model.id, 'probe');
      assert.equal(a.model.name, 'PruneLens Probe');
      assert.match(a.model.description, /not a vision-language model/);
      assert.equal(a.model.weightsKind, 'probe');
      assert.deepEqual(a.grid, [24, 24]);
      assert.equal(a.n, 576);
      assert.equal(a.budget, 64);
      assert.deepEqual(
        a.results.map((e) => e.method),
        methods,
      );
      const ran = a.results.filter((e): e is Ok => e.status === 'ok');
      for (const e of a.results) {
        if (e.status === 'ok') {
          if (e.method !== 'prumerge') assert.equal(e.keep.length, 64, `${photo} ${e.method}`);
          assert.ok(e.keep.every((k, j) => Number.isInteger(k) && k >= 0 && k < 576 && (j === 0 || k > e.keep[j - 1])), `${photo} ${e.method}: keep sorted, in range`);
          assert.ok(e.time_ms >= 0 && typeof e.params === 'object');
          assert.ok(e.display.scores === null || e.display.scores.length === 576);
        } else {
          assert.equal(e.status, 'skipped', `${photo} ${e.method}: ${e.reason}`);
          assert.match(e.reason, /^needs (codebook|llm_attn|text) — /);
          assert.match(r.stdout, new RegExp(`${e.method}\\s+—\\s+skipped: needs`));
        }
      }
      // Without a question CDPruner says what it needs; with one it runs.
      const cd = a.results.find((e) => e.method === 'cdpruner');
      assert.equal(cd?.status, question.length > 0 ? 'ok' : 'skipped');
      assert.equal(ran.some((e) => e.method === 'fastv'), false);

      const b = readBundle(join(out, 'bundle.npz'));
      assert.deepEqual(b.arrays.get('features')?.shape, [576, 23]);
      assert.equal(b.meta.model, 'probe');
      assert.equal(b.meta.weightsKind, 'probe');
      assert.equal(b.arrays.has('text'), question.length > 0);

      const pngs = readdirSync(out)
        .filter((f) => f.endsWith('.png'))
        .sort();
      assert.deepEqual(pngs, ran.map((e) => `${e.method}.png`).sort(), photo);
      for (const png of pngs) {
        const m = await sharp(join(out, png)).metadata();
        assert.deepEqual([m.format, m.width, m.height], ['png', 672, 672], `${photo} ${png}`);
      }
      for (const e of ran) assert.match(r.stdout, new RegExp(`${e.method}\\s+${e.keep.length}/576\\s+[0-9.]+ ms`));

      if (i === 0) {
        // auto: the provider that ran is recorded, and why the GPU providers did not (none here) .
        assert.ok(['cpu', 'cuda', 'webgpu', 'dml', 'coreml'].includes(a.model.provider));
        if (a.model.provider === 'cpu' && process.platform === 'linux') {
          for (const p of ['cuda', 'webgpu']) assert.ok(a.model.providerNotes.some((s) => s.startsWith(`${p}: `)), `${p} skip reason in ${a.model.providerNotes.join(' | ')}`);
        }
        const html = readFileSync(join(out, 'report.html'), 'utf8');
        assert.match(html, /^<!doctype html>/i);
        assert.ok(html.includes('PruneLens Probe'), 'the report carries the analysis');
      } else {
        assert.equal(a.model.provider, 'cpu');
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('analysis.json results carry the same fields as `prune --json`, and the bundle re-analyses to the same keep sets', async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-analyze-b-'));
  try {
    const out = join(dir, 'img');
    const photo = join(PHOTOS_DIR, 'chelsea.png');
    const methods = 'cdpruner,gprune,f3a';
    const r = cli(['analyze', photo, '--question', 'where is the orange cat?', '--methods', methods, '--budget', '40', '--provider', 'cpu', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const a = readAnalysis(out);
    assert.equal(a.budget, 40);
    const byId = new Map(a.results.map((e) => [e.method, e as Ok]));
    assert.equal(byId.get('cdpruner')?.params.relevance_sign, 1, "the probe manifest's CDPruner sign");
    for (const id of methods.split(',')) {
      const e = byId.get(id);
      assert.ok(e && e.status === 'ok');
      const args = Object.entries(e.params).flatMap(([k, v]) => ['--param', `${k}=${JSON.stringify(v)}`]);
      const p = cli(['prune', join(out, 'bundle.npz'), '--method', id, ...args, '--json']);
      assert.equal(p.status, 0, p.stderr);
      const want = JSON.parse(p.stdout) as { [k: string]: unknown };
      for (const [k, v] of Object.entries(want)) assert.deepEqual(e[k], v, `${id}.${k}`);
    }

    // The bundle alone: no model runs, the probe's method settings come from the bundle's metadata.
    const out2 = join(dir, 'bundle');
    const r2 = cli(['analyze', join(out, 'bundle.npz'), '--methods', methods, '--budget', '40', '--out', out2]);
    assert.equal(r2.status, 0, r2.stderr);
    const b = readAnalysis(out2);
    assert.equal(b.image, null);
    assert.equal(b.question, 'where is the orange cat?');
    assert.match(b.model.providerNotes[0], /no encoder ran/);
    for (const id of methods.split(',')) assert.deepEqual((b.results.find((e) => e.method === id) as Ok).keep, byId.get(id)?.keep, id);
    assert.deepEqual(readdirSync(out2).filter((f) => f.endsWith('.png')).sort(), ['cdpruner.png', 'f3a.png', 'gprune.png']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('analyze reports bad input as one clear sentence (exit 2)', () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  const photo = join(PHOTOS_DIR, 'chelsea.png');
  const cases: [string[], RegExp][] = [
    [['--methods', 'f3a,nope'], /Unknown method "nope"/],
    [['--budget', '0'], /--budget must be a positive whole number/],
    [['--budget', '10', '--ratio', '0.5'], /either --budget k or --ratio r/],
    [['--provider', 'tpu'], /Unknown execution provider "tpu"/],
    [['--model', join(REPO, 'no-such-model')], /Model not found/],
    [['--max-megapixels', '0.01'], /chelsea\.png is \d+×\d+ \([\d.]+ megapixels\), above the 0\.01-megapixel limit/],
    [['--max-megapixels', 'lots'], /--max-megapixels must be a positive number/],
  ];
  for (const [args, message] of cases) {
    const r = cli(['analyze', photo, '--out', join(tmpdir(), 'prunelens-never-written'), ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  const missing = cli(['analyze', join(REPO, 'missing.png')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /Image not found/);
  assert.equal(existsSync(join(tmpdir(), 'prunelens-never-written')), false);
});
