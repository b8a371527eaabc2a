// `npm run bench` part 3: every method in PruneLens against the official tensor operations (bench/reference.py,
// NumPy + OpenBLAS) on identical bundles, N ∈ {576, 2880, 8192, 16384} × d ∈ {1024, 4096}; the similarity
// kernel's GFLOP/s against this machine's GEMM peak; peak memory at 16k tokens in child processes; and a
// log-log scaling plot (bench/scaling.svg).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { writeBundle } from '../extension/core/bundle/io.ts';
import type { RoleMapping, TokenBundle } from '../extension/core/bundle/types.ts';
import type { JsonObject } from '../extension/core/json.ts';
import { resolveParams } from '../extension/core/methods/params.ts';
import { prune } from '../extension/core/methods/prune.ts';
import { METHODS } from '../extension/core/methods/registry.ts';
import { configureKernels, gemmNT, kernelPlan } from '../extension/core/numeric/gemm.ts';
import { cosineRows, forEachUpperBlock, staircaseRows } from '../extension/core/numeric/gram.ts';
import { kernelThreads } from '../extension/core/numeric/ort-gemm.ts';
import { table } from './markdown.ts';
import { PYTHON, ReferenceProcess, referenceAvailable, referenceOnce } from './reference-process.ts';
import { intervalLabel, median, medianInterval, speedupInterval, timeOnce } from './stats.ts';
import { lineChartSvg, type Series } from './svg.ts';
import { syntheticBundle } from './synthetic.ts';

interface Size {
  n: number;
  h: number;
  w: number;
}
const SIZES: Size[] = [
  { n: 576, h: 24, w: 24 },
  { n: 2880, h: 48, w: 60 },
  { n: 8192, h: 64, w: 128 },
  { n: 16384, h: 128, w: 128 },
];

/** Largest N at which the reference runs (5 times) within reasonable time on 2 cores; beyond: PruneLens only. */
const REF_MAX_N: Record<string, number> = {
  gprune: 2880, // matrix_power at 8192 is 3.3 TFLOP per run
  divprune: 2880, // index_select copies i×N rows per pick: ≈ 14 GB of copies per run at 8192
  cdpruner: 8192,
  codebook: 16384,
  tome: 8192,
  visionzip: 8192,
  prumerge: 8192,
  fastv: 16384,
  random: 8192,
  uniform: 8192,
  f3a: 2880,
};

/** Methods without official PyTorch code (F³A) or of PruneLens's own (baselines): NumPy reference only. */
const NUMPY_ONLY = new Set(['f3a', 'random', 'uniform']);

/** Methods whose similarity runs through the GEMM kernels: checked against the float64 path too. */
const GEMM_METHODS = new Set(['gprune', 'divprune', 'cdpruner', 'codebook', 'tome']);
/** Methods measured at 16,384 tokens (peak memory target). */
const BIG_METHODS = ['gprune', 'divprune', 'cdpruner'];

export interface ScalingRow {
  n: number;
  d: number;
  method: string;
  k: number;
  oursMs: number[];
  /** NumPy reference samples (bench/reference.py), paired with oursMs. */
  refMs: number[] | null;
  refNote: string;
  agree: string;
  /** PyTorch reference samples (bench/reference_torch.py), paired with oursMs; absent without PyTorch. */
  torchMs?: number[] | null;
  torchAgree?: string;
  f64: string;
  /** Runs per timed sample (batch mean). */
  batch?: number;
  error?: string;
}

export interface KernelRow {
  n: number;
  d: number;
  peakMs: number;
  stairMs: number;
  blockRows: number;
  executedFlops: number;
}

export interface BigRow {
  method: string;
  n: number;
  d: number;
  ms: number;
  maxRssMb: number;
  rssBeforeMb: number;
  refMs: number | null;
  refRssMb: number | null;
  refNote: string;
}

export interface ScalingResult {
  rows: ScalingRow[];
  kernels: KernelRow[];
  big: BigRow[];
  peak: JsonObject;
  /** PyTorch's matmul check, version and threads; absent when PyTorch was not measured. */
  torchPeak?: JsonObject;
  loadStart: number[];
  loadEnd: number[];
  runs: number;
  quick: boolean;
  seconds: number;
  /** Day of the measurement (YYYY-MM-DD), so a replot keeps it; absent in figures recorded before it was kept. */
  date?: string;
}

export function paramsFor(method: string, k: number, n: number): { params: JsonObject; mapping: RoleMapping } {
  const spec = METHODS.find((m) => m.id === method);
  if (!spec) throw new Error(`unknown method ${method}`);
  const base = resolveParams(spec, {});
  const budget = spec.budgetParams(k, n, base) ?? {};
  // PruMerge reads one [CLS] attention row: the bundle's 1-D llm_attn array plays it (as in bench/methods.ts).
  return { params: resolveParams(spec, { ...base, ...budget }), mapping: method === 'prumerge' ? { cls_attn: 'llm_attn' } : {} };
}

/**
 * OpenBLAS keeps its worker threads spinning for ≈ 2²⁸ cycles (≈ 0.1 s) after each call, onnxruntime's for
 * ≈ 40 ms; pause before every sample so neither side's spinning threads run during the other's measurement.
 */
const SETTLE_MS = 150;

/** Runs per batch at most: a 10 µs method needs ≈ 2,500 for a 25 ms sample the timer resolves well. */
const MAX_BATCH = 2500;
export const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SETTLE_MS));

/**
 * Warm-up: sessions, buffers and the JIT's optimised code (at least 3 runs and 300 ms; one run for what takes
 * over 1 s). The run cap only bounds sub-millisecond methods, which need thousands of calls before V8
 * optimises them (at 20 runs their first timed batches still ran unoptimised code, 5–10× slower). Returns
 * the median of the last five runs: one slow run (a GC, a busy host) once left the codebook at batches of 2.
 */
export function warmUp(fn: () => unknown): number {
  let spent = 0;
  let last = Infinity;
  const recent: number[] = [];
  for (let w = 0; w < 5000 && (w === 0 || spent < 300 || (w < 3 && last < 1000)); w++) {
    spent += last = timeOnce(fn);
    recent.push(last);
    if (recent.length > 5) recent.shift();
  }
  return median(recent);
}

/**
 * Runs per sample for something taking `ms` per run: work under 25 ms is timed in back-to-back batches
 * (≈ 25 ms each, as `prune --repeat` does), the reference with the same batch size.
 */
export function batchFor(ms: number): number {
  return Math.max(1, Math.min(MAX_BATCH, Math.ceil(25 / Math.max(ms, 1e-3))));
}

/** One PruneLens sample: the mean time of `batch` back-to-back runs. */
export function batchMean(fn: () => unknown, batch: number): number {
  return (
    timeOnce(() => {
      for (let b = 0; b < batch; b++) fn();
    }) / batch
  );
}

/** One reference sample: the mean of the runs it timed. */
export function refMean(ms: readonly number[]): number {
  return ms.reduce((a, b) => a + b, 0) / ms.length;
}

function sameKeep(a: number[], b: number[]): string {
  if (a.length === b.length && a.every((v, i) => v === b[i])) return 'same';
  const sb = new Set(b);
  return `differs (${a.filter((v) => !sb.has(v)).length} of ${a.length})`;
}

/** The reference processes of a run: NumPy always, PyTorch where it is installed. */
interface References {
  numpy: ReferenceProcess;
  torch: ReferenceProcess | null;
}

/** Two untimed runs (the reference converts the bundle and warms up); returns its kept indices. */
async function refWarm(ref: ReferenceProcess, npz: string, method: string, params: JsonObject): Promise<number[] | undefined> {
  const warm = await ref.run(npz, method, params, 2);
  await settle();
  if (warm.error) throw new Error(`${ref.kind} reference: ${warm.error}`);
  return warm.keep;
}

async function refSample(ref: ReferenceProcess, npz: string, method: string, params: JsonObject, batch: number): Promise<number> {
  await settle();
  const rr = await ref.run(npz, method, params, batch, 1);
  if (rr.error || !rr.ms) throw new Error(`${ref.kind} reference: ${rr.error}`);
  return refMean(rr.ms);
}

async function benchSize(size: Size, d: number, runs: number, refs: References, dir: string, methods: string[], log: (s: string) => void): Promise<ScalingRow[]> {
  const bundle = syntheticBundle({ label: `${size.h}×${size.w}×${d}`, base: { h: size.h, w: size.w }, d });
  const npz = join(dir, `bundle_${size.n}_${d}.npz`);
  writeBundle(npz, bundle);
  const k = Math.round(size.n / 9);
  const rows: ScalingRow[] = [];
  for (const method of methods) {
    const { params, mapping } = paramsFor(method, k, size.n);
    const row: ScalingRow = { n: size.n, d, method, k, oursMs: [], refMs: null, refNote: '', agree: '—', f64: '—', batch: 1 };
    try {
      const useRef = size.n <= (REF_MAX_N[method] ?? 0);
      let keep: number[] = [];
      const runOnce = (): void => {
        keep = prune(bundle, method, params, mapping).keep;
      };
      const batch = batchFor(warmUp(runOnce));
      row.batch = batch;
      let refKeep: number[] | undefined;
      let torchKeep: number[] | undefined;
      const torch = useRef && !NUMPY_ONLY.has(method) ? refs.torch : null;
      if (useRef) {
        refKeep = await refWarm(refs.numpy, npz, method, params);
        row.refMs = [];
      } else row.refNote = `reference skipped above N = ${REF_MAX_N[method]}`;
      if (torch) {
        torchKeep = await refWarm(torch, npz, method, params);
        row.torchMs = [];
      }
      // Alternate PruneLens and reference runs so both see the same load.
      for (let r = 0; r < runs; r++) {
        // Both sides start from the same idle pause, so neither meets the other's leftover threads, and
        // both make one untimed run after it: warm time excludes waking the pool threads, as the issue's
        // `(--repeat 11 − --repeat 1) / 10` does.
        if (useRef) {
          await settle();
          prune(bundle, method, params, mapping);
        }
        row.oursMs.push(batchMean(runOnce, batch));
        if (row.refMs) row.refMs.push(await refSample(refs.numpy, npz, method, params, batch));
        if (torch && row.torchMs) row.torchMs.push(await refSample(torch, npz, method, params, batch));
      }
      if (refKeep) row.agree = sameKeep(keep, refKeep);
      if (torchKeep) row.torchAgree = sameKeep(keep, torchKeep);
      if (GEMM_METHODS.has(method) && size.n <= 2880) {
        configureKernels({ precision: 'f64' });
        try {
          row.f64 = sameKeep(keep, prune(bundle, method, params, mapping).keep);
        } finally {
          configureKernels({ precision: 'auto' });
        }
      }
      const refText = row.refMs ? `${median(row.refMs).toFixed(2)} ms` : row.refNote;
      const torchText = row.torchMs ? ` | PyTorch ${median(row.torchMs).toFixed(2)} ms, keep ${row.torchAgree}` : '';
      log(`  N=${size.n} d=${d} ${method}: ${median(row.oursMs).toFixed(2)} ms | NumPy ${refText}, keep ${row.agree}${torchText} | f64 ${row.f64}`);
    } catch (err) {
      row.error = err instanceof Error ? err.message : String(err);
      log(`  N=${size.n} d=${d} ${method}: failed: ${row.error}`);
    }
    rows.push(row);
  }
  rmSync(npz, { force: true });
  return rows;
}

function kernelRow(n: number, d: number, runs: number): KernelRow {
  const data = new Float32Array(n * d);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s / 4294967296 - 0.5;
  }
  const x = { rows: n, cols: d, data };
  const plan = kernelPlan((n * n * d) / 2);
  const u = cosineRows(x, null, plan);
  const full = new Float32Array(n * n);
  const blockRows = staircaseRows(n);
  let executed = 0;
  for (let i0 = 0; i0 < n; i0 += blockRows) executed += 2 * Math.min(blockRows, n - i0) * (n - i0) * d;
  const peak: number[] = [];
  const stair: number[] = [];
  gemmNT(plan, data, n, data, n, d, full);
  forEachUpperBlock(u, plan, () => {});
  for (let r = 0; r < runs; r++) {
    peak.push(timeOnce(() => gemmNT(plan, data, n, data, n, d, full)));
    stair.push(timeOnce(() => forEachUpperBlock(u, plan, () => {})));
  }
  return { n, d, peakMs: median(peak), stairMs: median(stair), blockRows, executedFlops: executed };
}

function bigRun(dir: string, method: string, d: number, log: (s: string) => void): BigRow {
  const size = SIZES[3];
  const bundle: TokenBundle = syntheticBundle({ label: `${size.h}×${size.w}×${d}`, base: { h: size.h, w: size.w }, d });
  const npz = join(dir, `big_${d}.npz`);
  writeBundle(npz, bundle);
  const k = Math.round(size.n / 9);
  const { params } = paramsFor(method, k, size.n);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'child.ts'), npz, method, JSON.stringify(params)], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 30 * 60_000,
  });
  const row: BigRow = { method, n: size.n, d, ms: NaN, maxRssMb: NaN, rssBeforeMb: NaN, refMs: null, refRssMb: null, refNote: '' };
  if (r.status === 0) {
    const out = JSON.parse(r.stdout) as { ms: number; maxrss_kb: number; rss_before_kb: number };
    row.ms = out.ms;
    row.maxRssMb = out.maxrss_kb / 1024;
    row.rssBeforeMb = out.rss_before_kb / 1024;
  } else row.refNote = `PruneLens child failed: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`;
  if (size.n <= (REF_MAX_N[method] ?? 0)) {
    const ref = referenceOnce(npz, method, params, 20 * 60_000);
    if ('error' in ref) row.refNote = `reference failed: ${ref.error}`;
    else {
      row.refMs = ref.ms;
      row.refRssMb = ref.maxrssKb / 1024;
    }
  } else row.refNote = `reference skipped above N = ${REF_MAX_N[method]}`;
  log(`  N=${size.n} d=${d} ${method}: ${row.ms.toFixed(0)} ms, peak RSS ${row.maxRssMb.toFixed(0)} MB ${row.refNote}`);
  rmSync(npz, { force: true });
  return row;
}

export async function benchScaling(opts: { quick: boolean; runs: number }, log: (s: string) => void): Promise<ScalingResult> {
  const t0 = Date.now();
  const loadStart = os.loadavg();
  const dir = mkdtempSync(join(os.tmpdir(), 'prunelens-bench-'));
  // PRUNELENS_BENCH_TORCH=0 leaves PyTorch out; without python3-torch the run measures NumPy only.
  const withTorch = process.env.PRUNELENS_BENCH_TORCH !== '0' && referenceAvailable('torch');
  const refs: References = { numpy: new ReferenceProcess('numpy'), torch: withTorch ? new ReferenceProcess('torch') : null };
  const runs = opts.quick ? Math.min(opts.runs, 3) : Math.max(5, opts.runs);
  try {
    const peak = await refs.numpy.request({ cmd: 'peak' });
    await settle();
    log(`reference numpy ${String(peak.numpy)}: 1024³ float32 matmul ${Number(peak['1024x1024x1024']).toFixed(0)} GFLOP/s`);
    let torchPeak: JsonObject | undefined;
    if (refs.torch) {
      torchPeak = await refs.torch.request({ cmd: 'peak' });
      await settle();
      if (torchPeak.error) throw new Error(`torch reference: ${String(torchPeak.error)}`);
      log(`reference torch ${String(torchPeak.torch)} (${String(torchPeak.threads)} threads): 1024³ float32 matmul ${Number(torchPeak['1024x1024x1024']).toFixed(0)} GFLOP/s`);
    } else log('PyTorch not measured (python3-torch missing or PRUNELENS_BENCH_TORCH=0)');
    const kernels: KernelRow[] = [];
    // PRUNELENS_BENCH_SIZES=576x1024,2880x4096 limits every part of the run to those sizes (development only).
    const onlySizes = process.env.PRUNELENS_BENCH_SIZES?.split(',');
    const wanted = (n: number, d: number): boolean => !onlySizes || onlySizes.includes(`${n}x${d}`);
    for (const [n, d] of opts.quick ? [[2880, 1024]] : [[576, 1024], [2880, 1024], [2880, 4096], [8192, 1024]]) {
      if (!wanted(n, d)) continue;
      const k = kernelRow(n, d, runs);
      kernels.push(k);
      log(`kernel ${n}×${d}: full GEMM ${k.peakMs.toFixed(1)} ms, staircase ${k.stairMs.toFixed(1)} ms`);
    }
    const rows: ScalingRow[] = [];
    // PRUNELENS_BENCH_METHODS=a,b limits the run (development); the recorded figures use every method.
    const only = process.env.PRUNELENS_BENCH_METHODS?.split(',');
    const all = METHODS.map((m) => m.id).filter((m) => !only || only.includes(m));
    const dims = opts.quick ? [1024] : [1024, 4096];
    const sizes = opts.quick ? SIZES.slice(0, 2) : SIZES.slice(0, 3);
    for (const d of dims) {
      for (const size of sizes) {
        if (!wanted(size.n, d)) continue;
        log(`N=${size.n} d=${d}`);
        rows.push(...(await benchSize(size, d, runs, refs, dir, all, log)));
      }
    }
    const big: BigRow[] = [];
    if (!opts.quick && wanted(16384, 1024)) {
      log('N=16384 d=1024 (child processes)');
      for (const m of BIG_METHODS) big.push(bigRun(dir, m, 1024, log));
    }
    return { rows, kernels, big, peak, ...(torchPeak ? { torchPeak } : {}), loadStart, loadEnd: os.loadavg(), runs, quick: opts.quick, seconds: (Date.now() - t0) / 1000, date: new Date().toISOString().slice(0, 10) };
  } finally {
    refs.numpy.close();
    refs.torch?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const COLORS: Record<string, string> = {
  f3a: '#1b9e77',
  gprune: '#d95f02',
  codebook: '#7570b3',
  fastv: '#e7298a',
  visionzip: '#66a61e',
  divprune: '#e6ab02',
  cdpruner: '#a6761d',
  prumerge: '#1f78b4',
  tome: '#e31a1c',
  random: '#999999',
  uniform: '#333333',
};

export function scalingSvg(res: ScalingResult): string {
  const dims = [...new Set(res.rows.map((r) => r.d))];
  const panels = dims.map((d) => {
    const series: Series[] = [];
    for (const m of METHODS.map((x) => x.id)) {
      const mine = res.rows.filter((r) => r.d === d && r.method === m && !r.error);
      const bigs = res.big.filter((b) => b.d === d && b.method === m && Number.isFinite(b.ms));
      series.push({ label: m, color: COLORS[m] ?? '#000', points: [...mine.map((r) => ({ x: r.n, y: median(r.oursMs) })), ...bigs.map((b) => ({ x: b.n, y: b.ms }))] });
    }
    for (const m of ['gprune', 'divprune', 'cdpruner']) {
      const refs = res.rows.filter((r) => r.d === d && r.method === m && r.refMs && r.refMs.length);
      if (refs.length) series.push({ label: `${m} (reference)`, color: COLORS[m], dashed: true, points: refs.map((r) => ({ x: r.n, y: median(r.refMs as number[]) })) });
    }
    return { title: `d = ${d}`, series };
  });
  return lineChartSvg(panels, 'Warm run time vs tokens (log-log). Solid: PruneLens; dashed: official tensor ops in NumPy + OpenBLAS.');
}

/** "faster in NumPy: a, b; in PyTorch: c" over the sizes where both ran (majority of sizes per method). */
export function fasterFrameworks(res: ScalingResult): string {
  const wins = new Map<string, number>();
  for (const r of res.rows) {
    if (r.error || !r.refMs?.length || !r.torchMs?.length) continue;
    wins.set(r.method, (wins.get(r.method) ?? 0) + (median(r.torchMs) < median(r.refMs) ? 1 : -1));
  }
  const side = (torch: boolean): string => [...wins].filter(([, w]) => (torch ? w > 0 : w <= 0)).map(([m]) => m).join(', ') || 'none';
  return `faster in NumPy at most sizes: ${side(false)}; in PyTorch: ${side(true)}`;
}

function fmtMs(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function scalingMarkdown(res: ScalingResult, command: string, svgPath: string): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const gf1024 = Number(res.peak['1024x1024x1024']);
  const trusted = gf1024 > 50;
  const out: string[] = [];
  out.push(`## PruneLens vs the official tensor operations (${res.torchPeak ? 'NumPy and PyTorch references' : 'NumPy reference'}, OpenBLAS)`);
  out.push('');
  out.push(
    `Command: \`${command}\` — ${os.cpus().length} × ${cpu}, node ${process.version}, ${res.date ?? new Date().toISOString().slice(0, 10)}; ${res.seconds.toFixed(0)} s. ` +
      `Load average ${res.loadStart.map((v) => v.toFixed(1)).join(' / ')} at the start and ${res.loadEnd.map((v) => v.toFixed(1)).join(' / ')} at the end: this 2-core machine is shared with other work, so compare the ratios (PruneLens and reference runs alternate, one each, so both see the same load), not absolute times.`,
  );
  out.push('');
  out.push(
    `Reference: \`bench/reference.py\` run by ${PYTHON} with NumPy ${String(res.peak.numpy)} (BLAS libraries ${JSON.stringify(res.peak.blas_libraries)}, resolved by Debian's alternatives to OpenBLAS pthread), started with fixed glibc malloc thresholds (MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ = 2³⁰, see bench/reference-process.ts) so its large temporaries stay on the heap; ` +
      `its 1024³ float32 matmul reached ${gf1024.toFixed(0)} GFLOP/s and 2880×4096×2880 ${Number(res.peak['2880x4096x2880']).toFixed(0)} GFLOP/s ${trusted ? '(> 50 GFLOP/s: an optimised BLAS)' : '— **below 50 GFLOP/s: the reference BLAS is not optimised or the machine was saturated; do not trust these ratios**'}. ` +
      'It is written from ALGORITHMS.md with the official code\'s tensor ops (G-Prune `matrix_power`, DivPrune\'s `index_select` + min loop, CDPruner\'s einsum update, ToMe with `scatter_reduce` and source matrices); F³A has no official code and its reference is a NumPy reading of §4.3. ' +
        'Not the same work in two methods: the references build VisionZip\'s contextual tokens and PruMerge\'s merged tokens whole (d columns, as the official code hands them to the LLM), while PruneLens reports, and so computes, only their first four columns (contextual_first4, merged_first4); the kept tokens and assignments, which both sides compute in full, are what is compared.',
  );
  if (res.torchPeak) {
    const tp = res.torchPeak;
    out.push('');
    out.push(
      `Second reference: \`bench/reference_torch.py\`, the same methods with the official code's own PyTorch calls (\`F.normalize\`, \`torch.linalg.matrix_power\`, \`topk\`, \`index_select\`, \`einsum\`, \`scatter_reduce\`), PyTorch ${String(tp.torch)} (Debian's python3-torch, CPU, ${String(tp.threads)} threads, its matmuls on the same OpenBLAS: 1024³ ${Number(tp['1024x1024x1024']).toFixed(0)} GFLOP/s, 2880×4096×2880 ${Number(tp['2880x4096x2880']).toFixed(0)} GFLOP/s), started like NumPy's and alternated with it and PruneLens sample by sample. ` +
        "The issue's quoted reference times (G-Prune ≈ 24 ms, DivPrune ≈ 8 ms, CDPruner ≈ 12 ms at 576×1024) are of this framework. " +
        `Neither framework is faster everywhere (${fasterFrameworks(res)}), so the verdicts below take, per method and size, whichever was faster.`,
    );
  }
  out.push('');
  out.push(
    'Setup (once, as root): `apt-get install python3-numpy python3-torch libopenblas0-pthread` (without python3-torch the bench measures NumPy only), then check that `update-alternatives --display libblas.so.3-x86_64-linux-gnu` (and `liblapack.so.3-…`) point at `/usr/lib/x86_64-linux-gnu/openblas-pthread/`; if they point at the reference BLAS, run `update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3` (same for liblapack.so.3). The bench prints the matmul check first.',
  );
  out.push('');
  out.push(
    `Bundles: bench/synthetic.ts (clustered features on an h×w grid, every role filled), written once to .npz and read by both sides; budget k = round(N/9) through each method's budgetParams. ${res.runs} alternating runs after warm-up (PruneLens: ≥ 300 ms and ≥ 3 runs, or one run for methods slower than 1 s, so the JIT has optimised the code; reference: 2 runs); medians. Methods faster than 25 ms are timed in back-to-back batches of ⌈25 ms / run⌉ runs (at most ${MAX_BATCH.toLocaleString('en-US')}) on both sides, a sample being the batch mean (column "batch"). Speed-up = the reference's median / PruneLens's median. Each PruneLens sample and the reference sample taken right after it form a pair; the CI column is ${intervalText(res.runs)} Before every PruneLens and every reference sample the bench waits 150 ms (longer than OpenBLAS's idle threads, ≈ 0.1 s, and onnxruntime's, ≈ 40 ms, keep spinning), so each side starts from the same idle machine, then makes one untimed run that wakes its pool threads: warm time excludes the wake-up, as the issue's (--repeat 11 − --repeat 1) / 10 does. "same keep": the kept indices equal the reference's. "float64 path": PruneLens with every similarity in float64 (PRUNELENS_PRECISION=f64) keeps the same tokens as the default float32-GEMM path. PruneLens kernels: onnxruntime ${kernelThreads()} threads.`,
  );
  out.push('');
  out.push('### Similarity kernel (cosine Gram) vs this machine\'s GEMM peak');
  out.push('');
  out.push(
    table(
      ['N × d', 'onnxruntime full GEMM ms (peak)', 'peak GFLOP/s', 'PruneLens staircase ms', 'effective GFLOP/s (full Gram FLOPs / time)', '% of peak', 'executed GFLOP/s'],
      res.kernels.map((k) => {
        const fullFlops = 2 * k.n * k.n * k.d;
        const peakGf = fullFlops / k.peakMs / 1e6;
        const eff = fullFlops / k.stairMs / 1e6;
        return [`${k.n} × ${k.d}`, fmtMs(k.peakMs), peakGf.toFixed(0), fmtMs(k.stairMs), eff.toFixed(0), `${((eff / peakGf) * 100).toFixed(0)} %`, (k.executedFlops / k.stairMs / 1e6).toFixed(0)];
      }),
    ),
  );
  out.push('');
  out.push('The staircase computes each block of rows only against the columns at or after it (the Gram is symmetric): ≈ 56 % of the full product\'s FLOPs in ~8 GEMM calls. "Effective" counts the full Gram\'s FLOPs, "executed" those actually run.');
  out.push('');
  out.push('### Methods');
  out.push('');
  const torch = res.rows.some((r) => r.torchMs && r.torchMs.length);
  const refCells = (r: ScalingRow, ms: number[] | null | undefined, note: string): (string | number)[] => {
    const refm = ms && ms.length ? median(ms) : null;
    const ci = speedupInterval(r.oursMs, ms ?? null);
    return [refm === null ? note : fmtMs(refm), refm === null ? '—' : `${(refm / median(r.oursMs)).toFixed(2)}×`, ci ? intervalLabel(ci) : '—'];
  };
  const torchNote = (r: ScalingRow): string => (NUMPY_ONLY.has(r.method) ? 'NumPy only' : r.refNote || '—');
  const head = torch
    ? ['N', 'd', 'method', 'k', 'batch', 'PruneLens ms', 'NumPy ms', 'speed-up vs NumPy', 'paired 95 % CI', 'PyTorch ms', 'speed-up vs PyTorch', 'paired 95 % CI', 'same keep as NumPy / PyTorch', 'float64 path']
    : ['N', 'd', 'method', 'k', 'batch', 'PruneLens ms', 'reference ms', 'speed-up', 'paired speed-ups, 95 % CI of the median', 'same keep as reference', 'float64 path'];
  out.push(
    table(
      head,
      res.rows.map((r) => {
        if (r.error) return [r.n, r.d, r.method, r.k, '—', `error: ${r.error}`, ...head.slice(6).map(() => '—')];
        const lead = [r.n, r.d, r.method, r.k, r.batch ?? 1, fmtMs(median(r.oursMs)), ...refCells(r, r.refMs, r.refNote)];
        if (!torch) return [...lead, r.agree, r.f64];
        return [...lead, ...refCells(r, r.torchMs, torchNote(r)), `${r.agree} / ${r.torchAgree ?? '—'}`, r.f64];
      }),
    ),
  );
  if (res.big.length) {
    out.push('');
    out.push('### 16,384 tokens × 1024: one run per method in its own process (peak RSS = the process high-water mark)');
    out.push('');
    out.push(
      table(
        ['method', 'PruneLens ms', 'PruneLens peak RSS MB', 'RSS before the run MB (node + bundle)', 'reference ms', 'reference peak RSS MB'],
        res.big.map((b) => [b.method, fmtMs(b.ms), b.maxRssMb.toFixed(0), b.rssBeforeMb.toFixed(0), b.refMs === null ? b.refNote : fmtMs(b.refMs), b.refRssMb === null ? '—' : b.refRssMb.toFixed(0)]),
      ),
    );
  }
  out.push('');
  out.push('### Targets of issue 8 (from the figures above)');
  out.push('');
  if (torch) {
    out.push(`Against the faster reference of each method (NumPy or PyTorch, whichever ran it faster in this run; F³A, random and uniform have NumPy only):`);
    out.push('');
  }
  out.push(...targetLines(res, 'faster').map((l) => `- ${l}`));
  if (torch) {
    for (const basis of ['numpy', 'torch'] as const) {
      out.push('');
      out.push(basis === 'numpy' ? 'Speed targets against NumPy alone (bench/reference.py):' : "Speed targets against PyTorch alone (bench/reference_torch.py, the official code's framework; F³A, random and uniform: NumPy):");
      out.push('');
      out.push(...speedTargetLines(res, basis).map((l) => `- ${l}`));
    }
  }
  out.push('');
  out.push(
    'Numerics: similarities of large inputs come from onnxruntime\'s float32 GEMM (as the official code computes them); every decision a float32 value cannot settle — an entry within the float32 error bound of θ (G-Prune), a pick, argmax or k-th boundary within twice the bound (DivPrune, codebook, ToMe, PruMerge, F³A Stage 3–4 similarities) — is recomputed in float64, and all accumulation (softmax, propagation, DPP updates) is float64. F³A tags are summed exactly in float64 (WebAssembly SIMD, same order as the TypeScript loop). CDPruner\'s DPP runs on float32 kernel entries like the official code; gains ≤ 1e-5·max L_ii count as 0 (a saturated kernel leaves only rounding), so its tail follows relevance on every backend (docs/DECISIONS.md); past 4,096 tokens (where its pick rows outgrow the cache) they are stored in float32, as the official code stores them (arithmetic stays float64), and each pick\'s passes are split between two threads (bit-identical to one). Small inputs (the oracle cases, except PruMerge\'s kNN at 576 tokens, which is screened in float32 and settled in float64 like the large ones) stay entirely in float64 TypeScript; every oracle replay is exact either way. `PRUNELENS_PRECISION=f64` runs every similarity in float64; `PRUNELENS_KERNELS=ts|ort` forces the backend; `PRUNELENS_THREADS` sets onnxruntime\'s threads (1 also keeps CDPruner\'s picks on one thread); their idle threads spin ≈ 40 ms before sleeping, as BLAS threads do (`PRUNELENS_SPIN=0`: sleep at once). G-Prune groups of ≥ 1,024 tokens are screened by an int8 GEMM (uint8 × int8, VNNI) whose rigorous error bound shows which entries lie below θ − 2ε; float32 GEMMs run only on the column ranges it flags, so the edges and re-checks are those of the unscreened scan (`PRUNELENS_SCREEN=0` turns the screen off).',
  );
  out.push('');
  out.push(`![Run time vs tokens, log-log, one line per method](${svgPath})`);
  return out.join('\n');
}

/** Which reference a verdict compares against: one framework, or per method the one with the lower median. */
export type RefBasis = 'numpy' | 'torch' | 'faster';

/** The reference samples of `r` on `basis` (PyTorch falls back to NumPy for the methods it lacks). */
export function refSamplesOf(r: ScalingRow, basis: RefBasis): number[] | null {
  const np = r.refMs && r.refMs.length ? r.refMs : null;
  const th = r.torchMs && r.torchMs.length ? r.torchMs : null;
  if (basis === 'numpy') return np;
  if (basis === 'torch') return th ?? (NUMPY_ONLY.has(r.method) ? np : null);
  if (!np || !th) return np ?? th;
  return median(th) < median(np) ? th : np;
}

function rowOf(res: ScalingResult, n: number, d: number, method: string, basis: RefBasis): ScalingRow | null {
  const r = res.rows.find((x) => x.n === n && x.d === d && x.method === method && !x.error);
  return r && refSamplesOf(r, basis) ? r : null;
}

function ratioOf(res: ScalingResult, n: number, d: number, method: string, basis: RefBasis): number | null {
  const r = rowOf(res, n, d, method, basis);
  const ref = r ? refSamplesOf(r, basis) : null;
  return r && ref ? median(ref) / median(r.oursMs) : null;
}


/** How the CI column is formed from `runs` pairs (which order statistics, with what coverage). */
export function intervalText(runs: number): string {
  const ranks = medianInterval(Array.from({ length: runs }, (_, i) => i + 1));
  if (!ranks) return `empty: no distribution-free 95 % interval of a median exists with ${runs} pairs (it needs at least 6).`;
  return `the distribution-free 95 % interval of the median of the pairs' speed-ups (order statistics: pairs ${ranks.lo} and ${ranks.hi} of ${runs} in rank order, coverage ${(ranks.coverage * 100).toFixed(1)} %). Where it contains a target, this run's noise is too large to tell whether the target holds.`;
}

/** ", paired 95 % CI a–b×" for a method's speed-up, with a warning where the interval contains `target`. */
function intervalNote(res: ScalingResult, n: number, d: number, method: string, target: number | null, basis: RefBasis): string {
  const r = rowOf(res, n, d, method, basis);
  const ci = r ? speedupInterval(r.oursMs, refSamplesOf(r, basis)) : null;
  if (!ci) return '';
  const spans = target !== null && ci.lo < target && ci.hi >= target;
  return `, paired 95 % CI ${intervalLabel(ci)}${spans ? `: it contains ${target}×, so this run cannot tell` : ''}`;
}

const yes = (ok: boolean): string => (ok ? '**met**' : '**not met**');

/** The issue's speed targets against `basis`'s reference samples. */
export function speedTargetLines(res: ScalingResult, basis: RefBasis): string[] {
  const lines: string[] = [];
  const ratio = (n: number, d: number, m: string): string => `${(ratioOf(res, n, d, m, basis) ?? 0).toFixed(2)}×`;
  for (const [n, d] of [
    [576, 1024],
    [2880, 4096],
  ]) {
    const rows = res.rows.filter((r) => r.n === n && r.d === d && !r.error && refSamplesOf(r, basis));
    if (rows.length === 0) continue;
    const slow = rows.filter((r) => (ratioOf(res, n, d, r.method, basis) ?? 0) < 1);
    // Methods that passed, but whose interval reaches below 1×: the verdict could flip with the next run.
    const close = rows.filter((r) => !slow.includes(r) && (speedupInterval(r.oursMs, refSamplesOf(r, basis))?.lo ?? Infinity) < 1);
    lines.push(
      `${n}×${d}: every method at least as fast as the reference — ${yes(slow.length === 0)}` +
        (slow.length ? ` (slower: ${slow.map((r) => `${r.method} ${ratio(n, d, r.method)}${intervalNote(res, n, d, r.method, 1, basis)}`).join('; ')})` : '') +
        (close.length ? ` (but within noise of 1×, the paired interval reaching below it: ${close.map((r) => `${r.method} ${ratio(n, d, r.method)}${intervalNote(res, n, d, r.method, null, basis)}`).join('; ')})` : ''),
    );
  }
  const g576 = ratioOf(res, 576, 1024, 'gprune', basis);
  if (g576 !== null) lines.push(`G-Prune ≥ 3× at 576×1024 — ${yes(g576 >= 3)} (${g576.toFixed(2)}×${intervalNote(res, 576, 1024, 'gprune', 3, basis)})`);
  const g2880 = ratioOf(res, 2880, 4096, 'gprune', basis);
  if (g2880 !== null) lines.push(`G-Prune ≥ 2.5× at 2880×4096 — ${yes(g2880 >= 2.5)} (${g2880.toFixed(2)}×${intervalNote(res, 2880, 4096, 'gprune', 2.5, basis)})`);
  return lines;
}

/** The issue's "must be true" list, checked against this run (speed targets against `basis`). */
export function targetLines(res: ScalingResult, basis: RefBasis = 'faster'): string[] {
  const lines = speedTargetLines(res, basis);
  const k = res.kernels.find((x) => x.n === 2880 && x.d === 4096);
  if (k) {
    const full = 2 * k.n * k.n * k.d;
    const peak = full / k.peakMs / 1e6;
    const eff = full / k.stairMs / 1e6;
    const exe = k.executedFlops / k.stairMs / 1e6;
    lines.push(
      `similarity kernel ≥ 50 % of the GEMM peak at 2880×4096 — ${yes(eff >= peak / 2)} (effective ${eff.toFixed(0)} GFLOP/s = ${((eff / peak) * 100).toFixed(0)} % of ${peak.toFixed(0)}; executed ${exe.toFixed(0)} GFLOP/s = ${((exe / peak) * 100).toFixed(0)} %)`,
    );
  }
  for (const b of res.big) lines.push(`${b.method} at 16,384×1024 under 2 GB peak RSS — ${yes(b.maxRssMb < 2048)} (${b.maxRssMb.toFixed(0)} MB, ${(b.ms / 1000).toFixed(1)} s)`);
  const agreeF64 = res.rows.filter((r) => r.f64 !== '—');
  const bad = agreeF64.filter((r) => r.f64 !== 'same');
  lines.push(`decisions equal to PruneLens' float64 path on every bundle checked (${agreeF64.length} method × size runs) — ${yes(bad.length === 0)}${bad.length ? ` (${bad.map((r) => `${r.method} N=${r.n} d=${r.d}`).join(', ')})` : ''}`);
  return lines;
}

export function writeScalingSvg(res: ScalingResult, path: string): void {
  writeFileSync(path, scalingSvg(res));
}
