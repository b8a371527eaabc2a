import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { JsonValue } from '../json.ts';

export interface LruOptions<V> {
  /** Most entries kept (≥ 1). */
  maxEntries: number;
  /** Bound on the summed `sizeOf` of the entries (e.g. bytes); unbounded when absent. */
  maxSize?: number;
  sizeOf?: (value: V) => number;
  /** Called for every entry that leaves the cache (evicted, replaced, deleted, cleared). */
  onEvict?: (key: string, value: V) => void;
}

/** A small least-recently-used map with an entry bound and an optional size bound. */
export class LruCache<V> {
  private readonly map = new Map<string, { value: V; size: number }>();
  private total = 0;

  constructor(private readonly opts: LruOptions<V>) {
    if (!(opts.maxEntries >= 1)) throw new Error('LruCache: maxEntries must be ≥ 1');
  }

  get size(): number {
    return this.map.size;
  }

  /** Sum of the entries' sizes (0 without `sizeOf`). */
  get totalSize(): number {
    return this.total;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** The value, marked most recently used. */
  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  /** Stores the value; returns false (and stores nothing) when it alone exceeds `maxSize`. */
  set(key: string, value: V): boolean {
    const size = this.opts.sizeOf ? this.opts.sizeOf(value) : 0;
    if (this.opts.maxSize !== undefined && size > this.opts.maxSize) {
      this.delete(key);
      return false;
    }
    this.delete(key);
    this.map.set(key, { value, size });
    this.total += size;
    this.trim();
    return true;
  }

  delete(key: string): boolean {
    const e = this.map.get(key);
    if (!e) return false;
    this.map.delete(key);
    this.total -= e.size;
    this.opts.onEvict?.(key, e.value);
    return true;
  }

  clear(): void {
    for (const key of [...this.map.keys()]) this.delete(key);
  }

  keys(): string[] {
    return [...this.map.keys()];
  }

  private trim(): void {
    const maxSize = this.opts.maxSize ?? Infinity;
    while (this.map.size > this.opts.maxEntries || this.total > maxSize) {
      const oldest = this.map.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
  }
}

/** Identity of a model file on disk: its path and modification time (a rewritten file is a new model). */
export interface ModelFileId {
  path: string;
  mtimeMs: number;
}

export async function modelFileId(path: string): Promise<ModelFileId> {
  const abs = resolve(path);
  const s = await stat(abs);
  return { path: abs, mtimeMs: s.mtimeMs };
}

/** Key of a cached inference session: (model file + mtime, execution provider, thread count). */
export function sessionKey(model: ModelFileId | { bytesKey: string }, provider: string, threads: number): string {
  const m = 'bytesKey' in model ? `bytes:${model.bytesKey}` : `file:${model.path}@${model.mtimeMs}`;
  return `${m}|${provider}|${threads}`;
}

/**
 * Sessions per key, created at most once even when requested concurrently. A failed creation is not
 * cached. Evicted sessions are released through `dispose`.
 */
export class SessionCache<S> {
  private readonly lru: LruCache<Promise<S>>;

  constructor(maxSessions: number, dispose: (session: S) => void | Promise<void>) {
    this.lru = new LruCache<Promise<S>>({
      maxEntries: maxSessions,
      onEvict: (_key, pending) => {
        pending.then(
          (s) => dispose(s),
          () => undefined,
        );
      },
    });
  }

  get size(): number {
    return this.lru.size;
  }

  has(key: string): boolean {
    return this.lru.has(key);
  }

  getOrCreate(key: string, create: () => Promise<S>): Promise<S> {
    const hit = this.lru.get(key);
    if (hit) return hit;
    const pending = create();
    this.lru.set(key, pending);
    pending.catch(() => {
      // Only forget it if it is still this (failed) attempt.
      if (this.lru.get(key) === pending) this.lru.delete(key);
    });
    return pending;
  }

  clear(): void {
    this.lru.clear();
  }
}

/** JSON with object keys sorted, so equal parameter sets give equal keys. */
export function canonicalJson(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export interface ResultKeyParts {
  /** sha256 of the image file's bytes (hex). */
  imageSha256: string;
  /** The question; surrounding whitespace does not change the analysis. */
  question: string;
  /** Model identity, e.g. its id plus file mtime and provider. */
  model: string;
  params: JsonValue;
}

export function resultKey(p: ResultKeyParts): string {
  const h = createHash('sha256');
  h.update(canonicalJson([p.imageSha256, p.question.trim(), p.model, p.params]));
  return h.digest('hex');
}

/** Analysis results per (image hash, question, model, params), bounded by count and by estimated bytes. */
export class ResultCache<V> extends LruCache<V> {
  constructor(opts: { maxEntries?: number; maxBytes?: number; sizeOf: (value: V) => number }) {
    super({ maxEntries: opts.maxEntries ?? 32, maxSize: opts.maxBytes ?? 256 * 1024 * 1024, sizeOf: opts.sizeOf });
  }
}

export function sha256Bytes(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of a file, streamed (model files are hundreds of MB). */
export function sha256File(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => h.update(chunk))
      .on('error', rej)
      .on('end', () => res(h.digest('hex')));
  });
}
