import type { ChildProcess } from 'node:child_process';

/** Calls `onLine` for every line a child process writes to stdout or stderr (a last unterminated line included). */
export function onOutputLines(proc: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [proc.stdout, proc.stderr]) {
    if (!stream) continue;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    stream.on('end', () => {
      if (partial) onLine(partial);
      partial = '';
    });
  }
}
