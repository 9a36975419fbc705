/**
 * Real file system faults for the fault suites: a tiny tmpfs that fills up (ENOSPC) or is mounted
 * read-only (EROFS) when this process is root and may mount; a path under a regular file
 * (ENOTDIR), a directory where a file goes (EISDIR) and an over-long name (ENAMETOOLONG) anywhere.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const mounted: string[] = [];
after(() => {
  for (const m of mounted) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
      rmSync(m, { recursive: true, force: true });
    } catch {
      // left for the OS: a busy mount in a tmp dir
    }
  }
});

/** Mounts a tmpfs of `kib` KiB (read-only with `readOnly`) and returns its directory, or undefined when not root / mount fails. */
export function tinyDisk(kib: number, options: { readOnly?: boolean } = {}): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kennis-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k${options.readOnly ? ',ro' : ''}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  mounted.push(dir);
  return dir;
}

/** Remounts a tinyDisk read-only (its files stay readable). */
export function makeReadOnly(dir: string): void {
  execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'ignore' });
}

/** Why tests needing tinyDisk are skipped on this machine, or false. */
export const noDisk = process.getuid?.() === 0 ? false : 'needs root to mount a tiny tmpfs';

/** A name longer than any file system allows (NAME_MAX is 255). */
export const LONG_NAME = 'n'.repeat(300);

/** Files under `dir` whose names mark temporaries (kennis temp files, checkpoint temp dirs): none may survive a fault. */
export function tempsUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of (() => { try { return readdirSync(d); } catch { return []; } })()) {
      if (/\.kennis-tmp-|\.tmp-\d+|\.tmp$/.test(n)) out.push(join(d, n));
      const p = join(d, n);
      if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** A fresh directory (created) for one case. */
export function freshDir(parent: string, name: string): string {
  const d = join(parent, name);
  mkdirSync(d, { recursive: true });
  return d;
}
