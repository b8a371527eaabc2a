import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { dirname, join } from 'node:path';
import { sha256File } from './cache.ts';
import { effectiveBaseUrl, fileUrl, type Catalogue, type CatalogueModel } from './catalogue.ts';
import { CancelledError } from './worker/errors.ts';

export type DownloadErrorCode = 'http' | 'truncated' | 'network' | 'size' | 'checksum' | 'redirects';

/** A download that failed; `retryable` failures are resumed automatically while retries remain. */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  constructor(
    readonly code: DownloadErrorCode,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface FileDownload {
  url: string;
  /** Final path; bytes arrive in `<dest>.part` and are renamed into place once verified. */
  dest: string;
  size: number | null;
  sha256: string | null;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Bytes of this file so far (including resumed bytes) and its total size when known. */
  onProgress?: (bytes: number, total: number | null) => void;
  /** Automatic resumptions after a truncated transfer, a network error or a 5xx reply (default 3). */
  retries?: number;
  /** Pause before a retry (ms, default 1000). */
  retryDelayMs?: number;
  /** Give up on a connection that sends nothing for this long (ms, default 60 s). */
  idleTimeoutMs?: number;
  /** Check sizes and sha256 against the catalogue (default true). */
  verify?: boolean;
}

export interface FileResult {
  path: string;
  bytes: number;
  sha256: string;
  /** 'verified': matched the catalogue's sha256; 'unverified': the catalogue has none; 'skipped': --no-verify. */
  check: 'verified' | 'unverified' | 'skipped';
  /** Already in place (nothing downloaded). */
  present: boolean;
  /** Byte offset the first request resumed from (a .part left by an earlier run). */
  resumedFrom: number;
  /** HTTP requests made (redirect hops not counted). */
  attempts: number;
}

const MAX_REDIRECTS = 8;

/**
 * Downloads one file with resume (HTTP Range into `<dest>.part`), size and sha256 checks and an atomic
 * rename into place. A wrong checksum deletes the .part; a truncated transfer keeps it for resuming.
 */
export async function downloadFile(spec: FileDownload, opts: DownloadOptions = {}): Promise<FileResult> {
  const verify = opts.verify ?? true;
  const part = `${spec.dest}.part`;
  await mkdir(dirname(spec.dest), { recursive: true });

  const existing = await present(spec, verify);
  if (existing) return existing;

  const retries = opts.retries ?? 3;
  let attempts = 0;
  let resumedFrom = -1;
  for (;;) {
    const start = existsSync(part) ? (await stat(part)).size : 0;
    if (resumedFrom < 0) resumedFrom = start;
    attempts++;
    try {
      await fetchInto(spec, part, start, verify, opts);
      break;
    } catch (err) {
      if (!(err instanceof DownloadError) || !err.retryable || attempts > retries) throw err;
      await delay(opts.retryDelayMs ?? 1000, opts.signal);
    }
  }

  const { size } = await stat(part);
  if (verify && spec.size !== null && size !== spec.size) {
    await unlink(part).catch(() => undefined);
    throw new DownloadError('size', `${spec.url}: received ${size} bytes, the catalogue expects ${spec.size}; the download was deleted.`, false);
  }
  const sha256 = await sha256File(part);
  let check: FileResult['check'] = 'unverified';
  if (!verify) check = 'skipped';
  else if (spec.sha256 !== null) {
    if (sha256 !== spec.sha256) {
      await unlink(part).catch(() => undefined);
      throw new DownloadError(
        'checksum',
        `${spec.url}: sha256 mismatch (expected ${spec.sha256}, got ${sha256}); the download was deleted. If the file changed upstream, the catalogue needs updating.`,
        false,
      );
    }
    check = 'verified';
  }
  await rename(part, spec.dest);
  return { path: spec.dest, bytes: size, sha256, check, present: false, resumedFrom, attempts };
}

/** A complete file already in place (checked against the catalogue when it can be). */
async function present(spec: FileDownload, verify: boolean): Promise<FileResult | null> {
  if (!existsSync(spec.dest)) return null;
  const { size } = await stat(spec.dest);
  if (verify && spec.size !== null && size !== spec.size) return null;
  const sha256 = await sha256File(spec.dest);
  if (verify && spec.sha256 !== null && sha256 !== spec.sha256) return null;
  const check = !verify ? 'skipped' : spec.sha256 !== null ? 'verified' : 'unverified';
  return { path: spec.dest, bytes: size, sha256, check, present: true, resumedFrom: 0, attempts: 0 };
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((res, rej) => {
    const t = setTimeout(res, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        rej(new CancelledError('download'));
      },
      { once: true },
    );
  });
}

/** One HTTP GET (following redirects) appending to the .part from `start`. */
async function fetchInto(spec: FileDownload, part: string, start: number, verify: boolean, opts: DownloadOptions): Promise<void> {
  const res = await get(spec.url, start > 0 ? { Range: `bytes=${start}-` } : {}, opts);
  const status = res.statusCode ?? 0;
  let offset = start;
  let total: number | null = null;

  if (status === 416 && start > 0) {
    res.resume();
    const m = /bytes \*\/(\d+)/.exec(res.headers['content-range'] ?? '');
    if (m && Number(m[1]) === start) return; // the .part is already complete
    await unlink(part).catch(() => undefined);
    throw new DownloadError('http', `${spec.url}: the server refused to resume (HTTP 416); starting again`, true);
  }
  if (status === 206) {
    const m = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(res.headers['content-range'] ?? '');
    if (!m || Number(m[1]) !== start) {
      res.resume();
      await unlink(part).catch(() => undefined);
      throw new DownloadError('http', `${spec.url}: the server resumed at the wrong offset; starting again`, true);
    }
    total = m[3] === '*' ? null : Number(m[3]);
  } else if (status === 200) {
    // No range support (or a fresh start): the body is the whole file.
    if (start > 0) await truncate(part, 0);
    offset = 0;
    const len = res.headers['content-length'];
    total = len !== undefined ? Number(len) : null;
  } else {
    res.resume();
    const hint = status === 401 || status === 403 ? ' (the repository may be gated or private)' : status === 404 ? ' (not found: the catalogue may be out of date)' : '';
    throw new DownloadError('http', `${spec.url}: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd() + hint, status >= 500);
  }

  if (verify && spec.size !== null && total !== null && total !== spec.size) {
    res.resume();
    await unlink(part).catch(() => undefined);
    throw new DownloadError('size', `${spec.url}: the server offers ${total} bytes but the catalogue expects ${spec.size}; nothing was kept.`, false);
  }

  const out = createWriteStream(part, { flags: offset === 0 ? 'w' : 'a' });
  let received = 0;
  opts.onProgress?.(offset, total);
  await new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      res.removeAllListeners('data');
      // Close the .part (flushing what was written) before reporting, so a resume starts from its size.
      out.end(() => (err ? reject(err) : resolve()));
    };
    const idle = opts.idleTimeoutMs ?? 60_000;
    res.setTimeout(idle, () => res.destroy(new Error(`no data for ${idle} ms`)));
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (!out.write(chunk)) {
        res.pause();
        out.once('drain', () => res.resume());
      }
      opts.onProgress?.(offset + received, total);
    });
    res.on('end', () => {
      const expected = total === null ? null : total - offset;
      if (!res.complete || (expected !== null && received < expected)) {
        finish(truncated(spec.url, offset + received, total));
      } else finish();
    });
    res.on('aborted', () => finish(truncated(spec.url, offset + received, total)));
    res.on('error', (err) => {
      if (opts.signal?.aborted) finish(new CancelledError('download'));
      else finish(received > 0 || total !== null ? truncated(spec.url, offset + received, total) : network(spec.url, err));
    });
    res.on('close', () => {
      if (!done) finish(opts.signal?.aborted ? new CancelledError('download') : truncated(spec.url, offset + received, total));
    });
    out.on('error', (err) => {
      res.destroy();
      if (!done) {
        done = true;
        reject(new DownloadError('network', `cannot write ${part}: ${err.message}`, false));
      }
    });
  });
}

function truncated(url: string, got: number, total: number | null): DownloadError {
  return new DownloadError('truncated', `${url}: transfer truncated (got ${got}${total !== null ? ` of ${total}` : ''} bytes); the partial file is kept for resuming.`, true);
}

function network(url: string, err: Error & { code?: string }): DownloadError {
  return new DownloadError('network', `${url}: ${err.code ? `${err.code} ` : ''}${err.message}`, true);
}

/** GET with redirects followed (the hub redirects to its CDN); the Range header travels along. */
function get(url: string, headers: { [k: string]: string }, opts: DownloadOptions, hops = 0): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return reject(new DownloadError('http', `not a valid URL: ${url}`, false));
    }
    const lib = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
    if (!lib) return reject(new DownloadError('http', `${url}: only http and https are supported`, false));
    const req = lib.get(u, { headers: { 'User-Agent': 'prunelens', ...headers }, signal: opts.signal }, (res) => {
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        res.resume();
        if (hops >= MAX_REDIRECTS) return reject(new DownloadError('redirects', `${url}: more than ${MAX_REDIRECTS} redirects`, false));
        const next = new URL(res.headers.location, u).toString();
        get(next, headers, opts, hops + 1).then(resolve, reject);
        return;
      }
      resolve(res);
    });
    req.setTimeout(opts.idleTimeoutMs ?? 60_000, () => req.destroy(new Error(`no response for ${opts.idleTimeoutMs ?? 60_000} ms`)));
    req.on('error', (err: Error & { code?: string }) => {
      if (opts.signal?.aborted) reject(new CancelledError('download'));
      else reject(network(url, err));
    });
  });
}

export interface PullProgress {
  /** File being fetched (catalogue path). */
  file: string;
  fileBytes: number;
  fileTotal: number | null;
  /** Bytes of finished files plus this one's. */
  doneBytes: number;
  /** Sum of the catalogue's sizes when every size is known. */
  totalBytes: number | null;
}

export interface PullOptions extends Omit<DownloadOptions, 'onProgress'> {
  /** Model folder to fill. */
  dest: string;
  /** Hub base URL override (else PRUNELENS_DOWNLOAD_BASE, else the catalogue's). */
  baseUrl?: string;
  onProgress?: (p: PullProgress) => void;
  /** Called when a file is done (downloaded or already present). */
  onFile?: (file: string, r: FileResult) => void;
}

export interface PullResult {
  dir: string;
  model: string;
  files: { path: string; result: FileResult }[];
}

/** Fetches every file of a catalogue model into `dest` and writes a small provenance record beside them. */
export async function pullModel(cat: Catalogue, model: CatalogueModel, opts: PullOptions): Promise<PullResult> {
  const base = effectiveBaseUrl(cat, opts.baseUrl);
  const totalBytes = model.files.every((f) => f.size !== null) ? model.files.reduce((a, f) => a + (f.size ?? 0), 0) : null;
  let finished = 0;
  const files: PullResult['files'] = [];
  for (const f of model.files) {
    const spec: FileDownload = { url: fileUrl(base, model, f), dest: join(opts.dest, ...f.path.split('/')), size: f.size, sha256: f.sha256 };
    const result = await downloadFile(spec, {
      ...opts,
      onProgress: (bytes, total) => opts.onProgress?.({ file: f.path, fileBytes: bytes, fileTotal: total, doneBytes: finished + bytes, totalBytes }),
    });
    finished += result.bytes;
    files.push({ path: f.path, result });
    opts.onFile?.(f.path, result);
  }
  const record = {
    model: model.id,
    repo: model.repo,
    revision: model.revision,
    source: base,
    files: files.map(({ path, result }) => ({ path, bytes: result.bytes, sha256: result.sha256, check: result.check })),
  };
  await writeFile(join(opts.dest, 'prunelens-download.json'), `${JSON.stringify(record, null, 2)}\n`);
  return { dir: opts.dest, model: model.id, files };
}
