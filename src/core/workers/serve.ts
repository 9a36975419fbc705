import { parentPort } from 'node:worker_threads';
import { serializeError } from './errors.js';
import { isTransfer, type AnswerMessage, type CallMessage, type Handlers } from './protocol.js';

/**
 * Serves `handlers` on this worker thread (call once, at the top of the worker module): each
 * request runs its handler and the answer, or the error it threw (rebuilt as the same class on
 * the caller's side), goes back to the caller. Returns the handlers so the module can export
 * their type for ThreadPool<typeof handlers>.
 */
export function serve<H extends Handlers>(handlers: H): H {
  const port = parentPort;
  if (!port) throw new Error('serve() must run on a worker thread');
  port.on('message', (msg: CallMessage) => {
    const context = { notify: (event: unknown) => port.postMessage({ id: msg.id, notify: event } satisfies AnswerMessage) };
    Promise.resolve()
      .then(() => (handlers[msg.op] as (request: unknown, c: typeof context) => unknown)(msg.request, context))
      .then(
        (answer) => {
          if (isTransfer(answer)) port.postMessage({ id: msg.id, ok: true, value: answer.value } satisfies AnswerMessage, answer.buffers);
          else port.postMessage({ id: msg.id, ok: true, value: answer } satisfies AnswerMessage);
        },
        (err: unknown) => port.postMessage({ id: msg.id, ok: false, error: serializeError(err) } satisfies AnswerMessage),
      );
  });
  return handlers;
}
