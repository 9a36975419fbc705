import { tf } from './backend/index.js';
import { kdLossSum, type KdLossOptions } from './losses/index.js';
import { GradientAccumulator, clipFactor, globalNorm, type Optimizer } from './optim/index.js';
import type { Student } from './students/index.js';
import type { TensorBatch } from './batch.js';

/** Loss parts of one optimizer step, each averaged over the step's unmasked positions. */
export interface StepResult {
  /** The optimized objective (1 - alpha) * CE + alpha * T^2 * D. */
  loss: number;
  /** Hard-label cross-entropy. */
  ce: number;
  /** The distillation term alpha-free: T^2 * D. */
  kd: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Unmasked positions the step averaged over. */
  positions: number;
}

/** Student logits as [M, V] rows: [B, C] as is, [B, T, V] flattened to [B*T, V]. */
export function logitRows(logits: tf.Tensor): tf.Tensor2D {
  const V = logits.shape[logits.shape.length - 1]!;
  return logits.rank === 2 ? (logits as tf.Tensor2D) : tf.reshape(logits, [-1, V]);
}

/**
 * One optimizer step over micro-batches: gradients of the loss *sums* are accumulated and
 * divided by the total number of unmasked positions, so accumulation equals one large batch.
 */
export function trainStep(student: Student, optimizer: Optimizer, micro: readonly TensorBatch[], loss: KdLossOptions, lr: number, clipNorm: number, step: number): StepResult {
  const acc = new GradientAccumulator();
  let sum = 0, ce = 0, kd = 0, count = 0;
  try {
    for (const b of micro) {
      let parts: tf.Scalar[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const logits = logitRows(student.forward(student.params, b.inputs, { training: true, step }));
        const s = kdLossSum(logits, b.teacher, b.mask, { ...loss, labels: b.labels });
        parts = [tf.keep(s.hardSum), tf.keep(s.distillSum), tf.keep(s.count)];
        return s.sum;
      }, Object.values(student.params));
      acc.add(grads);
      const [h, d, n] = parts.map((p) => p.dataSync()[0]!);
      sum += value.dataSync()[0]!;
      ce += h!; kd += d!; count += n!;
      tf.dispose([value, ...parts]);
    }
    const per = Math.max(count, 1);
    const sums = acc.take();
    // the mean over positions and the clipping factor are folded into one scale the optimizer
    // applies in its own pass, rather than two more passes over every gradient here
    const norm = globalNorm(sums) / per;
    const scale = clipFactor(norm, clipNorm > 0 ? clipNorm : Infinity) / per;
    // a non-finite norm means a diverged step: skip the update rather than poison the weights
    if (Number.isFinite(norm)) optimizer.step(gradsByName(student, sums), lr, scale);
    tf.dispose(Object.values(sums));
    return { loss: sum / per, ce: ce / per, kd: kd / per, gradNorm: norm, positions: count };
  } finally {
    acc.dispose();
  }
}

/** tf.variableGrads keys gradients by variable name; the optimizer wants kennis parameter names. */
function gradsByName(student: Student, grads: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(student.params)) {
    const g = grads[v.name] ?? grads[name];
    if (g) out[name] = g;
  }
  return out;
}
