import { Worker } from 'node:worker_threads';
import { deserializeError } from './errors.js';
import type { AnswerMessage, CallMessage, Handlers, RequestOf, ResponseOf } from './protocol.js';

/**
 * Source for `new Worker(code, { eval: true })` that imports the module `file` next to
 * `importerUrl`: `.ts` sources (run through tsx) need tsx registered inside the worker too, since
 * workers do not inherit loader hooks; built `.js` output imports directly.
 */
export function workerCode(importerUrl: string, file: string): string {
  const ts = importerUrl.endsWith('.ts');
  const entry = JSON.stringify(new URL(`./${file}.${ts ? 'ts' : 'js'}`, importerUrl).href);
  if (!ts) return `import(${entry});`;
  return `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${entry}); });`;
}

/** Options of ThreadPool.start. */
export interface ThreadPoolOptions {
  /** Threads to start (at least 1). */
  size: number;
  /** The error pending and later calls get when a thread exits unasked (a thread that crashes passes on its own error). */
  exitError: (code: number) => Error;
}

/** Options of one call. */
export interface CallOptions {
  /** Buffers of the request to move to the thread instead of copying (unusable here afterwards). */
  transfer?: ArrayBuffer[];
  /** Run on this thread (0..size-1), for state a thread keeps between calls; default: the least busy one. */
  thread?: number;
  /** Receives what the handler sends with context.notify while it runs. */
  onNotify?: (event: unknown) => void;
}

interface Pending { resolve: (value: never) => void; reject: (err: Error) => void; thread: number; onNotify?: (event: unknown) => void }

// request ids are unique per process, so a thread that changes hands can never answer a former owner's request
let nextId = 0;

/**
 * Worker threads serving the handlers of one module (see serve), typed by that module's
 * handlers: call(op, request) runs on a thread and resolves with its answer or rejects with the
 * error it threw, rebuilt as the same kennis error class. A thread keeps the process alive only
 * while it has calls in flight. If any thread dies, every pending and later call rejects with
 * options.exitError or the thread's uncaught error (check `failed` to replace the pool).
 */
export class ThreadPool<H extends Handlers> {
  private readonly threads: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;
  private closing = false;

  private constructor(private readonly code: string, private readonly options: ThreadPoolOptions) {
    this.grow(options.size);
  }

  /** Starts `options.size` threads running the module `file` next to `importerUrl` (pass import.meta.url). */
  static start<H extends Handlers>(importerUrl: string, file: string, options: ThreadPoolOptions): ThreadPool<H> {
    return new ThreadPool<H>(workerCode(importerUrl, file), options);
  }

  /** Threads in the pool. */
  get size(): number { return this.threads.length; }

  /** Why the pool stopped (a thread died, or it was closed); undefined while it serves calls. */
  get failed(): Error | undefined { return this.failure; }

  /** Adds threads until the pool has `size`. */
  grow(size: number): void {
    while (this.threads.length < Math.max(1, size)) {
      const index = this.threads.length;
      const w = new Worker(this.code, { eval: true });
      w.on('message', (msg: AnswerMessage) => this.receive(msg));
      w.on('error', (err) => this.die(err instanceof Error ? err : new Error(String(err))));
      w.on('exit', (code) => { if (!this.closing) this.die(this.options.exitError(code)); });
      // after the listeners: attaching them refs the thread again
      w.unref();
      this.threads.push(w);
      this.busy[index] = 0;
    }
  }

  /** Runs operation `op` with `request` on a thread; see CallOptions. */
  call<K extends keyof H & string>(op: K, request: RequestOf<H, K>, options: CallOptions = {}): Promise<ResponseOf<H, K>> {
    if (this.failure) return Promise.reject(this.failure);
    const thread = options.thread ?? this.leastBusy();
    const worker = this.threads[thread];
    if (!worker) return Promise.reject(new RangeError(`thread ${thread} of a pool of ${this.threads.length}`));
    const id = nextId++;
    return new Promise<ResponseOf<H, K>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject, thread, ...(options.onNotify ? { onNotify: options.onNotify } : {}) });
      // a thread with calls in flight keeps the process alive until it answers
      if (this.busy[thread]!++ === 0) worker.ref();
      worker.postMessage({ id, op, request } satisfies CallMessage, options.transfer ?? []);
    });
  }

  /** Calls in flight. */
  get inFlight(): number { return this.pending.size; }

  /** Stops every thread; pending calls reject with `reason`. */
  async close(reason: Error = new Error('the thread pool was closed')): Promise<void> {
    this.closing = true;
    this.die(reason);
    await Promise.all(this.threads.map((w) => w.terminate()));
  }

  /** The thread with the fewest calls in flight among threads from..end-1 (default all). */
  leastBusy(end = this.busy.length, from = 0): number {
    let best = Math.min(from, this.busy.length - 1);
    for (let i = best + 1; i < Math.min(end, this.busy.length); i++) if (this.busy[i]! < this.busy[best]!) best = i;
    return best;
  }

  private receive(msg: AnswerMessage): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if ('notify' in msg) return p.onNotify?.(msg.notify);
    this.settle(msg.id, p);
    if (msg.ok) p.resolve(msg.value as never);
    else p.reject(deserializeError(msg.error));
  }

  private settle(id: number, p: Pending): void {
    this.pending.delete(id);
    if (--this.busy[p.thread]! === 0) this.threads[p.thread]?.unref();
  }

  private die(err: Error): void {
    this.failure ??= err;
    for (const [id, p] of [...this.pending]) {
      this.settle(id, p);
      p.reject(this.failure);
    }
  }
}
