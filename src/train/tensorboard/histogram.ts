import { KennisError } from '../../core/errors/index.js';

/** tensorboard.HistogramProto as a plain object (histogram.proto). */
export interface Histogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  /** Right edge of each bucket; bucket i holds the values in (bucketLimit[i-1], bucketLimit[i]], bucket 0 from min. */
  bucketLimit: number[];
  bucket: number[];
}

/** Buckets of tf.summary.histogram's default. */
export const DEFAULT_BUCKETS = 30;

/**
 * Histogram of the finite `values` in `buckets` equal-width buckets between their min and max
 * (one bucket when all are equal), accumulated in float64. TensorBoard draws bucket 0 from `min`
 * and the last bucket up to `max`. Non-finite values are left out (`num` counts the rest);
 * throws when none is finite, since TensorBoard cannot draw an empty histogram.
 */
export function histogramOf(values: ArrayLike<number>, buckets = DEFAULT_BUCKETS): Histogram {
  if (!Number.isInteger(buckets) || buckets < 1) throw new KennisError(`expected a histogram bucket count >= 1, got ${buckets}`);
  let min = Infinity;
  let max = -Infinity;
  let num = 0;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    num++;
    sum += v;
    sumSquares += v * v;
  }
  if (num === 0) throw new KennisError(`cannot make a histogram of ${values.length} values with none finite; check the weights or gradients for NaN/Inf`);
  const n = max > min ? buckets : 1;
  const width = (max - min) / n;
  const bucketLimit = Array.from({ length: n }, (_, i) => (i === n - 1 ? max : min + width * (i + 1)));
  const bucket = new Array<number>(n).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    // the first bucket whose limit is >= v: a value on an edge belongs to the bucket it closes
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v <= bucketLimit[mid]!) hi = mid;
      else lo = mid + 1;
    }
    bucket[lo]!++;
  }
  return { min, max, num, sum, sumSquares, bucketLimit, bucket };
}
