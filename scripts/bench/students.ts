/**
 * Training-step throughput of the three student architectures on the wasm backend (plain SGD,
 * cross-entropy). GFLOP/s counts 3x flopsPerSample(spec) per sample.
 * Run: npx tsx scripts/bench/students.ts [steps]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/train/backend/index.js';
import { buildStudent, type StudentSpec } from '../../src/train/students/index.js';
import { Rng } from '../../src/core/util/index.js';

const steps = Number(process.argv[2] ?? 3);
const rng = new Rng(1);

interface Case { label: string; spec: StudentSpec; batch: number; x: () => tf.Tensor; y: () => tf.Tensor }
const floats = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.next());
const ints = (n: number, k: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(k));

const cases: Case[] = [
  { label: 'mlp 784-1200-1200-10', spec: { arch: 'mlp', inputs: 784, hidden: [1200, 1200], activation: 'relu', dropout: 0.2, classes: 10 }, batch: 256, x: () => tf.tensor2d(floats(256 * 784), [256, 784]), y: () => tf.tensor1d(ints(256, 10), 'int32') },
  { label: 'cnn 28x28 c32p2-c64p2-d128', spec: { arch: 'cnn', inputShape: [28, 28, 1], conv: [{ filters: 32, kernel: 3, pool: 2 }, { filters: 64, kernel: 3, pool: 2 }], dense: [128], classes: 10 }, batch: 64, x: () => tf.tensor2d(floats(64 * 784), [64, 784]), y: () => tf.tensor1d(ints(64, 10), 'int32') },
  { label: 'gpt V256 D128 L2 H4 T128', spec: { arch: 'gpt', vocab: 256, dModel: 128, layers: 2, heads: 4, seqLen: 128 }, batch: 16, x: () => tf.tensor2d(ints(16 * 128, 256), [16, 128], 'int32'), y: () => tf.tensor2d(ints(16 * 128, 256), [16, 128], 'int32') },
];

function ce(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const C = logits.shape[logits.rank - 1]!;
  const oh = tf.oneHot(tf.reshape(labels, [-1]) as tf.Tensor1D, C);
  return tf.neg(tf.mean(tf.sum(tf.mul(oh, tf.logSoftmax(tf.reshape(logits, [-1, C]))), -1))) as tf.Scalar;
}

await selectBackend('wasm');
for (const c of cases) {
  const st = buildStudent(c.spec, { seed: 1 });
  const [x, y] = [c.x(), c.y()];
  const vars = Object.values(st.params);
  const step = (s: number): void => tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => ce(st.forward(st.params, x, { training: true, step: s }), y), vars);
    for (const v of vars) v.assign(tf.sub(v, tf.mul(0.01, grads[v.name]!)));
    value.dataSync();
  });
  step(0);
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) step(s);
  const ms = (performance.now() - t0) / steps;
  const gflops = (3 * st.flopsPerSample() * c.batch) / (ms * 1e6);
  console.log(`${c.label.padEnd(28)} batch ${String(c.batch).padStart(3)}  ${ms.toFixed(1).padStart(8)} ms/step  ${gflops.toFixed(2).padStart(6)} GFLOP/s`);
  tf.dispose([x, y]);
  st.dispose();
}
