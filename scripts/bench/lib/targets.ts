/** The target kinds the storage and precompute benches compare, by the label their tables print. */
import type { TargetsSection } from './caches.js';

/** Full logits (f32, f16), top-k at k = 8, 32, 64, and 32 sampled tokens. */
export const TARGET_CASES: readonly [label: string, targets: TargetsSection][] = [
  ['full f32', { kind: 'full', dtype: 'float32' }],
  ['full f16', { kind: 'full', dtype: 'float16' }],
  ['topk k=8 f16', { kind: 'topk', k: 8, dtype: 'float16' }],
  ['topk k=32 f16', { kind: 'topk', k: 32, dtype: 'float16' }],
  ['topk k=64 f16', { kind: 'topk', k: 64, dtype: 'float16' }],
  ['sampled n=32', { kind: 'sampled', samples: 32 }],
];
