import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RerunQueue, type RerunJob, type Timers } from '../../extension/host/rerun-queue.ts';

/** Manual timers: fire() runs everything due. */
function fakeTimers(): Timers & { fire(): void; pending(): number } {
  let next = 1;
  const live = new Map<number, () => void>();
  return {
    set: (fn) => {
      const id = next++;
      live.set(id, fn);
      return id;
    },
    clear: (h) => void live.delete(h as number),
    fire: () => {
      const due = [...live.entries()];
      live.clear();
      for (const [, fn] of due) fn();
    },
    pending: () => live.size,
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function harness() {
  const log: string[] = [];
  const gates: { job: RerunJob; release: (v: string) => void; fail: (e: Error) => void }[] = [];
  const timers = fakeTimers();
  const q = new RerunQueue<string>(
    {
      run: (job) =>
        new Promise<string>((release, fail) => {
          log.push(`run ${job.requestId}`);
          gates.push({ job, release, fail });
        }),
      done: (job, r) => log.push(`done ${job.requestId} ${r}`),
      failed: (job, e) => log.push(`failed ${job.requestId} ${(e as Error).message}`),
      cancelled: (job) => log.push(`cancelled ${job.requestId}`),
    },
    100,
    timers,
  );
  return { q, log, gates, timers };
}

test('a burst for one method runs only the last request; the others are answered cancelled', async () => {
  const { q, log, gates, timers } = harness();
  q.request({ requestId: 1, method: 'f3a', budget: 10 });
  q.request({ requestId: 2, method: 'f3a', budget: 11 });
  q.request({ requestId: 3, method: 'f3a', budget: 12 });
  assert.deepEqual(log, ['cancelled 1', 'cancelled 2']);
  assert.equal(timers.pending(), 1);
  timers.fire();
  assert.deepEqual(log.slice(2), ['run 3']);
  gates[0].release('ok');
  await tick();
  assert.deepEqual(log.slice(3), ['done 3 ok']);
  assert.equal(q.busy, false);
});

test('runs are serialised across methods; a superseded running job is reported cancelled, not done', async () => {
  const { q, log, gates, timers } = harness();
  q.request({ requestId: 1, method: 'f3a', budget: 10 });
  q.request({ requestId: 2, method: 'tome', budget: 10 });
  timers.fire();
  assert.deepEqual(log, ['run 1'], 'one at a time');
  q.request({ requestId: 3, method: 'f3a', budget: 20 });
  gates[0].release('stale');
  await tick();
  assert.deepEqual(log.slice(1), ['cancelled 1', 'run 2']);
  gates[1].fail(new Error('boom'));
  await tick();
  assert.deepEqual(log.slice(3), ['failed 2 boom']);
  timers.fire();
  assert.deepEqual(log.slice(4), ['run 3']);
  gates[2].release('fresh');
  await tick();
  assert.deepEqual(log.slice(5), ['done 3 fresh']);
});

test('cancel by request id: waiting, queued and running requests', async () => {
  const { q, log, gates, timers } = harness();
  q.request({ requestId: 1, method: 'a', budget: 1 });
  q.cancel(1);
  assert.deepEqual(log, ['cancelled 1']);
  assert.equal(timers.pending(), 0);
  q.request({ requestId: 2, method: 'a', budget: 1 });
  q.request({ requestId: 3, method: 'b', budget: 1 });
  timers.fire();
  q.cancel(3); // queued behind 2
  q.cancel(2); // running
  assert.deepEqual(log.slice(1), ['run 2', 'cancelled 3']);
  gates[0].release('x');
  await tick();
  assert.deepEqual(log.slice(3), ['cancelled 2']);
  q.cancel(99);
  assert.equal(log.length, 4);
});

test('after dispose nothing is posted and new requests are ignored', async () => {
  const { q, log, gates, timers } = harness();
  q.request({ requestId: 1, method: 'a', budget: 1 });
  timers.fire();
  q.request({ requestId: 2, method: 'b', budget: 1 });
  q.dispose();
  gates[0].release('late');
  await tick();
  q.request({ requestId: 3, method: 'c', budget: 1 });
  timers.fire();
  assert.deepEqual(log, ['run 1']);
});
