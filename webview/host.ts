/**
 * The webview's view of its host. Inside VS Code `acquireVsCodeApi` exists and messages flow both ways;
 * in the standalone HTML report there is no host: data comes from the embedded JSON block and requests
 * that need a host (re-run, load codebook) are unavailable.
 */
import {
  validateHostMessage,
  type HostCapabilities,
  type HostToWebview,
  type WebviewToHost,
} from '../extension/protocol.ts';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  // Provided by VS Code inside webviews only; absent in a plain browser.
  var acquireVsCodeApi: (() => VsCodeApi) | undefined;
}

export interface Host {
  readonly mode: 'vscode' | 'static';
  capabilities: HostCapabilities;
  post(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
  onMessage(listener: (m: HostToWebview) => void): void;
  nextRequestId(): number;
}

let requestCounter = 1;
const nextRequestId = (): number => requestCounter++;

function vscodeHost(api: VsCodeApi): Host {
  const listeners: ((m: HostToWebview) => void)[] = [];
  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    const v = validateHostMessage(event.data);
    if (!v.ok) {
      api.postMessage({ type: 'log', level: 'warn', message: `webview ignored a host message: ${v.reason}` } satisfies WebviewToHost);
      return;
    }
    for (const l of listeners) l(v.message);
  });
  return {
    mode: 'vscode',
    capabilities: { rerun: false, loadCodebook: false, save: false },
    post: (m) => api.postMessage(m),
    getState: () => api.getState(),
    setState: (s) => api.setState(s),
    onMessage: (l) => listeners.push(l),
    nextRequestId,
  };
}

function staticHost(): Host {
  let state: unknown = undefined;
  return {
    mode: 'static',
    capabilities: { rerun: false, loadCodebook: false, save: false },
    post: () => undefined,
    getState: () => state,
    setState: (s) => {
      state = s;
    },
    onMessage: () => undefined,
    nextRequestId,
  };
}

export function connectHost(): Host {
  // VS Code declares the API as a top-level `const` in its own script: a global binding, not a property
  // of globalThis, so it must be read by name (typeof keeps the static report, where it is absent, safe).
  const acquire = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi : undefined;
  // The caller posts `ready` once its message listener is registered.
  if (typeof acquire === 'function') return vscodeHost(acquire());
  return staticHost();
}
