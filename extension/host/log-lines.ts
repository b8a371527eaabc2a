/** Output-channel lines for an analysis: what ran, on which provider, how long. Pure. */
import type { AnalysisOutcome } from '../core/analyze/types.ts';

const ms = (x: number): string => `${Math.round(x * 10) / 10} ms`;

export function outcomeLog(o: AnalysisOutcome, totalMs: number): string[] {
  const a = o.analysis;
  const timings = Object.entries(a.timings_ms)
    .map(([k, v]) => `${k} ${ms(v)}`)
    .join(', ');
  const lines = [
    `analysed ${a.image?.path ?? o.bundle.meta.source}: ${a.n} tokens${a.grid ? ` (${a.grid[0]}×${a.grid[1]} grid)` : ''}, budget ${a.budget}, model ${a.model.name} [${a.model.weightsKind}] on ${a.model.provider}; ${timings}; total ${ms(totalMs)}`,
  ];
  for (const note of a.model.providerNotes) lines.push(`  provider note: ${note}`);
  for (const e of a.results) {
    lines.push(e.status === 'ok' ? `  ${e.method}: kept ${e.keep.length} in ${ms(e.time_ms)}` : `  ${e.method}: ${e.status} — ${e.reason}`);
  }
  return lines;
}
