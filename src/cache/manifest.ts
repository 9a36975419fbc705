import { z } from 'zod';
import { storedColumnSchema } from './inputs.js';
import { packedColumnSchema } from './packed.js';

export const MANIFEST_FORMAT = 'kennis-cache';
export const MANIFEST_VERSION = 1;

const tensorSignature = z.object({
  name: z.string(),
  type: z.string(),
  /** Dimensions; strings are symbolic (dynamic) dims. */
  shape: z.array(z.union([z.number(), z.string()])),
});

export const shardEntrySchema = z.object({
  /** File name relative to the cache directory (never a path). */
  file: z.string(),
  /** First dataset row (within the split) held by this shard. */
  firstRow: z.number().int().nonnegative(),
  /** Rows in the shard. */
  rows: z.number().int().nonnegative(),
  /** File size in bytes. */
  bytes: z.number().int().nonnegative(),
  /** sha256 hex of the file. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  key: z.string().regex(/^[0-9a-f]{64}$/),
  complete: z.boolean(),
  teacher: z.object({
    file: z.string(),
    sha256: z.string(),
    inputs: z.array(tensorSignature),
    outputs: z.array(tensorSignature),
    outputKind: z.enum(['logits', 'logprobs', 'probs']),
  }),
  dataset: z.object({
    name: z.string(),
    fingerprint: z.string(),
    split: z.string(),
    rows: z.number().int().nonnegative(),
    labelColumn: z.string().optional(),
    /** Student input columns stored in every shard. */
    inputColumns: z.array(z.string()),
    /** Columns stored in a narrower type than the dataset gives them (absent in caches that store every column as given). */
    storedColumns: z.record(z.string(), storedColumnSchema).optional(),
    /** Token data: the vocabulary the ids come from, so the cache can be read as text. */
    tokenizer: z.object({
      /** `bytes`, or the npm package name or absolute path of the tokenizer.json. */
      name: z.string(),
      /** sha256 hex of tokenizer.json (and tokenizer_config.json). */
      fingerprint: z.string().optional(),
      vocabSize: z.number().int().positive(),
      /** The tokenizer's own size when vocabSize pads it (dataset.vocab_size). */
      tokenizerVocab: z.number().int().positive().optional(),
      packing: z.enum(['packed', 'padded']).optional(),
      /** BOS/EOS ids put around each document. */
      bos: z.number().int().nonnegative().optional(),
      eos: z.number().int().nonnegative().optional(),
      /** UTF-8 bytes of the split's text per token: bits per byte = nats per token / ln 2 / bytesPerToken. */
      bytesPerToken: z.number().positive().optional(),
    }).optional(),
  }),
  targets: z.object({
    kind: z.enum(['full', 'topk', 'sampled']),
    vocab: z.number().int().positive(),
    seqLen: z.number().int().positive().optional(),
    valueDtype: z.enum(['float32', 'float16']),
    idDtype: z.enum(['uint8', 'uint16', 'uint32']),
    k: z.number().int().positive().optional(),
    samples: z.number().int().positive().optional(),
    sampleTemperature: z.number().positive().optional(),
    seed: z.number().int().optional(),
    positionConvention: z.literal('next-token').optional(),
  }),
  /** Shard file format. */
  shardFormat: z.enum(['parquet', 'arrow']),
  /** Rows per shard (the last may be shorter). */
  shardRows: z.number().int().positive(),
  /** Arrow schema of every shard: field name -> type string, in order. */
  schema: z.array(z.object({ name: z.string(), type: z.string() })),
  /** List columns stored as one FixedSizeBinary value per row (see packedColumnSchema); `schema` gives the lists they hold. Absent in caches that store every list column as a FixedSizeList. */
  packedColumns: z.record(z.string(), packedColumnSchema).optional(),
  shards: z.array(shardEntrySchema),
  tool: z.object({ name: z.literal('kennis'), version: z.string() }),
  createdAt: z.string(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ShardEntry = z.infer<typeof shardEntrySchema>;
export type { TensorSignature } from '../core/onnx/types.js';
