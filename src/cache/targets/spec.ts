/** What the cache stores as the teacher's soft targets. */
export type TargetKind = 'full' | 'topk' | 'sampled';

/** Storage dtype for target values. */
export type ValueDtype = 'float32' | 'float16';

/** Storage dtype for token/class ids: the smallest that holds the vocabulary. */
export type IdDtype = 'uint8' | 'uint16' | 'uint32';

/** The resolved description of the soft targets, recorded in the manifest. */
export interface TargetSpec {
  /** full logits, top-k with the full logsumexp, or sampled ids with counts. */
  kind: TargetKind;
  /** Number of classes (classification) or vocabulary size (sequences). */
  vocab: number;
  /** For sequences: positions per row; undefined for classification. */
  seqLen?: number;
  /** Stored value dtype for `full` and `topk`. */
  valueDtype: ValueDtype;
  /** Stored id dtype for `topk` and `sampled`. */
  idDtype: IdDtype;
  /** k for `topk`. */
  k?: number;
  /** Draws per position for `sampled`. */
  samples?: number;
  /** Temperature the draws were taken at for `sampled`; stored values are always at T=1. */
  sampleTemperature?: number;
  /** Seed of the draws for `sampled`. */
  seed?: number;
  /** For sequences: the target at position j is the distribution over token j+1. */
  positionConvention?: 'next-token';
}

/** Smallest unsigned id type that holds ids 0..vocab-1. */
export function idDtypeFor(vocab: number): IdDtype {
  if (vocab <= 256) return 'uint8';
  if (vocab <= 65536) return 'uint16';
  return 'uint32';
}

/** Column names the cache uses for each target kind. */
export const TARGET_COLUMNS = {
  full: ['logits'],
  topk: ['topk_ids', 'topk_logits', 'logsumexp'],
  sampled: ['sample_ids', 'sample_counts'],
} as const satisfies Record<TargetKind, readonly string[]>;
