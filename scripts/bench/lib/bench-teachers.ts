import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { mlpClassifier, sequenceModel } from '../../../test/fixtures/teachers.js';

/** Tokens per window of the sequence teacher. */
export const BENCH_SEQ_LEN = 128;

/**
 * The two teachers bench:precompute and bench:writer measure, written into `root`: the MNIST MLP
 * 784-1200-1200-10 and a GPT d128 L2 over bytes with a context of BENCH_SEQ_LEN.
 */
export function writeBenchTeachers(root: string): { mnistTeacher: string; seqTeacher: string } {
  const mnistTeacher = path.join(root, 'mnist-mlp-1200.onnx');
  writeFileSync(mnistTeacher, mlpClassifier({ seed: 1, hidden: [1200, 1200] }).bytes);
  const seqTeacher = path.join(root, 'seq-d128-l2.onnx');
  writeFileSync(seqTeacher, sequenceModel({ vocab: 256, dModel: 128, layers: 2, heads: 4, maxSeq: BENCH_SEQ_LEN, seed: 2 }).bytes);
  return { mnistTeacher, seqTeacher };
}
