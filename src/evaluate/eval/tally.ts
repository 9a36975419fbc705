import { DatasetError } from '../../core/errors/index.js';
import { klSum, type RowStats } from './logits.js';
import type { ModelEval } from './types.js';

/** The reference model's logits and statistics for the current batch. */
export interface Reference {
  /** Logits [P, V]. */
  logits: ArrayLike<number>;
  /** Their row statistics. */
  stats: RowStats;
}

/** Running sums of one model's metrics over the batches of a split. */
export class Tally {
  private positions = 0;
  private correct = 0;
  private nll = 0;
  private agree = 0;
  private kl = 0;
  private maxDiff = 0;
  /** UTF-8 bytes of text the labels cover (text datasets; see addBytes). */
  private bytes = 0;
  private readonly confusion: Float64Array | undefined;

  /** `classes` = V; a confusion matrix is kept for classification only. */
  constructor(private readonly classes: number, private readonly classification: boolean, private readonly labelled: boolean) {
    this.confusion = classification && labelled ? new Float64Array(classes * classes) : undefined;
  }

  /** Adds one batch: logits [P, V], their stats, labels [P] (if labelled), and the reference (undefined: this is it). */
  add(logits: ArrayLike<number>, stats: RowStats, labels: ArrayLike<number | bigint> | undefined, ref: Reference | undefined): void {
    const V = this.classes;
    const P = stats.lse.length;
    if (labels) {
      for (let p = 0; p < P; p++) {
        const y = Number(labels[p]!);
        if (!(Number.isInteger(y) && y >= 0 && y < V)) {
          throw new DatasetError(`label ${y} at position ${this.positions + p} is outside the model's ${V} classes; evaluate on a dataset whose labels are 0..${V - 1}`);
        }
        const pred = stats.argmax[p]!;
        if (pred === y) this.correct++;
        this.nll += stats.lse[p]! - logits[p * V + y]!;
        if (this.confusion) this.confusion[y * V + pred]!++;
      }
    }
    if (ref) {
      for (let p = 0; p < P; p++) if (stats.argmax[p] === ref.stats.argmax[p]) this.agree++;
      this.kl += klSum(ref.logits, ref.stats, logits, stats, V);
      for (let i = 0; i < P * V; i++) this.maxDiff = Math.max(this.maxDiff, Math.abs(logits[i]! - ref.logits[i]!));
    } else {
      // the reference against itself: agreement 1 and KL 0 by definition
      this.agree += P;
    }
    this.positions += P;
  }

  /** Adds the UTF-8 bytes of text a batch's labels cover (data/labelByteCounter). */
  addBytes(bytes: number): void {
    this.bytes += bytes;
  }

  /** Positions added so far. */
  get count(): number {
    return this.positions;
  }

  /** The accumulated metrics. */
  result(): Pick<ModelEval, 'accuracy' | 'errors' | 'crossEntropy' | 'bitsPerToken' | 'bitsPerByte' | 'perplexity' | 'perClassErrors' | 'confusion' | 'agreement' | 'klToReference' | 'maxAbsLogitDiff'> {
    const n = this.positions;
    const out: ReturnType<Tally['result']> = { agreement: this.agree / n, klToReference: this.kl / n, maxAbsLogitDiff: this.maxDiff };
    if (!this.labelled) return out;
    const ce = this.nll / n;
    Object.assign(out, { accuracy: this.correct / n, errors: n - this.correct, crossEntropy: ce });
    if (!this.classification) {
      out.bitsPerToken = ce / Math.LN2;
      // the decoded bytes of exactly the labels scored; byte ids without a tokenizer record are bytes
      // (tokens / bytes is exactly 1 for byte-level text, which keeps bits per byte = bits per token there)
      if (this.bytes > 0) out.bitsPerByte = out.bitsPerToken * (n / this.bytes);
      else if (this.classes === 256) out.bitsPerByte = out.bitsPerToken;
      out.perplexity = Math.exp(ce);
    }
    if (this.confusion) {
      const V = this.classes;
      const confusion = Array.from({ length: V }, (_, y) => Array.from(this.confusion!.subarray(y * V, (y + 1) * V)));
      out.confusion = confusion;
      out.perClassErrors = confusion.map((row, y) => row.reduce((a, b) => a + b, 0) - row[y]!);
    }
    return out;
  }
}
