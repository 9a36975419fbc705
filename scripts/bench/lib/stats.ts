/** Summary statistics of repeated measurements: every figure in bench/results.json is one of these. */

/** Median and spread of n repeated measurements of one quantity. */
export interface Spread {
  /** Median of the samples. */
  median: number;
  /** Smallest sample. */
  min: number;
  /** Largest sample. */
  max: number;
  /** First quartile (linear interpolation). */
  q1: number;
  /** Third quartile. */
  q3: number;
  /** Number of samples. */
  n: number;
}

function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** Median, min/max and quartiles of the samples. */
export function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) throw new RangeError('expected at least one sample, got none');
  const s = [...samples].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), min: s[0]!, max: s[s.length - 1]!, q1: quantile(s, 0.25), q3: quantile(s, 0.75), n: s.length };
}

/** Per-second rates of `units` done in each of the measured durations (ms). */
export function rates(units: number, ms: readonly number[]): number[] {
  return ms.map((t) => (units * 1000) / t);
}

/** Options of timeRuns(). */
export interface RunOptions {
  /** Untimed runs first (JIT, kernel compilation, weight packing, caches). */
  warmup: number;
  /** Timed runs. */
  reps: number;
}

/** Wall time (ms) of each timed run of `fn`; the work must be finished when fn resolves. */
export async function timeRuns(fn: (i: number) => unknown, o: RunOptions): Promise<number[]> {
  for (let i = 0; i < o.warmup; i++) await fn(-1 - i);
  const out: number[] = [];
  for (let i = 0; i < o.reps; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

/** The ratio of two figures' medians (both measured in the same run). */
export function ratio(a: Spread, b: Spread): number {
  return a.median / b.median;
}

/** "median [min–max]" with a fixed number of digits. */
export function fmt(s: Spread | undefined, digits = 1): string {
  if (!s) return '-';
  const f = (x: number) => x.toFixed(digits);
  return s.n > 1 ? `${f(s.median)} [${f(s.min)}-${f(s.max)}]` : f(s.median);
}

/** Wall and CPU time (ms) of each timed run. */
export interface RunTimes {
  /** Elapsed time. */
  wall: number[];
  /** This process's user + system CPU time: on a busy shared machine it excludes time spent waiting for a core. */
  cpu: number[];
}

/**
 * Times several functions side by side: each round runs every function once, in order, so slow
 * phases of a shared machine hit all of them alike and per-round ratios stay meaningful.
 */
export async function interleavedRuns<K extends string>(fns: Record<K, (i: number) => unknown>, o: RunOptions & { pauseMs?: number }): Promise<Record<K, RunTimes>> {
  const names = Object.keys(fns) as K[];
  const out = Object.fromEntries(names.map((n) => [n, { wall: [], cpu: [] } as RunTimes])) as Record<K, RunTimes>;
  for (let i = -o.warmup; i < o.reps; i++) {
    for (const n of names) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fns[n](i);
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (i >= 0) { out[n].wall.push(wall); out[n].cpu.push((c.user + c.system) / 1000); }
      // untimed: lets thread pools that spin after a run (onnxruntime) go idle before the next function
      if (o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs));
    }
  }
  return out;
}
