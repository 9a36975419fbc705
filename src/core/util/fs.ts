import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, fstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fileError, type FileContext } from '../errors/fs.js';

/** Marks temp files of writeFileAtomic, so that an owner of a directory can sweep leftovers of a crash. */
const TEMP_MARK = '.kennis-tmp-';
let tempCounter = 0;

/** True for a file name writeFileAtomic uses as its temporary (left behind only by a crash). */
export function isAtomicTempFile(name: string): boolean {
  return name.startsWith('.') && /\.kennis-tmp-\d+-\d+$/.test(name);
}

/** The file name a temp file of writeFileAtomic was going to replace, or undefined for other names. */
export function atomicTempTarget(name: string): string | undefined {
  return isAtomicTempFile(name) ? name.slice(1).replace(/\.kennis-tmp-\d+-\d+$/, '') : undefined;
}

/** Options of writeFileAtomic. */
export interface AtomicWriteOptions {
  /**
   * fsync the directory after the rename (default true). A caller that writes a second file into
   * the same directory next, syncing that directory, may skip it: one directory fsync makes both renames durable.
   */
  syncDir?: boolean;
}

/**
 * Replaces `file` with `bytes` so that readers (and a crash) see either the old or the new
 * content: writes a temp file in the same directory, fsyncs it, renames it over `file`,
 * then fsyncs the directory so the rename itself is durable. A file system error (disk full,
 * read-only, ...) is a FileError naming `file` (never the temp file, which is removed).
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array | string, context: FileContext = {}, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}${TEMP_MARK}${process.pid}-${tempCounter++}`);
  const where: FileContext = { action: 'writing', path: file, ...context };
  let handle;
  try {
    handle = await open(tmp, 'wx');
  } catch (err) {
    throw fileError(err, where);
  }
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw fileError(err, where);
  }
  if (options.syncDir !== false) await fsyncDir(dir);
}

/** mkdir -p whose file system errors are FileErrors naming `dir`; returns the first directory it created, if any. */
export async function makeDir(dir: string, context: FileContext = {}): Promise<string | undefined> {
  try {
    return await mkdir(dir, { recursive: true });
  } catch (err) {
    throw fileError(await trueMkdirError(dir, err), { action: 'creating directory', path: dir, ...context });
  }
}

/**
 * Recursive mkdir reports ENOENT for the leaf when a parent cannot be created (a read-only
 * mount, no permission); creating the first missing ancestor alone gives the real cause.
 */
async function trueMkdirError(dir: string, err: unknown): Promise<unknown> {
  if (!isCode(err, 'ENOENT')) return err;
  let missing = path.resolve(dir);
  for (let parent = path.dirname(missing); parent !== missing; missing = parent, parent = path.dirname(parent)) {
    if (await stat(parent).then(() => true, () => false)) break;
  }
  return mkdir(missing).then(() => err, (e: unknown) => e);
}

/** fsync of a directory; platforms that cannot open or sync directories (Windows) skip it. */
async function fsyncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch (err) {
    if (isCode(err, 'EISDIR', 'EPERM', 'EACCES')) return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    if (!isCode(err, 'EINVAL', 'EPERM', 'EBADF', 'EISDIR')) throw err;
  } finally {
    await handle.close();
  }
}

/** sha256 hex of a file, read as a stream (files may be larger than memory). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 hex of bytes or a UTF-8 string. */
export function sha256Bytes(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** True when err is a Node system error with one of the given codes. */
export function isCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

/** Whether a pid exists on this host (EPERM: it exists but belongs to another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isCode(err, 'ESRCH');
  }
}

/** What a non-regular file is, for messages: 'a directory', 'a FIFO', 'a character device', ... */
export function fileKind(st: Stats): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device'
    : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : st.isFile() ? 'a regular file' : 'not a file';
}

// O_NONBLOCK: opening a FIFO without a writer returns at once instead of blocking (no effect on regular files)
const OPEN_INPUT = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Reads an input file (teacher, dataset, recipe) that must be a regular file: a FIFO, device or
 * directory would block forever or never end. `fail` turns the reason ('cannot be read (ENOENT)',
 * 'is a FIFO, not a regular file') into the caller's error.
 */
export function readRegularFileSync(file: string, fail: (reason: string) => Error): Buffer {
  let fd: number;
  try {
    fd = openSync(file, OPEN_INPUT);
  } catch (err) {
    throw fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw fail(`is ${fileKind(st)}, not a regular file`);
    return readFileSync(fd);
  } catch (err) {
    if (isCode(err, 'EAGAIN', 'EISDIR', 'EIO')) throw fail(`cannot be read (${(err as NodeJS.ErrnoException).code})`);
    throw err;
  } finally {
    closeSync(fd);
  }
}
