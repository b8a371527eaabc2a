// `npm run bench` part 1: every method on a 24×24×1024 bundle and a 2880-token LLaVA-NeXT-like bundle.
import os from 'node:os';
import type { JsonObject } from '../extension/core/json.ts';
import { prune } from '../extension/core/methods/prune.ts';
import { METHODS } from '../extension/core/methods/registry.ts';
import { resolveParams } from '../extension/core/methods/params.ts';
import { syntheticBundle, type BenchBundleSpec } from './synthetic.ts';
import { median } from './stats.ts';
import { batchFor, batchMean, warmUp } from './scaling.ts';
import { table } from './markdown.ts';

export interface MethodTiming {
  bundle: string;
  n: number;
  d: number;
  method: string;
  k: number | null;
  medianMs: number;
  runs: number;
  /** Back-to-back runs per sample (the sample is their mean). */
  batch: number;
  error?: string;
}

export const BENCH_BUNDLES: BenchBundleSpec[] = [
  { label: '24×24×1024 (LLaVA-1.5)', base: { h: 24, w: 24 }, d: 1024 },
  { label: '2880×1024 (LLaVA-NeXT: 576 + 48×(47+newline))', base: { h: 24, w: 24 }, hires: { rows: 48, cols: 47 }, d: 1024 },
];

export function benchMethods(runs: number, log: (s: string) => void): MethodTiming[] {
  const out: MethodTiming[] = [];
  for (const spec of BENCH_BUNDLES) {
    const bundle = syntheticBundle(spec);
    const n = bundle.arrays.get('features')?.shape[0] ?? 0;
    // A LLaVA-like budget: 64 of 576 (≈ 11 %), scaled with n.
    const k = Math.round(n / 9);
    for (const m of METHODS) {
      const base = resolveParams(m, {});
      const budget = m.budgetParams(k, n, base);
      const params: JsonObject = { ...base, ...(budget ?? {}) };
      const mapping = m.id === 'prumerge' ? { cls_attn: 'llm_attn' } : {};
      try {
        const runOnce = (): unknown => prune(bundle, m.id, params, mapping);
        const batch = batchFor(warmUp(runOnce));
        const times = Array.from({ length: runs }, () => batchMean(runOnce, batch));
        const t: MethodTiming = { bundle: spec.label, n, d: spec.d, method: m.id, k: budget ? k : null, medianMs: median(times), runs, batch };
        out.push(t);
        log(`${spec.label} ${m.id}: ${t.medianMs.toFixed(1)} ms`);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        out.push({ bundle: spec.label, n, d: spec.d, method: m.id, k: null, medianMs: NaN, runs, batch: 0, error: msg });
        log(`${spec.label} ${m.id}: failed: ${msg}`);
      }
    }
  }
  return out;
}

export function methodsMarkdown(rows: MethodTiming[], command: string): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const body = table(
    ['bundle', 'method', 'budget k', 'batch', 'median ms', 'tokens/s', 'samples'],
    rows.map((r) => [
      r.bundle,
      r.method,
      r.k ?? 'method default',
      r.error ? '—' : r.batch,
      r.error ? `error: ${r.error}` : r.medianMs.toFixed(2),
      r.error ? '—' : Math.round((r.n / r.medianMs) * 1000).toLocaleString('en-US'),
      r.runs,
    ]),
  );
  return `## Pruning methods (warm, in-process)\n\nCommand: \`${command}\` — ${os.cpus().length} × ${cpu}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}.\nMedian of ${rows[0]?.runs ?? 0} samples after a warm-up of at least 3 runs and 300 ms (one run past 1 s), so the JIT has optimised the code; methods under 25 ms are timed in back-to-back batches of ⌈25 ms / run⌉ runs, a sample being the batch mean (as in the scaling section below, but without its idle pauses); each run is the whole \`prune()\` call, result and trace included; tokens/s = N / median time. Synthetic clustered bundles (bench/synthetic.ts), every role filled; budget ≈ N/9 where a method takes one (prumerge is adaptive; it reads the 1-D llm_attn array as its [CLS] attention here).\n\n${body}`;
}
