import { serializeError } from './errors.ts';
import { isRequestMessage, type ReadyMessage, type ReplyMessage } from './protocol.ts';

/** A request handler; runs inside the worker process. */
export type Handler<P, R> = (payload: P) => R | Promise<R>;

/** One handler per kind of a kind map. */
export type HandlerTable<K extends { [N in keyof K]: { payload: unknown; result: unknown } }> = {
  [N in keyof K & string]: Handler<K[N]['payload'], K[N]['result']>;
};

/** Any handler table, as the server sees it. */
export type AnyHandlers = { [kind: string]: Handler<never, unknown> };

/**
 * Runs in the forked worker: answers requests one at a time, in arrival order, with the given handlers.
 * The worker exits when its parent goes away (IPC disconnect).
 */
export function serveWorker(handlers: AnyHandlers): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('the runtime worker must be started with child_process.fork (no IPC channel)');
  let chain: Promise<void> = Promise.resolve();

  const reply = (msg: ReplyMessage): Promise<void> =>
    new Promise((res) => {
      try {
        send(msg, undefined, {}, () => res());
      } catch (err) {
        // The result could not be serialised: answer with that error instead.
        send({ type: 'reply', id: msg.id, ok: false, error: serializeError(err) }, undefined, {}, () => res());
      }
    });

  const handle = async (id: number, kind: string, payload: unknown): Promise<void> => {
    const h = Object.hasOwn(handlers, kind) ? handlers[kind] : undefined;
    if (!h) {
      await reply({ type: 'reply', id, ok: false, error: { name: 'Error', message: `runtime worker: unknown request kind "${kind}"` } });
      return;
    }
    try {
      const result = await h(payload as never);
      await reply({ type: 'reply', id, ok: true, result });
    } catch (err) {
      await reply({ type: 'reply', id, ok: false, error: serializeError(err) });
    }
  };

  process.on('message', (m: unknown) => {
    if (!isRequestMessage(m)) return;
    chain = chain.then(() => handle(m.id, m.kind, m.payload));
  });
  process.on('disconnect', () => process.exit(0));
  const ready: ReadyMessage = { type: 'ready', pid: process.pid, kinds: Object.keys(handlers) };
  send(ready);
}
