import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { TeacherError } from '../core/errors/index.js';
import { readRegularFileSync } from '../core/util/fs.js';
import type { Dataset } from '../data/index.js';
import { openDataset } from '../data/index.js';
import { inspectModel } from '../core/onnx/index.js';
import { cacheKey, type PackedColumns, type StoredColumns, type TensorSignature } from '../cache/index.js';
import { elementOf } from './transfer.js';
import { listShape } from '../core/util/arrow.js';
import type { LoadedRecipe } from '../recipe/index.js';
import { resolveFrom } from '../recipe/index.js';
import { idDtypeFor, targetColumnShapes, type TargetSpec } from '../cache/targets/index.js';
import { datasetSpecOf } from '../recipe/index.js';

/** Everything precompute decides before running the teacher. */
export interface PrecomputePlan {
  /** The dataset split to run over. */
  dataset: Dataset;
  /** Teacher model bytes as read from disk. */
  teacherBytes: Uint8Array;
  /** Absolute path of the teacher model. */
  teacherPath: string;
  /** sha256 hex of the teacher bytes. */
  teacherSha256: string;
  /** The teacher's own inputs and outputs, read from the model file. */
  signature: { inputs: TensorSignature[]; outputs: TensorSignature[] };
  /** Output of the teacher graph that holds logits / log-probs / probs. */
  logitsOutput: string;
  /** Resolved soft-target spec. */
  spec: TargetSpec;
  /** Dataset columns the shards store narrower than given (empty with cache.input_dtype as_fed). */
  storedColumns: StoredColumns;
  /** List columns the shards store as one binary value per row (empty with cache.layout lists). */
  packedColumns: PackedColumns;
  /** Content address of the cache. */
  key: string;
  /** Cache directory. */
  dir: string;
  /** Bytes one shard holds in memory until written, at most (its rows as fed plus its head outputs at 8 bytes a value). */
  shardBytes: number;
  /** Rows per teacher call and calls in flight: the recipe's, lowered so their logits fit LOGITS_BUDGET_BYTES. */
  teacherCalls: { batchRows: number; concurrency: number; memArena: boolean; lowered?: string };
}

/** Reads the teacher and dataset and derives the target spec and the cache key. */
export async function planPrecompute(loaded: LoadedRecipe): Promise<PrecomputePlan> {
  const { recipe } = loaded;
  const teacherPath = resolveFrom(loaded, recipe.teacher.path);
  const teacherBytes: Uint8Array = readRegularFileSync(teacherPath, (why) => new TeacherError(`teacher file '${recipe.teacher.path}' ${why}; set teacher.path to an ONNX model file`));
  const model = inspectModel(teacherBytes, basename(teacherPath));
  const logitsOutput = recipe.teacher.output ?? model.outputs[0]?.name;
  const out = model.outputs.find((o) => o.name === logitsOutput);
  if (!out) {
    throw new TeacherError(`teacher output '${logitsOutput}' does not exist; the model's outputs are ${model.outputs.map((o) => o.name).join(', ')}; set teacher.output`);
  }
  const vocab = out.shape[out.shape.length - 1];
  if (typeof vocab !== 'number' || vocab <= 0) {
    throw new TeacherError(`teacher output '${out.name}' has no fixed last dimension (shape [${out.shape.join(',')}]); kennis needs the number of classes or the vocabulary size there`);
  }
  if (out.shape.length !== 2 && out.shape.length !== 3) {
    throw new TeacherError(`teacher output '${out.name}' has shape [${out.shape.join(',')}]; expected [N, classes] or [N, T, vocab]`);
  }
  const dataset = await openDataset(datasetSpecOf(loaded));
  const sequence = out.shape.length === 3;
  const seqLen = sequence ? (typeof out.shape[1] === 'number' ? out.shape[1] : dataset.seqLen) : undefined;
  if (sequence && seqLen === undefined) {
    throw new TeacherError(`teacher output '${out.name}' is per token ([N,T,V]) but dataset '${dataset.name}' has no fixed sequence length; use a token-window dataset with dataset.seq_len`);
  }
  const t = recipe.targets;
  if (t.kind === 'topk' && t.k > vocab) {
    throw new TeacherError(`targets.k is ${t.k} but the teacher has only ${vocab} classes; set targets.k to at most ${vocab} or use targets.kind=full`);
  }
  if (!sequence && dataset.numClasses !== undefined && vocab < dataset.numClasses) {
    // labels >= vocab would be silently masked out of the hard-label loss (token data is checked per id when run)
    throw new TeacherError(`teacher output '${out.name}' has ${vocab} classes but dataset '${dataset.name}' has ${dataset.numClasses}; use a teacher with ${dataset.numClasses} outputs (or set teacher.output, or dataset.num_classes for a file dataset)`);
  }
  checkVocabulary(out.name, vocab, dataset, sequence);
  const spec: TargetSpec = {
    kind: t.kind,
    vocab,
    ...(seqLen !== undefined ? { seqLen, positionConvention: 'next-token' as const } : {}),
    valueDtype: t.dtype,
    idDtype: idDtypeFor(vocab),
    ...(t.kind === 'topk' ? { k: t.k } : {}),
    ...(t.kind === 'sampled' ? { samples: t.samples, sampleTemperature: t.temperature, seed: t.seed } : {}),
  };
  const storedColumns = recipe.cache.input_dtype === 'natural' ? storedColumnsOf(dataset) : {};
  const packedColumns = recipe.cache.layout === 'packed' ? packedColumnsOf(dataset, storedColumns, spec) : {};
  const teacherSha256 = createHash('sha256').update(teacherBytes).digest('hex');
  const key = cacheKey({
    teacherSha256,
    datasetFingerprint: dataset.fingerprint,
    targetSpec: spec,
    // how the teacher is fed and read, and how shards are laid out, change the cache's bytes too
    extra: {
      output: out.name, outputKind: recipe.teacher.output_kind, inputs: recipe.teacher.inputs ?? null,
      attentionMask: recipe.teacher.attention_mask, format: recipe.cache.format, shardRows: recipe.cache.shard_rows,
      // absent when every column is stored as given, so such caches keep the key they always had
      ...(Object.keys(storedColumns).length > 0 ? { storedColumns } : {}),
      ...(Object.keys(packedColumns).length > 0 ? { packedColumns } : {}),
    },
  });
  const dir = recipe.cache.dir ? resolveFrom(loaded, recipe.cache.dir) : resolveFrom(loaded, `${recipe.cache.root}/${key}`);
  const teacherCalls = boundTeacherCalls(recipe.teacher.batch_size, recipe.cache.concurrency, (seqLen ?? 1) * vocab * 4);
  const shardBytes = recipe.cache.shard_rows * rowBytes(dataset, spec);
  return { dataset, teacherBytes, teacherPath, teacherSha256, signature: { inputs: model.inputs, outputs: model.outputs }, logitsOutput: out.name, spec, storedColumns, packedColumns, key, dir, shardBytes, teacherCalls };
}

/** Bytes of one row as the dataset gives it plus its head outputs, counting 8 bytes a value (int64 ids, and the copy the shard's join makes). */
function rowBytes(dataset: Dataset, spec: TargetSpec): number {
  const values = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
  const inputs = dataset.schema.fields.reduce((n, f) => n + values(listShape(f.type)) * 8, 0);
  return Object.values(targetColumnShapes(spec)).reduce((n, c) => n + values(c.shape) * 8, inputs);
}

/** The narrow storage the dataset declares for its columns, with the element type each is given in. */
function storedColumnsOf(dataset: Dataset): StoredColumns {
  const stored: StoredColumns = {};
  for (const [name, narrow] of Object.entries(dataset.narrowColumns ?? {})) {
    const field = dataset.schema.fields.find((f) => f.name === name);
    if (!field) continue;
    const dtype = elementOf(field.type, name);
    if (dtype === 'float16' || dtype === 'int64') continue;
    stored[name] = { dtype, stored: narrow.dtype, ...(narrow.levels ? { levels: [...narrow.levels] } : {}) };
  }
  return stored;
}

/** Every list column of the shards (dataset columns as stored, then targets), packed. */
function packedColumnsOf(dataset: Dataset, stored: StoredColumns, spec: TargetSpec): PackedColumns {
  const packed: PackedColumns = {};
  for (const field of dataset.schema.fields) {
    const shape = listShape(field.type);
    if (shape.length > 0) packed[field.name] = { element: stored[field.name]?.stored ?? elementOf(field.type, field.name), shape };
  }
  for (const [name, { element, shape }] of Object.entries(targetColumnShapes(spec))) if (shape.length > 0) packed[name] = { element, shape };
  return packed;
}

/**
 * Refuses a token dataset whose vocabulary is not the teacher's: every stored target would be
 * meaningless (a byte dataset fed to an 8,192-token teacher ran silently before).
 */
function checkVocabulary(output: string, vocab: number, dataset: Dataset, sequence: boolean): void {
  if (!sequence) return;
  const tokenizer = dataset.tokenizer;
  if (tokenizer) {
    if (tokenizer.vocabSize === vocab) return;
    const named = tokenizer.name === 'bytes' ? `dataset '${dataset.name}' is bytes (vocabulary ${tokenizer.vocabSize})` : `dataset '${dataset.name}' has the vocabulary of tokenizer '${tokenizer.name}' (${tokenizer.vocabSize})`;
    const fix = tokenizer.name === 'bytes'
      ? 'set dataset.tokenizer to the tokenizer the teacher was trained with, or use a byte-level teacher'
      : vocab > tokenizer.vocabSize
        ? `use the teacher's own tokenizer, or set dataset.vocab_size=${vocab} if the model pads the tokenizer's vocabulary`
        : "use the teacher's own tokenizer";
    throw new TeacherError(`teacher output '${output}' has a vocabulary of ${vocab} but ${named}; ${fix}`);
  }
  if (dataset.numClasses !== undefined && dataset.numClasses > vocab) {
    throw new TeacherError(`dataset '${dataset.name}' holds token ids up to ${dataset.numClasses - 1} but teacher output '${output}' has a vocabulary of ${vocab}; use the teacher's tokenizer for the dataset (ids < ${vocab})`);
  }
}

/**
 * Teacher logits in flight at most (rows per call x calls x T x V float32), unless one row alone is
 * larger: a 262,144-token vocabulary at T = 2048 is 2 GiB per row, so the default 256 rows per call
 * would need 512 GiB.
 */
export const LOGITS_BUDGET_BYTES = 2 ** 30;

/** Logits per teacher call from which precompute runs onnxruntime without its CPU memory arena. */
export const ARENA_LIMIT_BYTES = 64 * 2 ** 20;

/** The recipe's rows per call and calls in flight, lowered until their logits fit LOGITS_BUDGET_BYTES (at least one row). */
export function boundTeacherCalls(batchRows: number, concurrency: number, rowLogitBytes: number): PrecomputePlan['teacherCalls'] {
  const rows = Math.min(batchRows, Math.max(1, Math.floor(LOGITS_BUDGET_BYTES / rowLogitBytes)));
  const calls = Math.min(concurrency, Math.max(1, Math.floor(LOGITS_BUDGET_BYTES / (rows * rowLogitBytes))));
  // onnxruntime's arena would keep a power-of-two growth of big per-call buffers (see TeacherSessionOptions.memArena)
  const memArena = rows * rowLogitBytes < ARENA_LIMIT_BYTES;
  if (rows === batchRows && calls === concurrency) return { batchRows, concurrency, memArena };
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;
  return {
    batchRows: rows, concurrency: calls, memArena,
    lowered: `teacher.batch_size ${batchRows} x cache.concurrency ${concurrency} would hold ${gib(batchRows * concurrency * rowLogitBytes)} of teacher logits (${gib(rowLogitBytes)} per row); running ${rows} row(s) per call, ${calls} call(s) in flight`,
  };
}
