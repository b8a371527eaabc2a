// Webview entry point (browser). The inspector views are built in the inspector issue.
import type { WebviewToHost } from '../extension/protocol.ts';

const ready: WebviewToHost = { type: 'ready' };
document.body.dataset.prunelens = ready.type;
