// One PruneLens method run in its own process, for peak memory: `node --import tsx bench/child.ts
// <bundle.npz> <method> <params-json>` prints {"ms", "maxrss_kb", "rss_before_kb", "keep"}.
import { readFileSync } from 'node:fs';
import { readBundle } from '../extension/core/bundle/io.ts';
import type { JsonObject } from '../extension/core/json.ts';
import { prune } from '../extension/core/methods/prune.ts';

const [npz, method, paramsJson] = process.argv.slice(2);
const bundle = readBundle(npz);
const params = JSON.parse(paramsJson) as JsonObject;
const before = Math.round(process.memoryUsage().rss / 1024);
const t0 = process.hrtime.bigint();
const result = prune(bundle, method, params);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(`${JSON.stringify({ ms, maxrss_kb: peakRssKb(), rss_before_kb: before, keep: result.keep })}\n`);

/**
 * This process image's peak RSS: Linux's VmHWM (getrusage's maxrss would also count the parent's memory
 * copied at fork, before exec).
 */
function peakRssKb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}
