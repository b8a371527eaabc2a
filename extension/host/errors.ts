/**
 * Errors → one sentence for a notification. InputErrors are already written for users; anything else gets
 * its first line, trimmed, plus a pointer to the output channel where the stack is logged.
 */
import { InputError } from '../core/errors.ts';

export function isCancellation(err: unknown): boolean {
  return err instanceof Error && (err.name === 'CancelledError' || err.name === 'AbortError');
}

function firstLine(message: string, max = 220): string {
  const line = message.split(/\r?\n/, 1)[0].trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function userMessage(err: unknown, doing: string): string {
  if (err instanceof InputError) return firstLine(err.message, 400);
  const raw = err instanceof Error ? err.message : String(err);
  const line = firstLine(raw).replace(/[.\s]+$/, '');
  return `PruneLens could not ${doing}: ${line || 'unknown error'}. See the PruneLens output for details.`;
}

/** Full text for the log: the stack where there is one. */
export function logText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
