// `npm run bench` part 2: encode time per image (decode, preprocess, session.run, surgery outputs) and the
// ratio of total encode time to session.run, for a generated ViT-B/32-architecture graph (real FLOPs,
// random test weights) and the built-in probe model.
import os from 'node:os';
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { closeEncoder, encodeImage, openEncoder, prepareModel } from '../extension/core/runtime/encoder.ts';
import { resolveModel } from '../extension/core/runtime/model-folder.ts';
import { writeTestModelFolder } from '../models/testgen/folder.ts';
import { median } from './stats.ts';
import { table } from './markdown.ts';

const STAGES = ['time_decode_ms', 'time_preprocess_ms', 'time_tokenize_ms', 'time_session_run_ms', 'time_surgery_outputs_ms'] as const;

export interface EncodeRow {
  model: string;
  image: string;
  stages: Record<(typeof STAGES)[number], number>;
  totalMs: number;
  ratio: number;
}

async function benchModel(label: string, folder: string, photos: string[], runs: number, threads: number, log: (s: string) => void): Promise<EncodeRow[]> {
  const prepared = prepareModel(resolveModel(folder));
  const enc = await openEncoder(prepared, { executionProviders: ['cpu'], intraOpNumThreads: threads });
  const rows: EncodeRow[] = [];
  try {
    for (const photo of photos) {
      const samples: { stages: number[]; total: number }[] = [];
      for (let i = 0; i <= runs; i++) {
        const t0 = performance.now();
        const r = await encodeImage(enc, { image: photo, question: 'where is the red object on the left?' });
        const total = performance.now() - t0;
        if (i > 0) samples.push({ stages: STAGES.map((s) => Number(r.bundle.meta.extra[s] ?? 'NaN')), total });
      }
      const stages = Object.fromEntries(STAGES.map((s, j) => [s, median(samples.map((x) => x.stages[j]))])) as EncodeRow['stages'];
      const totalMs = median(samples.map((x) => x.total));
      const row: EncodeRow = { model: label, image: photo.split('/').pop() ?? photo, stages, totalMs, ratio: totalMs / stages.time_session_run_ms };
      rows.push(row);
      log(`encode ${label} ${row.image}: total ${totalMs.toFixed(1)} ms, session.run ${stages.time_session_run_ms.toFixed(1)} ms`);
    }
  } finally {
    await closeEncoder(enc);
  }
  return rows;
}

export async function benchEncode(photosDir: string, probeDir: string, runs: number, log: (s: string) => void): Promise<{ rows: EncodeRow[]; threads: number }> {
  const photos = readdirSync(photosDir)
    .filter((f) => /\.(png|jpe?g|gif|webp|bmp)$/i.test(f))
    .sort()
    .map((f) => join(photosDir, f));
  const threads = Math.min(2, os.cpus().length);
  const tmp = mkdtempSync(join(tmpdir(), 'prunelens-bench-'));
  const rows: EncodeRow[] = [];
  try {
    const template = join(process.cwd(), '..', 'shared', 'models', 'clip-vit-base-patch32');
    writeTestModelFolder(tmp, {
      template,
      vision: { imageSize: 224, patchSize: 32, width: 768, heads: 12, layers: 12, mlp: 3072, projection: 512 },
      text: { width: 512, heads: 8, layers: 12, mlp: 2048, projection: 512 },
    });
    rows.push(...(await benchModel('ViT-B/32 architecture (random test weights)', tmp, photos, runs, threads, log)));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (existsSync(join(probeDir, 'prunelens.json'))) rows.push(...(await benchModel('PruneLens Probe', probeDir, photos, runs, threads, log)));
  return { rows, threads };
}

export function encodeMarkdown(rows: EncodeRow[], threads: number, runs: number, command: string): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const f = (x: number): string => x.toFixed(1);
  const body = table(
    ['model', 'image', 'decode ms', 'preprocess ms', 'tokenize ms', 'session.run ms', 'surgery outputs ms', 'total ms', 'total / session.run'],
    rows.map((r) => [r.model, r.image, f(r.stages.time_decode_ms), f(r.stages.time_preprocess_ms), f(r.stages.time_tokenize_ms), f(r.stages.time_session_run_ms), f(r.stages.time_surgery_outputs_ms), f(r.totalMs), r.ratio.toFixed(2)]),
  );
  return `## Encode: image + question → TokenBundle (in-process, CPU EP, ${threads} threads)\n\nCommand: \`${command}\` — ${os.cpus().length} × ${cpu}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}.\nMedian of ${runs} runs after one warm-up per image; sessions opened once per model (session creation excluded). "surgery outputs" = turning the exposed tensors into bundle arrays (head-mean keys, [CLS] rows). The ratio shows how much of an encode is spent outside \`session.run\`.\n\n${body}`;
}
