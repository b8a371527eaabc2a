import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../../models/onnx/builder.ts';
import { builtinCatalogue, fileUrl, parseCatalogue, type Catalogue } from '../../extension/core/runtime/catalogue.ts';
import { DownloadError, downloadFile, pullModel } from '../../extension/core/runtime/download.ts';
import { CancelledError } from '../../extension/core/runtime/worker/errors.ts';
import { REPO } from '../helpers/paths.ts';

// Everything here talks to a server on 127.0.0.1 started by the test; nothing leaves the machine.

function bytes(n: number, seed: number): Buffer {
  const r = mulberry32(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Behaviour {
  /** Send only this many bytes of a full (200) reply, then cut the connection. */
  truncateAt?: number;
  /** Send only this many bytes of a full (200) reply, then go silent with the connection open. */
  stallAt?: number;
  /** Reply 200 with the whole file even to a Range request. */
  ignoreRange?: boolean;
  status?: number;
  redirectTo?: string;
}

interface Served {
  base: string;
  files: Map<string, Buffer>;
  behave: Map<string, Behaviour[]>;
  log: { path: string; range: string | undefined; host: string | undefined }[];
  close(): Promise<void>;
}

/** A tiny file server on 127.0.0.1 with Range support; per-path behaviours are consumed one request at a time. */
async function serve(): Promise<Served> {
  const files = new Map<string, Buffer>();
  const behave = new Map<string, Behaviour[]>();
  const log: Served['log'] = [];
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = req.headers.range;
    log.push({ path, range, host: req.headers.host });
    const b = behave.get(path)?.shift() ?? {};
    if (b.redirectTo) {
      res.writeHead(302, { Location: b.redirectTo }).end();
      return;
    }
    const body = files.get(path);
    if (b.status || !body) {
      res.writeHead(b.status ?? 404, { 'Content-Type': 'text/plain' }).end('nope');
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (m && !b.ignoreRange) {
      const start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'Content-Length': body.length, 'Accept-Ranges': 'bytes' });
    if (b.stallAt !== undefined) {
      res.write(body.subarray(0, b.stallAt));
      return;
    }
    if (b.truncateAt !== undefined) {
      res.write(body.subarray(0, b.truncateAt), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    files,
    behave,
    log,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'prunelens-dl-'));
}

const FAST = { retryDelayMs: 0, idleTimeoutMs: 5000 };

test('a truncated transfer is resumed with an HTTP Range request and the file is verified and moved into place', async () => {
  const s = await serve();
  const dir = tmp();
  try {
    const body = bytes(400_000, 1);
    s.files.set('/a.bin', body);
    s.behave.set('/a.bin', [{ truncateAt: 150_000 }]);
    const seen: [number, number | null][] = [];
    const r = await downloadFile(
      { url: `${s.base}/a.bin`, dest: join(dir, 'sub', 'a.bin'), size: body.length, sha256: sha(body) },
      { ...FAST, onProgress: (b, t) => seen.push([b, t]) },
    );
    assert.equal(r.attempts, 2);
    assert.equal(r.check, 'verified');
    assert.equal(r.bytes, body.length);
    assert.ok(readFileSync(join(dir, 'sub', 'a.bin')).equals(body));
    assert.equal(existsSync(join(dir, 'sub', 'a.bin.part')), false);
    assert.equal(s.log.length, 2);
    assert.equal(s.log[0].range, undefined);
    const resumed = /^bytes=(\d+)-$/.exec(s.log[1].range ?? '');
    assert.ok(resumed, 'second request asks for the rest');
    const from = Number(resumed[1]);
    assert.ok(from > 0 && from <= 150_000, `resumed from ${from}`);
    // Progress never goes backwards within an attempt and ends at the total.
    assert.deepEqual(seen.at(-1), [body.length, body.length]);
    assert.ok(seen.every(([, t]) => t === body.length));
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with no retries left a truncation is a clear error keeping the .part; the next run resumes it', async () => {
  const s = await serve();
  const dir = tmp();
  try {
    const body = bytes(300_000, 2);
    s.files.set('/b.bin', body);
    s.behave.set('/b.bin', [{ truncateAt: 100_000 }]);
    const spec = { url: `${s.base}/b.bin`, dest: join(dir, 'b.bin'), size: null, sha256: sha(body) };
    await assert.rejects(
      downloadFile(spec, { ...FAST, retries: 0 }),
      (e: unknown) => e instanceof DownloadError && e.code === 'truncated' && /transfer truncated \(got \d+ of 300000 bytes\); the partial file is kept for resuming\./.test(e.message),
    );
    const partSize = statSync(join(dir, 'b.bin.part')).size;
    assert.ok(partSize > 0 && partSize <= 100_000);
    assert.equal(existsSync(join(dir, 'b.bin')), false);
    const r = await downloadFile(spec, { ...FAST, retries: 0 });
    assert.equal(r.resumedFrom, partSize);
    assert.equal(s.log[1].range, `bytes=${partSize}-`);
    assert.ok(readFileSync(join(dir, 'b.bin')).equals(body));
    // A third run finds the file in place, checks it and requests nothing.
    const again = await downloadFile(spec, FAST);
    assert.equal(again.present, true);
    assert.equal(again.check, 'verified');
    assert.equal(s.log.length, 2);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a wrong checksum deletes the download and says what was expected', async () => {
  const s = await serve();
  const dir = tmp();
  try {
    const body = bytes(50_000, 3);
    s.files.set('/c.bin', body);
    const wrong = sha(Buffer.from('something else'));
    await assert.rejects(
      downloadFile({ url: `${s.base}/c.bin`, dest: join(dir, 'c.bin'), size: body.length, sha256: wrong }, FAST),
      (e: unknown) => e instanceof DownloadError && e.code === 'checksum' && e.message.includes(`expected ${wrong}, got ${sha(body)}`) && /the download was deleted/.test(e.message),
    );
    assert.equal(existsSync(join(dir, 'c.bin')), false);
    assert.equal(existsSync(join(dir, 'c.bin.part')), false);
    // --no-verify accepts it.
    const r = await downloadFile({ url: `${s.base}/c.bin`, dest: join(dir, 'c.bin'), size: body.length, sha256: wrong }, { ...FAST, verify: false });
    assert.equal(r.check, 'skipped');
    assert.ok(readFileSync(join(dir, 'c.bin')).equals(body));
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('HTTP errors, size mismatches, servers ignoring Range and redirects', async () => {
  const s = await serve();
  const dir = tmp();
  try {
    await assert.rejects(
      downloadFile({ url: `${s.base}/missing.bin`, dest: join(dir, 'm.bin'), size: null, sha256: null }, FAST),
      (e: unknown) => e instanceof DownloadError && e.code === 'http' && /\/missing\.bin: HTTP 404 Not Found \(not found: the catalogue may be out of date\)$/.test(e.message),
    );
    assert.equal(existsSync(join(dir, 'm.bin.part')), false);

    s.files.set('/gated.bin', bytes(10, 9));
    s.behave.set('/gated.bin', [{ status: 403 }]);
    await assert.rejects(downloadFile({ url: `${s.base}/gated.bin`, dest: join(dir, 'g.bin'), size: null, sha256: null }, FAST), /HTTP 403 Forbidden \(the repository may be gated or private\)/);

    // 503 is retried; the second attempt succeeds.
    const ok = bytes(1000, 10);
    s.files.set('/flaky.bin', ok);
    s.behave.set('/flaky.bin', [{ status: 503 }]);
    const fr = await downloadFile({ url: `${s.base}/flaky.bin`, dest: join(dir, 'flaky.bin'), size: null, sha256: null }, FAST);
    assert.equal(fr.attempts, 2);
    assert.equal(fr.check, 'unverified');

    const body = bytes(20_000, 4);
    s.files.set('/d.bin', body);
    await assert.rejects(
      downloadFile({ url: `${s.base}/d.bin`, dest: join(dir, 'd.bin'), size: 12_345, sha256: null }, FAST),
      (e: unknown) => e instanceof DownloadError && e.code === 'size' && /offers 20000 bytes but the catalogue expects 12345/.test(e.message),
    );
    assert.equal(existsSync(join(dir, 'd.bin.part')), false);

    // A stale .part and a server without Range support: the whole file is fetched again.
    writeFileSync(join(dir, 'e.bin.part'), bytes(5_000, 99));
    s.files.set('/e.bin', body);
    s.behave.set('/e.bin', [{ ignoreRange: true }]);
    const er = await downloadFile({ url: `${s.base}/e.bin`, dest: join(dir, 'e.bin'), size: body.length, sha256: sha(body) }, FAST);
    assert.equal(er.check, 'verified');
    assert.ok(readFileSync(join(dir, 'e.bin')).equals(body));

    // Redirects (relative, as the hub sends to its CDN) are followed with the Range header kept.
    s.files.set('/cdn/f.bin', body);
    s.behave.set('/f.bin', [{ truncateAt: 7000 }]);
    s.files.set('/f.bin', body);
    await assert.rejects(downloadFile({ url: `${s.base}/f.bin`, dest: join(dir, 'f.bin'), size: null, sha256: null }, { ...FAST, retries: 0 }), DownloadError);
    s.behave.set('/f.bin', [{ redirectTo: '/cdn/f.bin' }]);
    const before = s.log.length;
    const rr = await downloadFile({ url: `${s.base}/f.bin`, dest: join(dir, 'f.bin'), size: null, sha256: sha(body) }, FAST);
    assert.equal(rr.check, 'verified');
    assert.deepEqual(s.log.slice(before).map((l) => l.path), ['/f.bin', '/cdn/f.bin']);
    assert.match(s.log.at(-1)?.range ?? '', /^bytes=[1-9]\d*-$/);
    assert.ok(readFileSync(join(dir, 'f.bin')).equals(body));
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stalled connection times out and is resumed; aborting mid-transfer rejects as cancelled and keeps the .part', async () => {
  const s = await serve();
  const dir = tmp();
  try {
    const body = bytes(200_000, 5);
    s.files.set('/stall.bin', body);
    s.behave.set('/stall.bin', [{ stallAt: 80_000 }]);
    const t0 = Date.now();
    const r = await downloadFile({ url: `${s.base}/stall.bin`, dest: join(dir, 'stall.bin'), size: null, sha256: sha(body) }, { ...FAST, idleTimeoutMs: 300 });
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(r.attempts, 2);
    assert.match(s.log[1].range ?? '', /^bytes=[1-9]\d*-$/);
    assert.ok(readFileSync(join(dir, 'stall.bin')).equals(body));

    s.files.set('/slow.bin', body);
    s.behave.set('/slow.bin', [{ stallAt: 60_000 }]);
    const controller = new AbortController();
    let aborted = false;
    const p = downloadFile(
      { url: `${s.base}/slow.bin`, dest: join(dir, 'slow.bin'), size: null, sha256: null },
      {
        ...FAST,
        signal: controller.signal,
        onProgress: (b) => {
          if (b >= 60_000 && !aborted) {
            aborted = true;
            setTimeout(() => controller.abort(), 50);
          }
        },
      },
    );
    await assert.rejects(p, CancelledError);
    assert.ok(aborted);
    assert.equal(statSync(join(dir, 'slow.bin.part')).size, 60_000);
    assert.equal(existsSync(join(dir, 'slow.bin')), false);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

function testCatalogue(s: Served): Catalogue {
  const cfg = Buffer.from('{"model_type":"clip"}\n');
  const vision = bytes(250_000, 6);
  const text = bytes(120_000, 7);
  s.files.set('/Test/clip-tiny/resolve/main/config.json', cfg);
  s.files.set('/Test/clip-tiny/resolve/main/onnx/vision_model.onnx', vision);
  s.files.set('/Test/clip-tiny/resolve/main/onnx/text_model.onnx', text);
  return parseCatalogue(
    {
      version: 1,
      baseUrl: 'https://hub.invalid',
      models: [
        {
          id: 'clip-tiny',
          name: 'Tiny',
          repo: 'Test/clip-tiny',
          revision: 'main',
          files: [
            { path: 'config.json', size: null, sha256: null },
            { path: 'onnx/vision_model.onnx', size: vision.length, sha256: sha(vision) },
            { path: 'onnx/text_model.onnx', size: text.length, sha256: sha(text) },
          ],
        },
      ],
    },
    'test',
  );
}

test('pulling a catalogue model fills the folder in the transformers.js layout and records provenance', async () => {
  const s = await serve();
  const dir = tmp();
  try {
    const cat = testCatalogue(s);
    s.behave.set('/Test/clip-tiny/resolve/main/onnx/vision_model.onnx', [{ truncateAt: 90_000 }]);
    const progress: number[] = [];
    const r = await pullModel(cat, cat.models[0], { dest: join(dir, 'clip-tiny'), baseUrl: s.base, ...FAST, onProgress: (p) => progress.push(p.doneBytes) });
    assert.deepEqual(r.files.map((f) => [f.path, f.result.check]), [
      ['config.json', 'unverified'],
      ['onnx/vision_model.onnx', 'verified'],
      ['onnx/text_model.onnx', 'verified'],
    ]);
    for (const f of ['config.json', 'onnx/vision_model.onnx', 'onnx/text_model.onnx']) {
      assert.ok(readFileSync(join(dir, 'clip-tiny', f)).equals(s.files.get(`/Test/clip-tiny/resolve/main/${f}`) ?? Buffer.alloc(0)), f);
    }
    const rec = JSON.parse(readFileSync(join(dir, 'clip-tiny', 'prunelens-download.json'), 'utf8'));
    assert.equal(rec.model, 'clip-tiny');
    assert.equal(rec.files[1].sha256, cat.models[0].files[1].sha256);
    assert.equal(progress.at(-1), 22 + 250_000 + 120_000);
    assert.ok(s.log.every((l) => l.host?.startsWith('127.0.0.1:')));
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, ['--import', 'tsx', join(REPO, 'extension', 'cli.ts'), ...args], { cwd: REPO, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      res({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('`prunelens models pull` through the loopback server (base URL from the environment), and its errors', async () => {
  const s = await serve();
  const dir = tmp();
  try {
    const catFile = join(dir, 'catalogue.json');
    const cat = testCatalogue(s);
    writeFileSync(catFile, JSON.stringify(cat));
    const dest = join(dir, 'out');
    const ok = await cli(['models', 'pull', 'clip-tiny', '--catalogue', catFile, '--dest', dest], { PRUNELENS_DOWNLOAD_BASE: s.base });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /^config\.json: downloaded, 0\.0 MB, no checksum to verify$/m);
    assert.match(ok.stderr, /^onnx\/vision_model\.onnx: downloaded, 0\.3 MB, sha256 verified$/m);
    assert.match(ok.stdout, new RegExp(`clip-tiny is ready in ${dest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.ok(existsSync(join(dest, 'onnx', 'text_model.onnx')));

    // Corrupt the served text tower: checksum mismatch → exit 1 with a clear message, nothing left behind.
    const bad = join(dir, 'bad');
    s.files.set('/Test/clip-tiny/resolve/main/onnx/text_model.onnx', bytes(120_000, 8));
    const fail = await cli(['models', 'pull', 'clip-tiny', '--catalogue', catFile, '--dest', bad], { PRUNELENS_DOWNLOAD_BASE: s.base });
    assert.equal(fail.code, 1);
    assert.match(fail.stderr, /download failed: .*text_model\.onnx: sha256 mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\); the download was deleted/);
    assert.equal(existsSync(join(bad, 'onnx', 'text_model.onnx.part')), false);
    assert.equal(existsSync(join(bad, 'onnx', 'text_model.onnx')), false);

    const unknown = await cli(['models', 'pull', 'nope', '--catalogue', catFile], { PRUNELENS_DOWNLOAD_BASE: s.base });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown model "nope" \(known: clip-tiny\)/);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped catalogue: CLIP B/32, B/16 and L/14-336 from the hub, checksums where the docs give them', async () => {
  const cat = builtinCatalogue();
  const ids = cat.models.map((m) => m.id);
  for (const id of ['clip-vit-base-patch32', 'clip-vit-base-patch16', 'clip-vit-large-patch14-336']) assert.ok(ids.includes(id), id);
  for (const m of cat.models) {
    for (const need of ['config.json', 'preprocessor_config.json', 'tokenizer.json']) assert.ok(m.files.some((f) => f.path === need), `${m.id} ${need}`);
    assert.ok(m.files.some((f) => /^onnx\/vision_model(_quantized)?\.onnx$/.test(f.path)), `${m.id} vision tower`);
    assert.equal(fileUrl(cat.baseUrl, m, m.files[0]), `https://huggingface.co/${m.repo}/resolve/main/config.json`);
  }
  const int8 = cat.models.find((m) => m.id === 'clip-vit-base-patch32-int8');
  assert.equal(int8?.files.find((f) => f.path === 'onnx/vision_model_quantized.onnx')?.sha256, '583fd1110a514667812fee7d684952aaf82a99b959760c8d7dca7e0ab9839299');
  assert.equal(int8?.files.find((f) => f.path === 'onnx/text_model_quantized.onnx')?.size, 64_504_507);
  assert.throws(() => parseCatalogue({ version: 1, baseUrl: 'x', models: [{ id: 'a', name: 'a', repo: 'r', files: [{ path: '../evil' }] }] }, 't'), /must be relative/);

  // `models list` prints them without touching the network.
  const listed = await cli(['models', 'list', '--json'], {});
  assert.equal(listed.code, 0, listed.stderr);
  const json = JSON.parse(listed.stdout);
  assert.deepEqual(json.models.map((m: { id: string }) => m.id), ids);
});
