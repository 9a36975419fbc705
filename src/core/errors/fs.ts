import { statSync } from 'node:fs';
import path from 'node:path';
import { KennisError } from './errors.js';

/**
 * A file system call that failed for a reason the user can fix (disk full, read-only mount, no
 * permission, a file where a directory should be, ...). Keeps the errno `code` and the `path`, so
 * code that checks `err.code` works on it as on the Node error it replaces.
 */
export class FileError extends KennisError {
  constructor(message: string, readonly code: string, readonly path: string, readonly context: FileContext = {}, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Where a file operation happened, for fileError's message and fix. */
export interface FileContext {
  /** What was being done, e.g. 'writing checkpoint', 'creating output directory' (default from the syscall). */
  action?: string;
  /** The path to name (default: the error's own path). */
  path?: string;
  /** The recipe key or flag that chose the location, e.g. 'output.dir', '--out'. */
  setting?: string;
  /** How to continue once the cause is fixed (default 'rerun'), e.g. 'rerun with --resume'. */
  rerun?: string;
}

/** The errno codes fileError translates: what went wrong, in words, and what fixes it. */
const CAUSES: Record<string, { cause: string; fix: (c: Required<Pick<FileContext, 'rerun'>> & FileContext, file: string) => string }> = {
  ENOSPC: { cause: 'no space left on device', fix: (c) => `free space and ${c.rerun}` },
  EDQUOT: { cause: 'disk quota exceeded', fix: (c) => `free space and ${c.rerun}` },
  EROFS: { cause: 'read-only file system', fix: (c) => `${elsewhere(c)} on a writable file system and ${c.rerun}` },
  EACCES: { cause: 'permission denied', fix: (c) => `make it writable for this user or ${elsewhere(c)} and ${c.rerun}` },
  EPERM: { cause: 'operation not permitted', fix: (c) => `make it writable for this user or ${elsewhere(c)} and ${c.rerun}` },
  ENOTDIR: { cause: 'not a directory', fix: (c, file) => `${fileAncestor(file)} is a file, not a directory; ${elsewhere(c)}` },
  EISDIR: { cause: 'a directory is in the way', fix: (c) => `${c.setting ? `set ${c.setting} to` : 'name'} a file path, not a directory` },
  ENAMETOOLONG: { cause: 'file name too long', fix: (c) => `${elsewhere(c, 'a shorter path')}` },
  ENOENT: { cause: 'no such file or directory', fix: (c) => `check the path or ${elsewhere(c)}` },
  ELOOP: { cause: 'too many levels of symbolic links', fix: (c) => `fix the symlink loop or ${elsewhere(c)}` },
  EMFILE: { cause: 'too many open files', fix: (c) => `raise the limit (ulimit -n) and ${c.rerun}` },
  ENFILE: { cause: 'too many open files in the system', fix: (c) => `close other programs and ${c.rerun}` },
  EIO: { cause: 'input/output error', fix: (c) => `check the disk and ${c.rerun}` },
  EFBIG: { cause: 'file too large for the file system', fix: (c) => `${elsewhere(c)} on another file system` },
  // mkdir (recursive too) where a file already holds the name
  EEXIST: { cause: 'a file is in the way', fix: (c, file) => `${fileAncestor(file)} is a file, not a directory; ${elsewhere(c)}` },
  EBUSY: { cause: 'resource busy', fix: (c) => `wait for the other user of it and ${c.rerun}` },
};

function elsewhere(c: FileContext, what = 'another location'): string {
  return c.setting ? `set ${c.setting} to ${what}` : `choose ${what}`;
}

/** The nearest existing ancestor of `file` that is not a directory (the cause of ENOTDIR), quoted; or "a parent". */
function fileAncestor(file: string): string {
  for (let d = file; ; d = path.dirname(d)) {
    try {
      if (!statSync(d).isDirectory()) return `'${d}'`;
    } catch {
      // missing or unreadable: look further up
    }
    if (path.dirname(d) === d) return 'a parent';
  }
}

const ACTIONS: Record<string, string> = {
  open: 'opening', mkdir: 'creating directory', rename: 'renaming to', write: 'writing', read: 'reading', unlink: 'removing',
  rmdir: 'removing directory', copyfile: 'copying to', scandir: 'listing', stat: 'reading', lstat: 'reading', fsync: 'syncing',
  utime: 'touching', symlink: 'linking', rm: 'removing', access: 'reading',
};

/** True for a Node system error (has an errno code) that fileError translates. */
export function isFileSystemError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  return err instanceof Error && !(err instanceof KennisError) && typeof (err as NodeJS.ErrnoException).code === 'string' && (err as NodeJS.ErrnoException).code! in CAUSES;
}

/**
 * The one translation of file system errors: a Node error with a known errno code becomes a
 * FileError whose message is one line naming the cause, the action and the path, and the fix,
 * e.g. `no space left on device writing checkpoint '/r/checkpoints/step-0000006'; free space and
 * rerun with --resume`. Any other error (already a KennisError, or a bug) is returned unchanged.
 */
export function fileError(err: unknown, context: FileContext = {}): unknown {
  // an inner site named the action and path; an outer one may still add the setting and how to rerun
  if (err instanceof FileError && err.cause instanceof Error) return fileError(err.cause, { ...context, ...definedOnly(err.context) });
  if (!isFileSystemError(err)) return err;
  const known = CAUSES[err.code]!;
  // rename/copy errors carry both paths; `dest` is the one being written
  const file = context.path ?? (err as { dest?: string }).dest ?? err.path ?? '(unknown path)';
  const action = context.action ?? ACTIONS[err.syscall ?? ''] ?? err.syscall ?? 'using';
  const fix = known.fix({ ...context, rerun: context.rerun ?? 'rerun' }, file);
  return new FileError(`${known.cause} ${action} '${file}'; ${fix}`, err.code, file, context, { cause: err });
}

function definedOnly(context: FileContext): FileContext {
  return Object.fromEntries(Object.entries(context).filter(([, v]) => v !== undefined));
}

/** Runs `body`; a file system error it throws is rethrown as fileError(err, context). */
export async function withFileErrors<T>(context: FileContext, body: () => Promise<T> | T): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw fileError(err, context);
  }
}

/** withFileErrors for synchronous bodies. */
export function withFileErrorsSync<T>(context: FileContext, body: () => T): T {
  try {
    return body();
  } catch (err) {
    throw fileError(err, context);
  }
}
