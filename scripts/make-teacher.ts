/**
 * Trains the built-in MNIST teacher (Hinton et al. 2015 style: 784-1200-1200-10, dropout, input
 * jitter) with TensorFlow.js on the mnist train split and exports it to ONNX.
 *
 *   npx tsx scripts/make-teacher.ts [--epochs 40] [--seed 1] [--out data/teachers/mnist-mlp-1200.onnx]
 *
 * Writes the model, and beside it a .json with its sha256, validation/test accuracy and this command.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend, tf } from '../src/train/backend/index.js';
import { openDataset } from '../src/data/index.js';
import { checkExport, exportStudentToOnnx } from '../src/evaluate/export/index.js';
import { hardLabelLossSum } from '../src/train/losses/index.js';
import { AdamW, cosineWithWarmup } from '../src/train/optim/index.js';
import { buildStudent, type MlpSpec, type Student } from '../src/train/students/index.js';
import { flatValues } from '../src/core/util/arrow.js';
import { Rng } from '../src/core/util/rng.js';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '40' },
    seed: { type: 'string', default: '1' },
    batch: { type: 'string', default: '100' },
    out: { type: 'string', default: 'data/teachers/mnist-mlp-1200.onnx' },
  },
});
const epochs = Number(args.epochs);
const seed = Number(args.seed);
const batchSize = Number(args.batch);

/** All rows of an mnist split as flat arrays. */
async function loadSplit(split: 'train' | 'validation' | 'test'): Promise<{ x: Float32Array; y: Int32Array; n: number }> {
  const ds = await openDataset({ name: 'mnist', split });
  const x = new Float32Array(ds.numRows * 784);
  const y = new Int32Array(ds.numRows);
  let at = 0;
  for await (const b of ds.batches({ batchSize: 1000 })) {
    x.set(flatValues(b.getChild('image')!) as Float32Array, at * 784);
    y.set(flatValues(b.getChild('label')!) as Int32Array, at);
    at += b.numRows;
  }
  return { x, y, n: ds.numRows };
}

/** Shifts each 28x28 image by up to 2 pixels in x and y (Hinton et al.'s input jitter). */
function jitter(x: Float32Array, rows: number, rng: Rng): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const dx = rng.int(5) - 2, dy = rng.int(5) - 2;
    for (let i = 0; i < 28; i++) {
      const si = i - dy;
      if (si < 0 || si >= 28) continue;
      for (let j = 0; j < 28; j++) {
        const sj = j - dx;
        if (sj >= 0 && sj < 28) out[r * 784 + i * 28 + j] = x[r * 784 + si * 28 + sj]!;
      }
    }
  }
  return out;
}

function accuracy(student: Student, data: { x: Float32Array; y: Int32Array; n: number }): number {
  return tf.tidy(() => {
    const logits = student.forward(student.params, tf.tensor2d(data.x, [data.n, 784]), { training: false });
    return tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.tensor1d(data.y, 'int32')), 'float32')).dataSync()[0]!;
  });
}

const backend = await selectBackend('auto');
const [train, validation, test] = [await loadSplit('train'), await loadSplit('validation'), await loadSplit('test')];
const spec: MlpSpec = { arch: 'mlp', inputs: 784, hidden: [1200, 1200], activation: 'relu', dropout: 0.5, inputDropout: 0.2, classes: 10 };
const teacher = buildStudent(spec, { seed });
const stepsPerEpoch = Math.floor(train.n / batchSize);
const totalSteps = epochs * stepsPerEpoch;
const schedule = cosineWithWarmup({ lr: 1e-3, warmupSteps: 200, totalSteps });
const optimizer = new AdamW(teacher.params, { lr: 1e-3, weightDecay: 0 });
const rng = new Rng(seed);
console.error(`make-teacher: ${teacher.parameterCount().toLocaleString('en-US')} parameters on ${backend.name}, ${epochs} epochs of ${stepsPerEpoch} steps`);
const started = performance.now();
let step = 0;
for (let epoch = 0; epoch < epochs; epoch++) {
  const order = rng.shuffle(Array.from({ length: train.n }, (_, i) => i));
  let lossSum = 0;
  for (let s = 0; s < stepsPerEpoch; s++) {
    const idx = order.slice(s * batchSize, (s + 1) * batchSize);
    const xb = new Float32Array(batchSize * 784);
    const yb = new Int32Array(batchSize);
    idx.forEach((r, i) => { xb.set(train.x.subarray(r * 784, (r + 1) * 784), i * 784); yb[i] = train.y[r]!; });
    const xj = jitter(xb, batchSize, rng);
    const { value, grads } = tf.variableGrads(() => {
      const logits = teacher.forward(teacher.params, tf.tensor2d(xj, [batchSize, 784]), { training: true, step });
      const l = hardLabelLossSum(logits, tf.tensor1d(yb, 'int32'), tf.ones([batchSize]));
      return tf.div(l.sum, l.count) as tf.Scalar;
    }, Object.values(teacher.params));
    const byName: Record<string, tf.Tensor> = {};
    for (const [name, v] of Object.entries(teacher.params)) byName[name] = grads[v.name]!;
    optimizer.step(byName, schedule(step));
    lossSum += value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    step++;
  }
  const secs = (performance.now() - started) / 1000;
  console.error(`epoch ${epoch + 1}/${epochs}: loss ${(lossSum / stepsPerEpoch).toFixed(4)} val acc ${accuracy(teacher, validation).toFixed(4)} (${secs.toFixed(0)} s)`);
}
const valAcc = accuracy(teacher, validation);
const testAcc = accuracy(teacher, test);
const bytes = exportStudentToOnnx(spec, teacher.getWeights(), { inputName: 'image' });
// onnxruntime must agree with tfjs on the exported graph (within 1e-4) before anything is written
const check = await checkExport(spec, teacher.getWeights(), bytes, { inputName: 'image' });
console.error(`export check: onnxruntime vs tfjs max |diff| ${check.maxAbsDiff.toExponential(2)}`);
mkdirSync(dirname(args.out!), { recursive: true });
writeFileSync(args.out!, bytes);
const sha256 = createHash('sha256').update(bytes).digest('hex');
const info = {
  file: args.out, sha256, bytes: bytes.length, parameters: teacher.parameterCount(), spec,
  validationAccuracy: valAcc, testAccuracy: testAcc, testErrors: Math.round((1 - testAcc) * test.n),
  backend: backend.name, seconds: Math.round((performance.now() - started) / 1000),
  command: `npx tsx scripts/make-teacher.ts --epochs ${epochs} --seed ${seed} --batch ${batchSize} --out ${args.out}`,
};
writeFileSync(args.out!.replace(/\.onnx$/, '.json'), JSON.stringify(info, null, 2) + '\n');
console.log(JSON.stringify(info));
