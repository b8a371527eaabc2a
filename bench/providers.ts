// `npm run bench -- --only=providers`: the same generated towers and float32 GEMMs on each execution
// provider that loads here (CPU and, on a GPU machine, WebGPU or CUDA). It answers two questions: how much
// faster the encoder runs on a GPU provider, and whether the methods' similarity kernels would gain from
// running there too (issue 8: "measure both and keep the faster"). Opt-in, since on a machine without a GPU
// it would replace the recorded GPU rows with CPU-only ones.
import os from 'node:os';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import ort from 'onnxruntime-node';
import { closeEncoder, encodeImage, openEncoder, prepareModel, type Encoder } from '../extension/core/runtime/encoder.ts';
import { resolveModel } from '../extension/core/runtime/model-folder.ts';
import { oneLine, sessionOptionsFor } from '../extension/core/runtime/providers.ts';
import { gemmModel } from '../extension/core/numeric/ort-gemm.ts';
import { mulberry32 } from '../extension/core/numeric/prng.ts';
import { writeTestModelFolder, type TestFolderOptions } from '../models/testgen/folder.ts';
import { prune } from '../extension/core/methods/prune.ts';
import type { RoleMapping, TokenBundle } from '../extension/core/bundle/types.ts';
import { makeTensor } from '../extension/core/bundle/tensor.ts';
import { median } from './stats.ts';
import { table } from './markdown.ts';

/** Tower shapes with real FLOPs (random test weights): CLIP ViT-B/16 and LLaVA-1.5's ViT-L/14 at 336 px. */
const TOWERS: Record<string, { label: string; spec: Pick<TestFolderOptions, 'vision' | 'text'> }> = {
  b16: {
    label: 'ViT-B/16, 224 px (197 tokens)',
    spec: { vision: { imageSize: 224, patchSize: 16, width: 768, heads: 12, layers: 12, mlp: 3072, projection: 512 }, text: { width: 512, heads: 8, layers: 12, mlp: 2048, projection: 512 } },
  },
  l14: {
    label: 'ViT-L/14, 336 px (577 tokens)',
    spec: { vision: { imageSize: 336, patchSize: 14, width: 1024, heads: 16, layers: 24, mlp: 4096, projection: 768 }, text: { width: 768, heads: 12, layers: 12, mlp: 3072, projection: 768 } },
  },
};

/** Methods compared across providers, with the role mapping each needs on an encoder bundle. */
const COMPARED: { id: string; mapping?: RoleMapping }[] = [
  { id: 'gprune' },
  { id: 'f3a' },
  { id: 'codebook' },
  { id: 'divprune' },
  { id: 'cdpruner' },
  { id: 'visionzip' },
  { id: 'prumerge', mapping: { cls_attn: 'pm_cls_attn' } },
  { id: 'tome' },
];

/** GEMM shapes [m, n, k] the methods run: 576 and 2880 tokens' Grams, and row blocks of a 16,384-token Gram. */
const GEMM_SIZES: [number, number, number][] = [
  [576, 576, 1024],
  [2880, 2880, 1024],
  [2880, 2880, 4096],
  [1024, 16384, 1024],
  [4096, 16384, 1024],
];

export interface EncodeProviderRow {
  tower: string;
  provider: string;
  /** Session creation (graph optimisation, shader compilation happens on the first run). */
  openMs: number;
  firstRunMs: number;
  medianRunMs: number;
  error?: string;
}

export interface ProviderComparison {
  tower: string;
  provider: string;
  image: string;
  /** Largest |difference| over the largest |CPU value|, over every float array of the bundle. */
  maxRelDiff: number;
  /** Methods whose keep set equals the CPU bundle's, and those that differ (with the overlap). */
  same: string[];
  differ: string[];
}

export interface GemmProviderRow {
  provider: string;
  m: number;
  n: number;
  k: number;
  medianMs: number;
  gflops: number;
  /** Largest |C − exact| / (γ_k Σ|a_i b_i|) over sampled entries: ≤ 1 is what the methods' bounds assume. */
  errorOverBound: number;
  /** (1 + 2⁻²⁰)·1 − 1 + (1 + 2⁻²²)·1 came back exactly (a TF32 or float16 product would lose it). */
  fullFloat32: boolean;
  error?: string;
}

export interface ProvidersResult {
  /** YYYY-MM-DD of the run (kept in bench/providers.json, so re-rendering keeps it). */
  date: string;
  machine: string;
  gpu: string;
  encode: EncodeProviderRow[];
  comparisons: ProviderComparison[];
  gemm: GemmProviderRow[];
}

const message = (e: unknown): string => oneLine(e instanceof Error ? e.message : String(e));

/** The CPU bundle's every 9th token as a codebook, added to both bundles so the codebook method runs. */
function withCodebook(b: TokenBundle, from: TokenBundle): TokenBundle {
  const f = from.arrays.get('features');
  if (!f) return b;
  const [n, d] = f.shape;
  const rows = Math.ceil(n / 9);
  const data = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) data[r * d + j] = Number(f.data[r * 9 * d + j]);
  const arrays = new Map(b.arrays);
  arrays.set('codebook', makeTensor('float32', [rows, d], data));
  return { arrays, meta: b.meta };
}

function maxRelDiff(ref: TokenBundle, other: TokenBundle): number {
  let worst = 0;
  for (const [name, t] of ref.arrays) {
    const u = other.arrays.get(name);
    if (!u || !(t.data instanceof Float32Array) || u.data.length !== t.data.length) continue;
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < t.data.length; i++) {
      diff = Math.max(diff, Math.abs(t.data[i] - Number(u.data[i])));
      scale = Math.max(scale, Math.abs(t.data[i]));
    }
    if (scale > 0) worst = Math.max(worst, diff / scale);
  }
  return worst;
}

function compareDecisions(cpu: TokenBundle, other: TokenBundle): { same: string[]; differ: string[] } {
  const same: string[] = [];
  const differ: string[] = [];
  for (const { id, mapping } of COMPARED) {
    const a = prune(cpu, id, {}, mapping).keep;
    const b = prune(other, id, {}, mapping).keep;
    const inA = new Set(a);
    const common = b.filter((x) => inA.has(x)).length;
    if (common === a.length && a.length === b.length) same.push(id);
    else differ.push(`${id} (${common} of ${a.length} in common)`);
  }
  return { same, differ };
}

async function encodeAll(enc: Encoder, images: string[], runs: number): Promise<{ bundles: TokenBundle[]; first: number; times: number[] }> {
  const bundles: TokenBundle[] = [];
  const times: number[] = [];
  let first = NaN;
  for (const image of images) {
    let last: TokenBundle | null = null;
    for (let r = 0; r <= runs; r++) {
      const { bundle } = await encodeImage(enc, { image, question: 'where is the animal?' });
      const t = Number(bundle.meta.extra.time_session_run_ms);
      if (Number.isNaN(first)) first = t;
      else if (r > 0) times.push(t);
      last = bundle;
    }
    if (last) bundles.push(last);
  }
  return { bundles, first, times };
}

async function benchEncoders(providers: string[], towers: string[], template: string, images: string[], runs: number, log: (s: string) => void): Promise<Pick<ProvidersResult, 'encode' | 'comparisons'>> {
  const encode: EncodeProviderRow[] = [];
  const comparisons: ProviderComparison[] = [];
  for (const tower of towers) {
    const { label, spec } = TOWERS[tower];
    const dir = mkdtempSync(join(tmpdir(), `prunelens-providers-${tower}-`));
    try {
      writeTestModelFolder(dir, { template, ...spec });
      const prepared = prepareModel(resolveModel(dir));
      const bundles = new Map<string, TokenBundle[]>();
      for (const provider of providers) {
        const t0 = performance.now();
        try {
          const enc = await openEncoder(prepared, sessionOptionsFor(provider, 0));
          const openMs = performance.now() - t0;
          try {
            const r = await encodeAll(enc, images, runs);
            bundles.set(provider, r.bundles);
            encode.push({ tower: label, provider, openMs, firstRunMs: r.first, medianRunMs: median(r.times) });
            log(`providers: ${label} on ${provider}: session.run median ${median(r.times).toFixed(1)} ms (first ${r.first.toFixed(0)} ms)`);
          } finally {
            await closeEncoder(enc);
          }
        } catch (e) {
          encode.push({ tower: label, provider, openMs: NaN, firstRunMs: NaN, medianRunMs: NaN, error: message(e) });
          log(`providers: ${label} on ${provider}: ${message(e)}`);
        }
      }
      const cpu = bundles.get('cpu');
      for (const [provider, list] of bundles) {
        if (provider === 'cpu' || !cpu) continue;
        list.forEach((b, i) => {
          const { same, differ } = compareDecisions(withCodebook(cpu[i], cpu[i]), withCodebook(b, cpu[i]));
          comparisons.push({ tower: label, provider, image: images[i].split('/').pop() ?? images[i], maxRelDiff: maxRelDiff(cpu[i], b), same, differ });
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { encode, comparisons };
}

/** uniform[−1, 1) floats from the project's seeded PRNG. */
function uniform(n: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (next() - 0.5) * 2;
  return a;
}

/** Worst sampled |C − exact| / (γ_k Σ|a_i b_i|). */
function errorOverBound(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number): number {
  const u = 2 ** -24;
  const gamma = (k * u) / (1 - k * u);
  let worst = 0;
  for (let t = 0; t < 2000; t++) {
    const i = (t * 7919) % m;
    const j = (t * 104729) % n;
    let exact = 0;
    let abs = 0;
    for (let x = 0; x < k; x++) {
      const p = a[i * k + x] * b[j * k + x];
      exact += p;
      abs += Math.abs(p);
    }
    worst = Math.max(worst, Math.abs(c[i * n + j] - exact) / (gamma * abs));
  }
  return worst;
}

async function benchGemms(providers: string[], runs: number, log: (s: string) => void): Promise<GemmProviderRow[]> {
  const rows: GemmProviderRow[] = [];
  const bytes = gemmModel('float32');
  for (const provider of providers) {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, sessionOptionsFor(provider, 0));
    } catch (e) {
      rows.push({ provider, m: 0, n: 0, k: 0, medianMs: NaN, gflops: NaN, errorOverBound: NaN, fullFloat32: false, error: message(e) });
      continue;
    }
    try {
      const pa = Float32Array.of(1 + 2 ** -20, 1, 1 + 2 ** -22, 0);
      const pb = Float32Array.of(1, -1, 1, 0);
      const probe = (await session.run({ A: new ort.Tensor('float32', pa, [1, 4]), B: new ort.Tensor('float32', pb, [1, 4]) })).C.data as Float32Array;
      const fullFloat32 = probe[0] === Math.fround(1 + 2 ** -20 + 2 ** -22);
      for (const [m, n, k] of GEMM_SIZES) {
        const a = uniform(m * k, 1);
        const b = uniform(n * k, 2);
        const feeds = { A: new ort.Tensor('float32', a, [m, k]), B: new ort.Tensor('float32', b, [n, k]) };
        let c = (await session.run(feeds)).C.data as Float32Array;
        const times: number[] = [];
        for (let r = 0; r < runs; r++) {
          const t0 = performance.now();
          c = (await session.run(feeds)).C.data as Float32Array;
          times.push(performance.now() - t0);
        }
        const ms = median(times);
        rows.push({ provider, m, n, k, medianMs: ms, gflops: (2 * m * n * k) / ms / 1e6, errorOverBound: errorOverBound(a, b, c, m, n, k), fullFloat32 });
        log(`providers: Gemm ${m}×${n}×${k} on ${provider}: ${ms.toFixed(1)} ms`);
      }
    } finally {
      await session.release();
    }
  }
  return rows;
}

export async function benchProviders(opts: { providers: string[]; towers: string[]; template: string; imagesDir: string; runs: number }, log: (s: string) => void): Promise<ProvidersResult> {
  const images = readdirSync(opts.imagesDir)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort()
    .slice(0, 3)
    .map((f) => join(opts.imagesDir, f));
  const { encode, comparisons } = await benchEncoders(opts.providers, opts.towers, opts.template, images, opts.runs, log);
  const gemm = await benchGemms(opts.providers, opts.runs, log);
  const gpu = process.env.PRUNELENS_BENCH_GPU ?? 'not named (set PRUNELENS_BENCH_GPU)';
  return { date: new Date().toISOString().slice(0, 10), machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`, gpu, encode, comparisons, gemm };
}

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '—');

export function providersMarkdown(res: ProvidersResult, command: string): string {
  const cpuRun = new Map(res.encode.filter((r) => r.provider === 'cpu').map((r) => [r.tower, r.medianRunMs]));
  const encodeTable = table(
    ['tower (random test weights)', 'provider', 'session created ms', 'first run ms', 'median session.run ms', 'CPU / provider'],
    res.encode.map((r) => (r.error ? [r.tower, r.provider, `could not run: ${r.error}`, '', '', ''] : [r.tower, r.provider, f1(r.openMs), f1(r.firstRunMs), f1(r.medianRunMs), `${((cpuRun.get(r.tower) ?? NaN) / r.medianRunMs).toFixed(2)}×`])),
  );
  const comparisonTable = table(
    ['tower', 'provider', 'image', 'max relative difference from CPU', 'same keep as CPU', 'different keep'],
    res.comparisons.map((c) => [c.tower, c.provider, c.image, c.maxRelDiff.toExponential(1), c.same.join(', '), c.differ.join(', ') || 'none']),
  );
  const cpuGemm = new Map(res.gemm.filter((r) => r.provider === 'cpu').map((r) => [`${r.m}×${r.n}×${r.k}`, r.medianMs]));
  const gemmTable = table(
    ['provider', 'm × n × k', 'median ms', 'GFLOP/s', 'CPU / provider', 'worst error / γ_k bound', 'full float32 products'],
    res.gemm.map((r) => (r.error ? [r.provider, `could not run: ${r.error}`, '', '', '', '', ''] : [r.provider, `${r.m}×${r.n}×${r.k}`, f1(r.medianMs), f1(r.gflops), `${((cpuGemm.get(`${r.m}×${r.n}×${r.k}`) ?? NaN) / r.medianMs).toFixed(2)}×`, r.errorOverBound.toFixed(4), r.fullFloat32 ? 'yes' : 'no'])),
  );
  const verdicts = [...new Set(res.gemm.filter((r) => r.provider !== 'cpu' && !r.error).map((r) => r.provider))].map((p) => {
    const rows = res.gemm.filter((r) => r.provider === p && !r.error);
    const faster = rows.filter((r) => r.medianMs < (cpuGemm.get(`${r.m}×${r.n}×${r.k}`) ?? Infinity)).map((r) => `${r.m}×${r.n}×${r.k}`);
    const exact = rows.every((r) => r.fullFloat32 && r.errorOverBound <= 1);
    return `- ${p}: ${faster.length ? `faster than this machine's CPU at ${faster.join(', ')}` : "slower than this machine's CPU at every size, transfers included"}; ${exact ? 'full float32 products, every sampled error inside the γ_k bound the methods assume' : 'products NOT within the float32 bound the methods assume'}.`;
  });
  return `## Execution providers: encoder and similarity kernels on each (GPU machine)

Command: \`${command}\` — ${res.machine}, GPU: ${res.gpu}, ${res.date}.
Generated towers with real shapes and random test weights; each provider's session is created once, then every image (media/examples, first three) is encoded once untimed and timed after; threads: onnxruntime's default. The comparison re-runs the methods on each provider's bundles (a codebook of every 9th CPU token added to both) and compares their keep sets with the CPU bundle's. The GEMM rows time onnxruntime-node's float32 \`Gemm(A, Bᵀ)\` from host arrays to host arrays (what the methods' kernels would pay), on uniform[−1, 1) inputs, and check the result against float64 sums.

### Encoder

${encodeTable}

${comparisonTable}

### Similarity kernels (float32 GEMM)

${gemmTable}

${verdicts.join('\n')}`;
}
