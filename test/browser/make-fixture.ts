/**
 * Builds HTML reports for the browser test (and for looking at the views by hand):
 *   - report.html: the 24×24 oracle bundle (oracle_f05) run through every implemented method at a
 *     budget of 144, with an image generated from the bundle's own features (so objects line up);
 *   - report-2880.html: a synthetic LLaVA-NeXT-sized analysis (24×24 base + 48×48 high-res = 2880
 *     tokens) with score-ranked methods, for the repaint-time measurement.
 * Run directly: node --import tsx test/browser/make-fixture.ts [outDir]
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import type { Analysis, AnalysisEntry } from '../../extension/core/analysis.ts';
import { readBundle } from '../../extension/core/bundle/io.ts';
import type { TokenBundle } from '../../extension/core/bundle/types.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { METHODS } from '../../extension/core/methods/registry.ts';
import { rankDescending } from '../../extension/core/numeric/ranking.ts';
import { failedEntry, resultEntry as okEntry } from '../../extension/core/analyze/entries.ts';
import { writeHtmlReport } from '../../extension/core/report/html.ts';
import { mulberry32 } from '../../models/onnx/builder.ts';
import { ORACLE_DIR, REPO } from '../helpers/paths.ts';

export const ORACLE_CASE = 'oracle_f05_24x24x64';
export const FIXTURE_BUDGET = 144;

/** An RGB image whose 24×24 layout follows the features: three seeded projections → colour, smoothed up. */
async function imageFromFeatures(bundle: TokenBundle, h: number, w: number, size: number): Promise<Uint8Array> {
  const f = bundle.arrays.get('features');
  if (!f) throw new Error('bundle has no features');
  const [n, d] = f.shape;
  const data = f.data as Float32Array;
  const rand = mulberry32(11);
  const dirs = [0, 1, 2].map(() => Float64Array.from({ length: d }, () => rand() - 0.5));
  const proj = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) norm += data[i * d + j] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (data[i * d + j] / norm) * dirs[c][j];
      proj[i * 3 + c] = s;
    }
  }
  const rgb = Buffer.alloc(n * 3);
  for (let c = 0; c < 3; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, proj[i * 3 + c]);
      hi = Math.max(hi, proj[i * 3 + c]);
    }
    for (let i = 0; i < n; i++) rgb[i * 3 + c] = Math.round(40 + (200 * (proj[i * 3 + c] - lo)) / Math.max(1e-9, hi - lo));
  }
  const png = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .resize(size, size, { kernel: 'cubic' })
    .blur(2)
    .png()
    .toBuffer();
  return new Uint8Array(png);
}

function runAll(bundle: TokenBundle, n: number, budget: number): { results: AnalysisEntry[]; total: number } {
  const results: AnalysisEntry[] = [];
  let total = 0;
  for (const spec of METHODS) {
    const params = spec.budgetParams(budget, n, {}) ?? {};
    const t0 = performance.now();
    try {
      const r = prune(bundle, spec.id, params);
      const dt = performance.now() - t0;
      total += dt;
      results.push(okEntry(spec, r, Math.round(dt * 10) / 10));
    } catch (err) {
      results.push(failedEntry(spec.id, err));
    }
  }
  return { results, total };
}

export async function oracleAnalysis(): Promise<{ analysis: Analysis; image: Uint8Array }> {
  const bundle = readBundle(join(ORACLE_DIR, `${ORACLE_CASE}.npz`));
  const [h, w] = [24, 24];
  const n = h * w;
  const { results, total } = runAll(bundle, n, FIXTURE_BUDGET);
  const image = await imageFromFeatures(bundle, h, w, 336);
  const analysis: Analysis = {
    version: 1,
    image: { path: `${ORACLE_CASE}-generated.png`, width: 336, height: 336 },
    question: 'What objects are in the picture?',
    model: {
      id: 'oracle-fixture',
      name: `Oracle fixture ${ORACLE_CASE}`,
      description: 'Synthetic features from the oracle test set; no vision model ran.',
      weightsKind: 'synthetic',
      provider: 'cpu',
      providerNotes: [],
    },
    grid: [h, w],
    n,
    budget: FIXTURE_BUDGET,
    timings_ms: { methods: Math.round(total) },
    results,
  };
  return { analysis, image };
}

/** Smooth blob field on a grid (a few Gaussians + noise), seeded. */
function blobs(rows: number, cols: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const centres = Array.from({ length: 5 }, () => [rand() * rows, rand() * cols, 2 + rand() * (rows / 5), rand()]);
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let v = 0.05 * rand();
      for (const [cr, cc, s, a] of centres) v += a * Math.exp(-((r - cr) ** 2 + (c - cc) ** 2) / (2 * s * s));
      out[r * cols + c] = v;
    }
  }
  return out;
}

export async function syntheticAnalysis2880(): Promise<{ analysis: Analysis; image: Uint8Array }> {
  const base = 24;
  const hires = 48;
  const n = base * base + hires * hires;
  const budget = Math.round(n / 4);
  const results: AnalysisEntry[] = ['synthetic_a', 'synthetic_b', 'synthetic_c'].map((method, k) => {
    const scores = [...blobs(base, base, 100 + k), ...blobs(hires, hires, 200 + k)];
    const keep = rankDescending(scores)
      .slice(0, budget)
      .sort((a, b) => a - b);
    return {
      method,
      status: 'ok',
      params: { seed: 100 + k },
      keep,
      time_ms: 0,
      display: { label: `Synthetic scores ${String.fromCharCode(65 + k)}`, selection: 'ranked', scoreName: 'synthetic score', scores, trace: {}, notes: ['Synthetic scores for the 2880-token repaint benchmark.'] },
    };
  });
  const size = 336;
  const raw = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      raw[o] = (x * 255) / size;
      raw[o + 1] = (y * 255) / size;
      raw[o + 2] = 128 + 100 * Math.sin((x + y) / 30);
    }
  }
  const image = new Uint8Array(await sharp(raw, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());
  const analysis: Analysis = {
    version: 1,
    image: { path: 'synthetic-2880.jpg', width: size, height: size },
    question: '',
    model: { id: 'synthetic', name: 'Synthetic 2880-token analysis', description: 'Generated scores; no model ran.', weightsKind: 'synthetic', provider: 'none', providerNotes: [] },
    grid: [base, base],
    n,
    budget,
    timings_ms: {},
    results,
  };
  return { analysis, image };
}

export interface Fixtures {
  report: string;
  report2880: string;
  analysis: Analysis;
  analysis2880: Analysis;
}

export async function writeFixtures(outDir: string): Promise<Fixtures> {
  mkdirSync(outDir, { recursive: true });
  const a = await oracleAnalysis();
  const b = await syntheticAnalysis2880();
  const report = join(outDir, 'report.html');
  const report2880 = join(outDir, 'report-2880.html');
  writeHtmlReport(a.analysis, a.image, report);
  writeHtmlReport(b.analysis, b.image, report2880);
  return { report, report2880, analysis: a.analysis, analysis2880: b.analysis };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(REPO, 'test', 'browser', 'make-fixture.ts')) {
  const out = resolve(process.argv[2] ?? join(REPO, 'test-output'));
  writeFixtures(out).then(
    (f) => {
      for (const e of f.analysis.results) console.log(`${e.method.padEnd(10)} ${e.status}${e.status === 'ok' ? ` keep ${e.keep.length}` : `: ${e.reason}`}`);
      console.log(`wrote ${f.report} and ${f.report2880}`);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
