// The bundled extension host (dist/extension.cjs) loaded in this process with the recording stand-in as
// its `vscode` module (see fake-vscode.ts).
import Module, { createRequire } from 'node:module';
import { join } from 'node:path';
import * as fake from './fake-vscode.ts';
import { REPO } from './paths.ts';

export interface BundledExtension {
  activate(ctx: unknown): void;
  deactivate(): Promise<void>;
}

/** Requires dist/extension.cjs (build it first) with `require('vscode')` answered by the stand-in. */
export function loadBundledExtension(): BundledExtension {
  const M = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string; _cache: Record<string, unknown> };
  const resolve = M._resolveFilename;
  M._resolveFilename = (request, ...rest) => (request === 'vscode' ? 'vscode-stand-in' : resolve(request, ...rest));
  M._cache['vscode-stand-in'] = { id: 'vscode-stand-in', filename: 'vscode-stand-in', loaded: true, exports: fake };
  return createRequire(import.meta.url)(join(REPO, 'dist', 'extension.cjs')) as BundledExtension;
}
