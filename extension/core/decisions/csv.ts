import type { TokenDecision } from './types.ts';

const HEADER = ['token', 'row', 'col', 'method', 'label', 'kept', 'budget', 'score', 'score_name', 'rank', 'population', 'percentile', 'counterfactual_budget', 'counterfactual_kind', 'counterfactual_note', 'reason'];

/** RFC 4180 quoting; text cells that a spreadsheet would run as a formula get a leading apostrophe. */
function cell(v: string | number | boolean | null, text: boolean): string {
  if (v === null) return '';
  let s = String(v);
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The decision table as CSV (one row per method; ranks 1-based as shown in the view). */
export function decisionsToCsv(token: number, grid: readonly [number, number] | null, rows: readonly TokenDecision[]): string {
  const row = grid ? Math.floor(token / grid[1]) : null;
  const col = grid ? token % grid[1] : null;
  const lines = [HEADER.join(',')];
  for (const d of rows) {
    lines.push(
      [
        cell(token, false),
        cell(row, false),
        cell(col, false),
        cell(d.method, true),
        cell(d.label, true),
        cell(d.kept, false),
        cell(d.budget, false),
        cell(d.score, false),
        cell(d.scoreName, true),
        cell(d.rank === null ? null : d.rank + 1, false),
        cell(d.population, false),
        cell(d.percentile, false),
        cell(d.counterfactual.budget, false),
        cell(d.counterfactual.kind, true),
        cell(d.counterfactual.note, true),
        cell(d.reason, true),
      ].join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
