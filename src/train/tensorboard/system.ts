/** Backend tensor memory as tf.memory() reports it (numBytes, numTensors). */
export interface BackendMemory {
  numBytes: number;
  numTensors?: number;
}

const MIB = 2 ** 20;

/**
 * Memory scalars for TensorBoard: the process's resident set and V8 heap, and (given) the backend's
 * own tensor memory, in MiB under `memory/`.
 */
export function memoryScalars(backend?: BackendMemory): Record<string, number> {
  const m = process.memoryUsage();
  const out: Record<string, number> = {
    'memory/rss_mib': m.rss / MIB,
    'memory/heap_used_mib': m.heapUsed / MIB,
    'memory/array_buffers_mib': m.arrayBuffers / MIB,
  };
  if (backend) {
    out['memory/backend_tensors_mib'] = backend.numBytes / MIB;
    if (backend.numTensors !== undefined) out['memory/backend_tensors'] = backend.numTensors;
  }
  return out;
}

/**
 * Wall time per phase of a training step (e.g. data, forward_backward, optimizer, eval), summed
 * between reports and reported as mean milliseconds per step under `time/<phase>_ms`.
 */
export class PhaseTimes {
  private readonly totals = new Map<string, number>();

  /** Adds `ms` to `phase`. */
  add(phase: string, ms: number): void {
    this.totals.set(phase, (this.totals.get(phase) ?? 0) + ms);
  }

  /** Runs `fn`, adding its wall time to `phase`. */
  async time<T>(phase: string, fn: () => T | Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.add(phase, performance.now() - started);
    }
  }

  /** Mean ms per step of each phase over the last `steps` steps, as scalars; starts the next window. */
  scalars(steps: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [phase, ms] of this.totals) out[`time/${phase}_ms`] = ms / Math.max(1, steps);
    this.totals.clear();
    return out;
  }
}
