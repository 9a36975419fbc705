import { CacheError, DatasetError, FileError, KennisError, RecipeError, TeacherError, TrainError, type FileContext } from '../errors/index.js';

/** An error as it crosses a thread boundary: the class by name, its message, and what a FileError needs. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** errno code of a system error or FileError. */
  code?: string;
  /** A FileError's path and context, and the Node error it translated (so an outer fileError can add its context). */
  file?: { path: string; context: FileContext; cause?: { message: string; path?: string; syscall?: string; dest?: string } };
}

const KENNIS_ERRORS: Record<string, new (message: string) => KennisError> = { KennisError, RecipeError, DatasetError, TeacherError, CacheError, TrainError };

/** `err` as plain data for postMessage. */
export function serializeError(err: unknown): SerializedError {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as NodeJS.ErrnoException).code;
  const out: SerializedError = { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}), ...(typeof code === 'string' ? { code } : {}) };
  if (e instanceof FileError) {
    const c = e.cause as (NodeJS.ErrnoException & { dest?: string }) | undefined;
    const cause = c instanceof Error ? { message: c.message, ...(c.path ? { path: c.path } : {}), ...(c.syscall ? { syscall: c.syscall } : {}), ...(c.dest ? { dest: c.dest } : {}) } : undefined;
    out.file = { path: e.path, context: e.context, ...(cause ? { cause } : {}) };
  }
  return out;
}

/** The error serializeError described, rebuilt as the same class (a KennisError subclass or FileError); anything else is an Error with its name, code and stack. */
export function deserializeError(e: SerializedError): Error {
  if (e.file && e.code) {
    const cause = e.file.cause ? Object.assign(new Error(e.file.cause.message), { ...e.file.cause, code: e.code }) : undefined;
    return new FileError(e.message, e.code, e.file.path, e.file.context, cause ? { cause } : undefined);
  }
  const Ctor = KENNIS_ERRORS[e.name];
  const err = Ctor ? new Ctor(e.message) : Object.assign(new Error(e.message), { name: e.name }, e.code ? { code: e.code } : {});
  if (e.stack) err.stack = e.stack;
  return err;
}
