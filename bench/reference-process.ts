// The Python references (bench/reference.py in NumPy, bench/reference_torch.py in PyTorch) as long-lived
// children: one JSON request per line, one reply per line, so PruneLens and reference runs can alternate
// under the same machine load.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import type { JsonObject } from '../extension/core/json.ts';

/** Debian's interpreter with python3-numpy and python3-torch (see BENCHMARKS.md for the OpenBLAS setup). */
export const PYTHON = process.env.PRUNELENS_BENCH_PYTHON ?? '/usr/bin/python3';

/** Which framework runs the official tensor operations. */
export type RefKind = 'numpy' | 'torch';
const SCRIPTS: Record<RefKind, string> = { numpy: 'reference.py', torch: 'reference_torch.py' };
const scriptOf = (kind: RefKind): string => join(import.meta.dirname, SCRIPTS[kind]);

/** Whether `kind`'s framework (a Python module of that name) imports; PyTorch is optional. */
export function referenceAvailable(kind: RefKind): boolean {
  return spawnSync(PYTHON, ['-c', `import ${kind}`], { stdio: 'ignore', timeout: 60_000 }).status === 0;
}

/**
 * glibc serves NumPy's large temporaries with fresh mmaps (zero pages faulted in on every call) until its
 * adaptive threshold has seen them freed; how soon that happens depends on the process's history, and it
 * moved the reference's G-Prune at 576×1024 between ≈ 12 and 18 ms across runs. Fixed thresholds keep those
 * arrays on the heap, so the reference runs at its fast, stable speed. PRUNELENS_BENCH_MALLOC=default: glibc's.
 */
const REFERENCE_ENV: NodeJS.ProcessEnv =
  process.env.PRUNELENS_BENCH_MALLOC === 'default' ? process.env : { ...process.env, MALLOC_MMAP_THRESHOLD_: String(2 ** 30), MALLOC_TRIM_THRESHOLD_: String(2 ** 30) };

export interface RefRun {
  ms?: number[];
  keep?: number[];
  error?: string;
}

export class ReferenceProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = '';
  private waiting: ((line: string) => void) | null = null;
  private stderr = '';

  constructor(readonly kind: RefKind = 'numpy') {
    // One BLAS thread per core, as numpy gets by default; OpenBLAS must not oversubscribe with PruneLens.
    this.child = spawn(PYTHON, [scriptOf(kind)], { stdio: ['pipe', 'pipe', 'pipe'], env: REFERENCE_ENV });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      const nl = this.buffer.indexOf('\n');
      if (nl >= 0 && this.waiting) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const w = this.waiting;
        this.waiting = null;
        w(line);
      }
    });
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.child.on('exit', (code) => {
      const w = this.waiting;
      this.waiting = null;
      w?.(JSON.stringify({ error: `${SCRIPTS[kind]} exited (${code}): ${this.stderr.slice(-300)}` }));
    });
  }

  request(req: JsonObject): Promise<JsonObject> {
    return new Promise((resolve, reject) => {
      this.waiting = (line) => {
        try {
          resolve(JSON.parse(line) as JsonObject);
        } catch {
          reject(new Error(`${SCRIPTS[this.kind]} replied ${line.slice(0, 200)}; stderr: ${this.stderr.slice(-500)}`));
        }
      };
      this.child.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }

  /** `untimed` runs go first and are not reported: they wake BLAS threads after the bench's idle pause. */
  async run(npz: string, method: string, params: JsonObject, runs: number, untimed = 0): Promise<RefRun> {
    return (await this.request({ cmd: 'run', npz, method, params, runs, untimed })) as RefRun;
  }

  /** One operation of a method (reference.py PARTS), its inputs prepared outside the timed calls. */
  async part(npz: string, part: string, runs: number, untimed = 0): Promise<RefRun> {
    return (await this.request({ cmd: 'part', npz, part, runs, untimed })) as RefRun;
  }

  close(): void {
    this.child.stdin.write('{"cmd":"quit"}\n');
    this.child.stdin.end();
  }
}

/** One reference run in its own process (peak RSS of the reference alone). */
export function referenceOnce(npz: string, method: string, params: JsonObject, timeoutMs: number): { ms: number; maxrssKb: number; keep: number[] } | { error: string } {
  const r = spawnSync(PYTHON, [scriptOf('numpy'), '--once', npz, method, JSON.stringify(params)], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, env: REFERENCE_ENV });
  if (r.status !== 0) return { error: r.error ? r.error.message : (r.stderr || `exit ${r.status}`).trim().split('\n').slice(-1)[0] };
  const out = JSON.parse(r.stdout) as { ms: number; maxrss_kb: number; keep: number[] };
  return { ms: out.ms, maxrssKb: out.maxrss_kb, keep: out.keep };
}
