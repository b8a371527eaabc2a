// The runtime worker process (bundled as dist/worker.cjs). onnxruntime runs here, never in the
// extension host or the CLI's main process, so a native fault or a hang can only kill this process.
import { runtimeHandlers } from './handlers.ts';
import { serveWorker } from './server.ts';

serveWorker(runtimeHandlers);
