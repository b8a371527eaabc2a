import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * BENCHMARKS.md is assembled from sections, each owned by one benchmark script and delimited by
 * <!-- bench:ID --> … <!-- /bench:ID -->, so re-running one benchmark never erases another's figures.
 */
export function updateSection(file: string, id: string, markdown: string): void {
  const start = `<!-- bench:${id} -->`;
  const end = `<!-- /bench:${id} -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const header = '# PruneLens benchmarks\n\nEvery figure below was produced by the command shown with it, on the machine named there.\nRatios are the numbers to compare; absolute times vary with load on this shared 2-core machine.\n';
  let text = existsSync(file) ? readFileSync(file, 'utf8') : header;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text);
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}
