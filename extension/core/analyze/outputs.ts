// Files of an analysis: analysis.json, bundle.npz and one PNG per method that ran (the model's view of the
// image with that method's heatmap and kept tokens). Each file is written atomically.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeBundle } from '../bundle/io.ts';
import { renderOverlay, type RgbImage } from './overlay.ts';
import type { AnalysisOutcome } from './types.ts';
import { blankView, encodePng, enlargeView } from './view.ts';

export interface WrittenFiles {
  analysis: string;
  bundle: string;
  /** PNG per method id (methods that ran). */
  pngs: { [methodId: string]: string };
  /** Why no PNGs were drawn, when none could be. */
  pngNote: string | null;
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * Writes the outcome to `outDir`. `view` is the model's view of the image (see modelViewImage); without one
 * (a bundle analysed alone) the heatmaps are drawn on grey.
 */
export async function writeAnalysisOutputs(outDir: string, outcome: AnalysisOutcome, view: RgbImage | null): Promise<WrittenFiles> {
  mkdirSync(outDir, { recursive: true });
  const { analysis } = outcome;
  const files: WrittenFiles = { analysis: join(outDir, 'analysis.json'), bundle: join(outDir, 'bundle.npz'), pngs: {}, pngNote: null };
  writeAtomic(files.analysis, `${JSON.stringify(analysis, null, 1)}\n`);
  writeBundle(files.bundle, outcome.bundle);
  const grid = analysis.grid;
  if (!grid || grid[0] * grid[1] !== analysis.n) {
    files.pngNote = grid ? `the ${analysis.n} tokens are more than one ${grid[0]}×${grid[1]} grid (multi-group layout)` : 'the bundle has no token grid';
    return files;
  }
  const base = await enlargeView(view ?? blankView(grid[1] * 14, grid[0] * 14));
  for (const e of analysis.results) {
    if (e.status !== 'ok') continue;
    const img = renderOverlay(base, { grid, keep: e.keep, scores: e.display.scores });
    const path = join(outDir, `${e.method}.png`);
    writeAtomic(path, await encodePng(img));
    files.pngs[e.method] = path;
  }
  return files;
}
