/**
 * Webview entry point (browser). Runs inside a VS Code webview (data arrives over the typed protocol)
 * and in the standalone HTML report (data embedded in <script type="application/json" id="prunelens-data">).
 */
import { PROTOCOL_VERSION, unpackAnalysis, unpackVector, type Analysis, type HostToWebview } from '../extension/protocol.ts';
import { app } from './app.ts';
import { connectHost, type Host } from './host.ts';
import { isRec } from './trace.ts';

interface Embedded {
  analysis: Analysis;
  image: { mime: string; base64: string } | null;
}

function readEmbedded(): Embedded | string {
  const el = document.getElementById('prunelens-data');
  if (!el) return 'This page has no embedded analysis (#prunelens-data).';
  try {
    const x: unknown = JSON.parse(el.textContent ?? '');
    if (!isRec(x) || !isRec(x.analysis) || !Array.isArray(x.analysis.results)) return 'The embedded analysis is malformed.';
    const img = isRec(x.image) && typeof x.image.mime === 'string' && typeof x.image.base64 === 'string' ? { mime: x.image.mime, base64: x.image.base64 } : null;
    return { analysis: x.analysis as unknown as Analysis, image: img };
  } catch {
    return 'The embedded analysis is not valid JSON.';
  }
}

function fatal(message: string): void {
  const p = document.createElement('p');
  p.className = 'pl-missing';
  p.setAttribute('role', 'alert');
  p.textContent = message;
  document.body.replaceChildren(p);
}

const SAFE_MIME = /^image\/(png|jpeg|gif|webp|bmp)$/;

function startStatic(host: Host): void {
  const data = readEmbedded();
  if (typeof data === 'string') return fatal(data);
  const src = data.image && SAFE_MIME.test(data.image.mime) ? `data:${data.image.mime};base64,${data.image.base64}` : null;
  app.start(host, data.analysis, src);
}

function startVsCode(host: Host): void {
  let imageUrl: string | null = null;
  host.onMessage((m: HostToWebview) => {
    if (m.type === 'init') {
      if (imageUrl) URL.revokeObjectURL(imageUrl);
      imageUrl = m.image ? URL.createObjectURL(new Blob([m.image.bytes], { type: m.image.mime })) : null;
      host.capabilities = m.capabilities;
      app.start(host, unpackAnalysis(m.analysis, m.scores), imageUrl);
    } else if (m.type === 'entry') {
      app.current?.onEntry(m.requestId, m.entry, m.budget, m.scores ? unpackVector(m.scores) : null);
    } else {
      app.current?.onHostMessage(m);
    }
  });
  host.post({ type: 'ready', protocol: PROTOCOL_VERSION });
}

const host = connectHost();
document.body.classList.add('pl-body');
if (host.mode === 'static') startStatic(host);
else startVsCode(host);

