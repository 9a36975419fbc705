import { hostname } from 'node:os';
import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { CacheError, fileError, type KennisError } from '../core/errors/index.js';
import { isAlive, isCode } from '../core/util/fs.js';
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

/** Options of acquireLock. */
export interface LockOptions {
  /** Lock file name inside the directory (default `.lock`; workers of a distributed run each have their own). */
  file?: string;
  /** A lock whose heartbeat (the file's mtime) is older than this is stale, whatever its host (default 120 s). */
  staleAfterMs?: number;
  /** How often the held lock's mtime is refreshed (default LOCK_HEARTBEAT_MS). */
  heartbeatMs?: number;
  /** What the locked directory is, in messages (default 'cache'; train uses 'run directory'). */
  label?: string;
  /** The error class of a held or unreadable lock (default CacheError). */
  errorClass?: new (message: string) => KennisError;
}

/** How often a held lock's mtime is refreshed, so that other hosts can tell a live holder from a dead one. */
export const LOCK_HEARTBEAT_MS = 10_000;
/** Default LockOptions.staleAfterMs: many missed heartbeats, with room for NFS attribute caching (up to 60 s). */
export const LOCK_STALE_AFTER_MS = 120_000;

/** When this process started: a lock with our own pid taken before then is a previous process's (pid reuse in containers). */
const PROCESS_STARTED = Date.now() - process.uptime() * 1000;

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
 * Takes the writer lock of a cache directory by creating `.lock` (or options.file) with O_EXCL,
 * and refreshes its mtime every LOCK_HEARTBEAT_MS while held. A lock is stale (a crashed run)
 * and is taken over after calling `onWarning` when its pid is dead on this host, when it carries
 * this process's own pid but predates this process (a restarted container), or when its
 * heartbeat stopped more than staleAfterMs ago (a dead host); a live lock is a CacheError.
 */
export async function acquireLock(dir: string, onWarning: (message: string) => void, options: LockOptions = {}): Promise<CacheLock> {
  const file = path.join(dir, options.file ?? LOCK_FILE);
  const staleAfter = options.staleAfterMs ?? LOCK_STALE_AFTER_MS;
  const info: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  const text = `${JSON.stringify(info)}\n`;
  const label = options.label ?? 'cache';
  const Err = options.errorClass ?? CacheError;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return makeLock(file, info, text, options.heartbeatMs ?? LOCK_HEARTBEAT_MS);
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw fileError(err, { action: 'creating lock', path: file });
    }
    const state = await inspectLock(dir, { file: options.file ?? LOCK_FILE, staleAfterMs: staleAfter });
    if (state === undefined) continue; // released between our open and read
    const { held, holder, stale } = state;
    if (!holder && !stale) {
      throw new Err(`${label} lock '${file}' is unreadable (another run may be starting); if no kennis run is writing '${dir}', delete '${file}'`);
    }
    if (!stale) {
      throw new Err(`${label} '${dir}' is locked by pid ${holder!.pid} on host ${holder!.hostname} since ${holder!.startedAt} (${file}); wait for that run to finish, or delete '${file}' if it is not running`);
    }
    const whose = holder ? `of pid ${holder.pid} (${stale}) from ${holder.startedAt}` : `(unreadable; ${stale})`;
    onWarning(`taking over stale ${label} lock '${file}' ${whose}`);
    await removeIfUnchanged(file, held);
  }
  throw new Err(`could not take ${label} lock '${file}': other runs keep re-creating it; wait for them or delete '${file}'`);
}

/**
 * Removes the lock of a run that died after finishing its cache but before releasing the lock
 * (a kill in that last moment), when it is stale by acquireLock's rules; a live lock is left.
 * For readers of a complete cache, which take no lock of their own.
 */
export async function removeStaleLock(dir: string, onWarning: (message: string) => void, options: LockOptions = {}): Promise<void> {
  const file = path.join(dir, options.file ?? LOCK_FILE);
  const state = await inspectLock(dir, options);
  if (state?.stale === undefined) return;
  onWarning(`removing stale cache lock '${file}' of a finished cache (${state.stale})`);
  await removeIfUnchanged(file, state.held);
}

/** Deletes a lock judged stale only if it still holds what was judged: not one a concurrent run just created. */
async function removeIfUnchanged(file: string, held: string): Promise<void> {
  if ((await readLock(file)) === held) await unlink(file).catch((e: unknown) => { if (!isCode(e, 'ENOENT')) throw e; });
}

/** A lock file as found: its text, its holder when readable, and why it is stale (undefined: its holder may be running). */
export interface LockState {
  /** The file's content. */
  held: string;
  /** Who wrote it, when the content is a complete lock. */
  holder?: LockInfo;
  /** Why the lock is stale, if it is. */
  stale?: string;
}

/** The state of a cache directory's lock file, or undefined when there is none (see acquireLock for staleness). */
export async function inspectLock(dir: string, options: LockOptions = {}): Promise<LockState | undefined> {
  const file = path.join(dir, options.file ?? LOCK_FILE);
  const held = await readLock(file);
  if (held === undefined) return undefined;
  const holder = parseLock(held);
  const age = await ageMs(file);
  const silent = age !== undefined && age > (options.staleAfterMs ?? LOCK_STALE_AFTER_MS) ? `its heartbeat stopped ${Math.round(age / 1000)} s ago` : undefined;
  const stale = silent ?? (holder && holder.hostname === hostname() ? deadReason(holder) : undefined);
  return { held, ...(holder ? { holder } : {}), ...(stale ? { stale } : {}) };
}

function makeLock(file: string, info: LockInfo, text: string, heartbeatMs: number): CacheLock {
  let released = false;
  const beat = async (): Promise<void> => {
    // a lock taken over by another run (ours was judged stale) is no longer refreshed
    if ((await readLock(file).catch(() => undefined)) !== text) return clearInterval(timer);
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined);
  };
  const timer = setInterval(() => void beat(), heartbeatMs);
  timer.unref();
  return {
    file,
    info,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      if ((await readLock(file)) === text) await unlink(file).catch(() => undefined);
    },
  };
}

/** Why a lock of this host is stale, or undefined while its holder may be running. */
function deadReason(holder: LockInfo): string | undefined {
  if (holder.pid === process.pid) {
    // no other live process has our pid on this host; one from before we started was an earlier process
    return Date.parse(holder.startedAt) < PROCESS_STARTED ? `taken before this process with the same pid started on ${holder.hostname}` : undefined;
  }
  return isAlive(holder.pid) ? undefined : `not running on ${holder.hostname}`;
}

/** Milliseconds since the lock file's last heartbeat, or undefined when it is gone. */
async function ageMs(file: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(file)).mtimeMs;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
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
