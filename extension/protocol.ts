/**
 * The only message contract between the extension host and the webview (discriminated unions).
 * Filled in by the inspector issue; kept free of Node and DOM types so both sides can import it.
 */
export type HostToWebview = { type: 'hello'; version: string };
export type WebviewToHost = { type: 'ready' };
