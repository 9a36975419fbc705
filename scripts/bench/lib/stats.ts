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
