import type { SerializedError } from './errors.js';

/** What a thread's handlers receive beside their request. */
export interface RequestContext {
  /** Sends `event` to the caller's onNotify while the request runs (e.g. a warning). */
  notify(event: unknown): void;
}

/** One operation a worker thread serves: takes a request, answers with a response (or withTransfer(response, buffers)). */
export type Handler = (request: never, context: RequestContext) => unknown;

/** The operations a worker thread serves, by name; the caller imports this type from the worker module. */
export type Handlers = Record<string, Handler>;

const TRANSFER = Symbol('transfer');

/** A response whose `buffers` move to the receiving thread instead of being copied. */
export interface Transfer<T> { readonly [TRANSFER]: true; value: T; buffers: ArrayBuffer[] }

/** Answers with `value`, moving `buffers` (which must belong to it) rather than copying them. */
export function withTransfer<T>(value: T, buffers: ArrayBuffer[]): Transfer<T> {
  return { [TRANSFER]: true, value, buffers };
}

export function isTransfer(x: unknown): x is Transfer<unknown> {
  return typeof x === 'object' && x !== null && TRANSFER in x;
}

/** The request type of operation K. */
export type RequestOf<H extends Handlers, K extends keyof H> = Parameters<H[K]>[0];

/** The response type of operation K (unwrapped from Promise and Transfer). */
export type ResponseOf<H extends Handlers, K extends keyof H> = Awaited<ReturnType<H[K]>> extends infer R ? (R extends Transfer<infer T> ? T : R) : never;

/** Messages on the wire. */
export interface CallMessage { id: number; op: string; request: unknown }
export type AnswerMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError }
  | { id: number; notify: unknown };
