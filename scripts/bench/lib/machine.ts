/** What machine a benchmark ran on, recorded next to every figure. */
import os from 'node:os';
import { readFileSync } from 'node:fs';

/** Machine facts for bench/results.json. */
export interface MachineInfo {
  /** CPU model from os.cpus(). */
  cpu: string;
  /** Logical cores. */
  cores: number;
  /** Node version. */
  node: string;
  /** Platform and architecture, e.g. linux x64. */
  platform: string;
  /** Total memory in GiB. */
  memoryGiB: number;
  /** 1/5/15-minute load averages when the bench started: other work on the machine skews every figure. */
  loadAverage: number[];
  /** ISO date of the run. */
  date: string;
}

/** Facts about this machine now. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
    date: new Date().toISOString(),
  };
}

/** Peak resident set size of this process in bytes (VmHWM; maxRSS where /proc is missing). */
export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}
