import type { PlainTensor, Teacher } from '../../core/runtime/index.js';

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Median wall-clock milliseconds of `repeats` runs of one fixed batch, after one untimed warm-up
 * run (onnxruntime sizes its memory arena on the first run of a shape). Includes copying the
 * output out of onnxruntime, as every caller pays that.
 */
export async function medianRunMs(teacher: Teacher, feeds: Record<string, PlainTensor>, output: string, repeats: number): Promise<number> {
  await teacher.run(feeds, [output]);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await teacher.run(feeds, [output]);
    times.push(performance.now() - t0);
  }
  return median(times);
}
