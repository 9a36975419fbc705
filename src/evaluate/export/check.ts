import * as tf from '@tensorflow/tfjs';
import { KennisError } from '../../core/errors/index.js';
import { buildStudent, type StudentSpec, type WeightMap } from '../../train/students/index.js';
import { Teacher, type PlainTensor } from '../../core/runtime/index.js';
import { Rng } from '../../core/util/index.js';

/** Options of checkExport. */
export interface CheckOptions {
  /** Name of the mlp/cnn float input in the model (default 'image'). */
  inputName?: string;
  /** Allowed |onnx - tfjs| per logit, relative to max(1, |tfjs|) (default 1e-4). */
  tolerance?: number;
  /** Seed of the probe inputs (default 0). */
  seed?: number;
}

/** How far onnxruntime's logits are from the tfjs student's. */
export interface CheckResult {
  /** Largest |onnx - tfjs| over all probe logits. */
  maxAbsDiff: number;
  /** Logits compared. */
  compared: number;
}

/** A probe batch: the tfjs input and the matching onnxruntime feeds. */
interface Probe { x: tf.Tensor; feeds: Record<string, PlainTensor> }

// Probe logits stay below this many values, so checking a GPT-2-vocabulary student stays cheap.
const PROBE_BUDGET = 1 << 22;

/**
 * Runs `model` in onnxruntime and the tfjs student (on the current tfjs backend) over
 * deterministic inputs (rows of U[0,1) features; gpt: random ids at two sequence lengths, batch 2,
 * mask all ones) and throws a KennisError when a logit differs by more than the tolerance.
 */
export async function checkExport(spec: StudentSpec, weights: WeightMap, model: Uint8Array, opts: CheckOptions = {}): Promise<CheckResult> {
  const tol = opts.tolerance ?? 1e-4;
  const student = buildStudent(spec);
  const teacher = await Teacher.create(model, 'exported student');
  const result: CheckResult = { maxAbsDiff: 0, compared: 0 };
  try {
    student.setWeights(weights);
    for (const probe of probes(spec, new Rng(opts.seed ?? 0), opts.inputName ?? 'image')) {
      try {
        // read outside tidy: tidy walks a returned typed array element by element looking for tensors
        const logits = tf.tidy(() => student.forward(student.params, probe.x, { training: false }));
        const expected = logits.dataSync() as Float32Array;
        logits.dispose();
        const actual = (await teacher.run(probe.feeds, ['logits'])).logits!.data as Float32Array;
        if (actual.length !== expected.length) throw new KennisError(`exported model returned ${actual.length} logits for input [${probe.x.shape}], expected ${expected.length}; this is a kennis export bug`);
        for (let i = 0; i < expected.length; i++) {
          const diff = Math.abs(actual[i]! - expected[i]!);
          if (!(diff <= tol * Math.max(1, Math.abs(expected[i]!)))) {
            throw new KennisError(`exported ONNX logit ${i} for input [${probe.x.shape}] is ${actual[i]}, the tfjs student gives ${expected[i]} (diff ${diff} > ${tol}); the export does not match the student, report this kennis bug`);
          }
          result.maxAbsDiff = Math.max(result.maxAbsDiff, diff);
        }
        result.compared += expected.length;
      } finally {
        probe.x.dispose();
      }
    }
  } finally {
    student.dispose();
    await teacher.release();
  }
  return result;
}

function* probes(spec: StudentSpec, rng: Rng, inputName: string): Generator<Probe> {
  if (spec.arch !== 'gpt') {
    const features = spec.arch === 'mlp' ? spec.inputs : spec.inputShape.reduce((a, b) => a * b, 1);
    const rows = 8;
    const data = Float32Array.from({ length: rows * features }, () => rng.next());
    yield { x: tf.tensor2d(data, [rows, features]), feeds: { [inputName]: { type: 'float32', data, dims: [rows, features] } } };
    return;
  }
  // two lengths exercise the dynamic sequence axis; the full one reaches the last position row
  const perToken = spec.vocab;
  const short = Math.max(1, Math.min(spec.seqLen - 1, 7));
  const shapes: [number, number][] = [[2, short]];
  if (spec.seqLen * perToken <= PROBE_BUDGET) shapes.push([1, spec.seqLen]);
  else shapes.push([1, Math.max(1, Math.floor(PROBE_BUDGET / perToken))]);
  for (const [B, T] of shapes) {
    const ids = Int32Array.from({ length: B * T }, () => rng.int(spec.vocab));
    yield {
      x: tf.tensor2d(ids, [B, T], 'int32'),
      feeds: {
        input_ids: { type: 'int64', data: BigInt64Array.from(ids, (v) => BigInt(v)), dims: [B, T] },
        attention_mask: { type: 'int64', data: new BigInt64Array(B * T).fill(1n), dims: [B, T] },
      },
    };
  }
}
