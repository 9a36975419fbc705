import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Lowers the calling thread's scheduling priority by `steps` nice levels (at most to 19). On
 * Linux a thread id is a pid to setpriority; elsewhere, or without /proc, this does nothing.
 */
export function lowerThreadPriority(steps: number): void {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return;
  }
  if (!Number.isInteger(tid) || tid <= 0) return;
  try {
    setPriority(tid, Math.min(19, getPriority(tid) + steps));
  } catch {
    // a sandbox may refuse it; the thread keeps its priority
  }
}
