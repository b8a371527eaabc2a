// Waiting on a condition in tests: a loop on the condition, never a fixed sleep.

/** One short pause (lets timers and message handlers run). */
export const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

/** Polls `probe` until it returns something truthy; throws naming `what` after `ms`. */
export async function until<T>(what: string, probe: () => T | undefined | null | false, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await settle();
  }
}
