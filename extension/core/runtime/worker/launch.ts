import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** How to start the worker process: its entry file and Node flags. */
export interface WorkerLaunch {
  entry: string;
  execArgv: string[];
}

/** A launch for a given entry: TypeScript entries run through tsx (development and tests). */
export function launchFor(entry: string): WorkerLaunch {
  if (!/\.m?ts$/.test(entry)) return { entry, execArgv: [] };
  const tsx = createRequire(import.meta.url).resolve('tsx');
  return { entry, execArgv: ['--import', pathToFileURL(tsx).href] };
}

/**
 * The worker beside the running code: dist/worker.cjs next to a bundle (dist/cli.cjs,
 * dist/extension.cjs), or entry.ts when running from source. PRUNELENS_WORKER_ENTRY overrides both.
 */
export function defaultWorkerLaunch(): WorkerLaunch {
  const override = process.env.PRUNELENS_WORKER_ENTRY;
  if (override) return launchFor(override);
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.cjs')) return { entry: join(dirname(here), 'worker.cjs'), execArgv: [] };
  return launchFor(join(dirname(here), 'entry.ts'));
}
