// A runtime worker for tests: the real handlers plus a few that misbehave on purpose.
import { InputError } from '../../extension/core/errors.ts';
import { runtimeHandlers } from '../../extension/core/runtime/worker/handlers.ts';
import type { RuntimeKinds, SmokePayload } from '../../extension/core/runtime/worker/kinds.ts';
import { serveWorker, type HandlerTable } from '../../extension/core/runtime/worker/server.ts';

export interface FixtureKinds extends RuntimeKinds {
  crash: { payload: { code: number }; result: never };
  kill: { payload: null; result: never };
  spin: { payload: { ms: number }; result: { spunMs: number } };
  'input-error': { payload: null; result: never };
}

/** Blocks the event loop like a long native call would. */
function spin(ms: number): number {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    // busy
  }
  return Date.now() - t0;
}

// Dies the way a native fault or the OOM killer ends a process (SIGKILL: no core file left behind).
const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  return spin(1e9) as never;
};

// PRUNELENS_TEST_SMOKE_HANG / _KILL name a provider whose smoke run hangs / kills the process.
const smoke = (p: SmokePayload): ReturnType<typeof runtimeHandlers.smoke> => {
  if (p.provider === process.env.PRUNELENS_TEST_SMOKE_HANG) spin(1e9);
  if (p.provider === process.env.PRUNELENS_TEST_SMOKE_KILL) die();
  return runtimeHandlers.smoke(p);
};

const handlers: HandlerTable<FixtureKinds> = {
  ...runtimeHandlers,
  smoke,
  crash: ({ code }) => process.exit(code),
  kill: () => die(),
  spin: ({ ms }) => ({ spunMs: spin(ms) }),
  'input-error': () => {
    throw new InputError('That image is too small.');
  },
};

serveWorker(handlers);
