import { tf } from './backend/index.js';
import type { Manifest } from '../cache/index.js';
import type { CacheLoader } from './loader/index.js';
import { kdLossSum, kdMetricsSum, type KdLossOptions } from './losses/index.js';
import type { Student } from './students/index.js';
import { disposeBatch, toTensors } from './batch.js';
import { logitRows } from './step.js';
import type { StudentInput } from './student-spec.js';

/** Held-out metrics, averaged over unmasked positions. */
export interface EvalMetrics {
  /** The training objective on held-out data. */
  loss: number;
  /** Hard-label cross-entropy (nats). */
  ce: number;
  /** Top-1 accuracy against the labels. */
  accuracy: number;
  /** Misclassified positions (classification: test errors). */
  errors: number;
  /** Top-1 agreement with the teacher. */
  agreement: number;
  /** KL(teacher || student) at T=1. */
  kl_to_teacher: number;
  /** Sequences of text: cross-entropy in bits per UTF-8 byte of text (byte-level or tokenized). */
  bits_per_byte?: number;
  /** Sequences: exp(ce). */
  perplexity?: number;
  /** Positions evaluated. */
  positions: number;
}

/** Evaluates the student (no dropout) over every batch of a cache loader. */
export async function evaluate(student: Student, loader: CacheLoader, manifest: Manifest, input: StudentInput, loss: KdLossOptions): Promise<EvalMetrics> {
  const totals = { loss: 0, ce: 0, correct: 0, agree: 0, kl: 0, count: 0 };
  for await (const batch of loader.epoch(0)) {
    const b = toTensors(batch, manifest, input);
    try {
      const values = tf.tidy(() => {
        const logits = logitRows(student.forward(student.params, b.inputs, { training: false }));
        const s = kdLossSum(logits, b.teacher, b.mask, { ...loss, labels: b.labels });
        const m = kdMetricsSum(logits, b.teacher, b.mask, loss.tail ? { tail: loss.tail } : {});
        const correct = tf.sum(tf.mul(tf.cast(tf.equal(tf.argMax(logits, 1), b.labels), 'float32'), b.mask));
        return tf.stack([s.sum, s.hardSum, correct, m.agreeSum, m.klSum, s.count]);
      });
      const [l, ce, correct, agree, kl, count] = Array.from(await values.data());
      values.dispose();
      totals.loss += l!; totals.ce += ce!; totals.correct += correct!; totals.agree += agree!; totals.kl += kl!; totals.count += count!;
    } finally {
      disposeBatch(b);
    }
  }
  return metricsOfTotals(totals, manifest);
}

/** Sums over an evaluation's unmasked positions (ce: the hard-label loss, unweighted by alpha). */
export interface EvalTotals { loss: number; ce: number; correct: number; agree: number; kl: number; count: number }

/**
 * Held-out metrics from their sums, per unmasked position; bits per byte for text caches. A
 * tokenized cache divides by its manifest's bytesPerToken: the split's text bytes per token of its
 * stream, which an evaluation over every row of the split's cache (packed, stride = seq_len, no
 * limit) covers up to the < seq_len + 1 tokens at its end; with dataset.limit it is the split's
 * average. `kennis eval` counts the decoded bytes of exactly the tokens it scores instead.
 */
export function metricsOfTotals(totals: EvalTotals, manifest: Manifest): EvalMetrics {
  const n = Math.max(totals.count, 1);
  const ce = totals.ce / n;
  const metrics: EvalMetrics = {
    loss: totals.loss / n, ce, accuracy: totals.correct / n, errors: Math.round(totals.count - totals.correct),
    agreement: totals.agree / n, kl_to_teacher: totals.kl / n, positions: totals.count,
  };
  if (manifest.targets.seqLen) {
    // byte-level caches without a tokenizer record (written before it existed) are 1 byte per token
    const bytesPerToken = manifest.dataset.tokenizer?.bytesPerToken ?? (manifest.targets.vocab === 256 ? 1 : undefined);
    if (bytesPerToken !== undefined) metrics.bits_per_byte = ce / Math.LN2 / bytesPerToken;
    metrics.perplexity = Math.exp(ce);
  }
  return metrics;
}
