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

const ARROW_NAMES = { float32: 'Float32', float16: 'Float16', uint8: 'Uint8', uint16: 'Uint16', uint32: 'Uint32' } as const;

/** The element type and fixed-size-list sizes (outermost first; [] for a primitive) of a target column. */
export interface TargetColumnShape {
  element: keyof typeof ARROW_NAMES;
  shape: number[];
}

/** The element type and list sizes of each target column a spec calls for. */
export function targetColumnShapes(spec: TargetSpec): Record<string, TargetColumnShape> {
  const positions = spec.seqLen ? [spec.seqLen] : [];
  switch (spec.kind) {
    case 'full':
      return { logits: { element: spec.valueDtype, shape: [...positions, spec.vocab] } };
    case 'topk':
      return {
        topk_ids: { element: spec.idDtype, shape: [...positions, spec.k ?? 0] },
        topk_logits: { element: spec.valueDtype, shape: [...positions, spec.k ?? 0] },
        logsumexp: { element: 'float32', shape: positions },
      };
    case 'sampled':
      return {
        sample_ids: { element: spec.idDtype, shape: [...positions, spec.samples ?? 0] },
        sample_counts: { element: (spec.samples ?? 0) <= 255 ? 'uint8' : 'uint16', shape: [...positions, spec.samples ?? 0] },
      };
  }
}

/**
 * The Arrow type (as the manifest's schema writes it) of each target column a spec calls for:
 * what `cache verify` checks a manifest's schema against, so a manifest cannot claim one
 * vocabulary, k, dtype or sequence length while its shards hold another.
 */
export function targetColumnTypes(spec: TargetSpec): Record<string, string> {
  const listType = ({ element, shape }: TargetColumnShape): string => shape.reduceRight((inner, d) => `FixedSizeList[${d}]<${inner}>`, ARROW_NAMES[element] as string);
  return Object.fromEntries(Object.entries(targetColumnShapes(spec)).map(([name, s]) => [name, listType(s)]));
}

/** Why a target spec contradicts itself (k above the vocabulary, an id dtype that cannot hold it), or undefined. */
export function targetSpecProblem(spec: TargetSpec): string | undefined {
  if (spec.kind === 'topk' && (spec.k === undefined || spec.k > spec.vocab)) return `says top-${spec.k} of a vocabulary of ${spec.vocab}`;
  if (spec.kind === 'sampled' && spec.samples === undefined) return 'says sampled targets without a number of samples';
  if (spec.kind !== 'full' && spec.idDtype !== idDtypeFor(spec.vocab)) return `stores ids as ${spec.idDtype}, but a vocabulary of ${spec.vocab} needs ${idDtypeFor(spec.vocab)}`;
  return undefined;
}

/** The id column of a spec whose values must lie in 0..vocab-1, if any. */
export function idColumnOf(spec: TargetSpec): string | undefined {
  return spec.kind === 'topk' ? 'topk_ids' : spec.kind === 'sampled' ? 'sample_ids' : undefined;
}
