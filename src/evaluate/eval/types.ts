import type { DatasetSpec, Split } from '../../data/index.js';

/** Options of evaluateModels. */
export interface EvalOptions {
  /** Dataset to evaluate on (its split is overridden by `split` when given). */
  dataset: DatasetSpec;
  /** Split to read instead of dataset.split. */
  split?: Split;
  /** Rows per onnxruntime run (default 256; sequences: fewer, so a batch's logits stay under 4M values). */
  batchSize?: number;
  /** Timed runs of the latency batch per model; the median is reported (default 5). */
  repeats?: number;
  /** Rows of the fixed latency batch, the split's first rows (default batchSize). */
  latencyBatch?: number;
  /** onnxruntime intra-op threads (default: onnxruntime decides). */
  threads?: number;
  /** Show progress on stderr. */
  progress?: boolean;
}

/** One model's results. */
export interface ModelEval {
  /** The model file as given. */
  model: string;
  /** Output read as logits: `logits` if the model has it, else its first output. */
  output: string;
  /** Numeric initializer elements (see countParameters). */
  parameters: number;
  /** File size in bytes. */
  fileBytes: number;
  /** Top-1 accuracy against the labels (sequences: next-token accuracy); absent without labels. */
  accuracy?: number;
  /** Positions whose top-1 prediction is not the label. */
  errors?: number;
  /** Mean -ln p(label) in nats. */
  crossEntropy?: number;
  /** Sequences: mean -log2 p(next token). */
  bitsPerToken?: number;
  /** Sequences of text: summed -log2 p(next token) over the UTF-8 bytes of text those tokens decode to (byte-level text: bits per token). */
  bitsPerByte?: number;
  /** Sequences: exp(crossEntropy). */
  perplexity?: number;
  /** Classification: errors per true class. */
  perClassErrors?: number[];
  /** Classification: counts [true class][predicted class]. */
  confusion?: number[][];
  /** Fraction of positions whose top-1 equals the reference model's (the first). */
  agreement: number;
  /** Mean KL(reference || this) at T=1 in nats. */
  klToReference: number;
  /** Largest |logit - reference logit| over all positions and classes (a quantized model against its float original). */
  maxAbsLogitDiff: number;
  /** Median wall-clock of session.run over the latency batch, divided by its rows, in milliseconds. */
  latencyMsPerSample: number;
}

/** What evaluateModels measured. */
export interface EvalReport {
  /** Dataset name. */
  dataset: string;
  /** Split evaluated. */
  split: Split;
  /** Rows evaluated. */
  rows: number;
  /** Positions scored per model: rows (classification) or rows x tokens (sequences). */
  positions: number;
  /** classification: outputs [N, C]; sequence: outputs [N, T, V]. */
  task: 'classification' | 'sequence';
  /** Classes or vocabulary size. */
  classes: number;
  /** The first model, against which agreement and KL are measured. */
  reference: string;
  /** Rows per run. */
  batchSize: number;
  /** Rows of the latency batch. */
  latencyBatch: number;
  /** Timed runs per model. */
  repeats: number;
  /** Per model, in the order given. */
  models: ModelEval[];
}
