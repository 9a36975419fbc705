import { hostname } from 'node:os';
import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { CacheError } from '../errors/index.js';
import { isCode } from '../util/fs.js';
import { LOCK_FILE } from './paths.js';

/** What a cache lock file records about its owner. */
export interface LockInfo {
  /** Process id of the writer. */
  pid: number;
  /** Host the writer runs on (pids only mean something there). */
  hostname: string;
  /** ISO time the lock was taken. */
  startedAt: string;
}

/** A held lock; release() removes the lock file if it is still ours. */
export interface CacheLock {
  /** The lock file's path. */
  readonly file: string;
  /** What this process wrote into the lock file. */
  readonly info: LockInfo;
  /** Removes the lock file; safe to call twice. */
  release(): Promise<void>;
}

/**
 * Takes the writer lock of a cache directory by creating `.lock` with O_EXCL. A lock whose pid
 * is dead on this host is stale (a crashed run) and is taken over after calling `onWarning`;
 * a live lock, a lock from another host, or an unreadable lock is a CacheError.
 */
export async function acquireLock(dir: string, onWarning: (message: string) => void): Promise<CacheLock> {
  const file = path.join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  const text = `${JSON.stringify(info)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return makeLock(file, info, text);
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw asLockError(err, file, dir);
    }
    const held = await readLock(file);
    if (held === undefined) continue; // released between our open and read
    const holder = parseLock(held);
    if (!holder) {
      throw new CacheError(`cache lock '${file}' is unreadable (another run may be starting); if no kennis run is writing '${dir}', delete '${file}'`);
    }
    if (holder.hostname !== info.hostname || isAlive(holder.pid)) {
      throw new CacheError(`cache '${dir}' is locked by pid ${holder.pid} on host ${holder.hostname} since ${holder.startedAt} (${file}); wait for that run to finish, or delete '${file}' if it is not running`);
    }
    onWarning(`taking over stale cache lock '${file}' of pid ${holder.pid} (not running on ${holder.hostname}) from ${holder.startedAt}`);
    // remove only the lock we judged stale, not one a concurrent run just created
    if ((await readLock(file)) === held) await unlink(file).catch((e: unknown) => { if (!isCode(e, 'ENOENT')) throw e; });
  }
  throw new CacheError(`could not take cache lock '${file}': other runs keep re-creating it; wait for them or delete '${file}'`);
}

function makeLock(file: string, info: LockInfo, text: string): CacheLock {
  let released = false;
  return {
    file,
    info,
    async release() {
      if (released) return;
      released = true;
      if ((await readLock(file)) === text) await unlink(file).catch(() => undefined);
    },
  };
}

async function readLock(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (Number.isInteger(v.pid) && typeof v.hostname === 'string' && typeof v.startedAt === 'string') return v as LockInfo;
  } catch {
    // fall through: not a lock kennis wrote completely
  }
  return undefined;
}

/** Whether a pid exists on this host (EPERM: it exists but belongs to another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isCode(err, 'ESRCH');
  }
}

function asLockError(err: unknown, file: string, dir: string): unknown {
  if (isCode(err, 'ENOENT', 'EACCES', 'EPERM', 'EROFS')) return new CacheError(`cannot create cache lock '${file}': ${(err as Error).message}; check that '${dir}' is writable`, { cause: err });
  return err;
}
