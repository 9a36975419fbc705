/**
 * Training-step throughput of a 784-1200-1200-10 ReLU MLP at batch 256 on the wasm backend:
 * src/nn dense() (custom gradient: explicit transposes + plain matMul) vs tfjs's default gradient
 * of matMul+add (matMul with transposeA/transposeB). GFLOP/s counts 3x the forward matMul FLOPs
 * (so skipping layer 0's unneeded dx shows up as a higher rate).
 * Run: npx tsx scripts/bench/dense-grad.ts [steps]
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/train/backend/index.js';
import { dense } from '../../src/train/nn/index.js';
import { Rng } from '../../src/core/util/index.js';

const sizes = [784, 1200, 1200, 10];
const batch = 256;
const steps = Number(process.argv[2] ?? 5);

type Layer = (x: tf.Tensor2D, W: tf.Tensor2D, b: tf.Tensor1D, relu: boolean, first: boolean) => tf.Tensor2D;
const custom: Layer = (x, W, b, relu, first) => dense(x, W, b, { activation: relu ? 'relu' : 'linear', inputGrad: !first });
const customAllDx: Layer = (x, W, b, relu) => dense(x, W, b, { activation: relu ? 'relu' : 'linear' });
const naive: Layer = (x, W, b, relu) => {
  const z = tf.add(tf.matMul(x, W), b) as tf.Tensor2D;
  return relu ? tf.relu(z) : z;
};

function makeParams(rng: Rng): tf.Variable[] {
  const vars: tf.Variable[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const [fin, fout] = [sizes[i]!, sizes[i + 1]!];
    const lim = Math.sqrt(6 / fin);
    const w = Float32Array.from({ length: fin * fout }, () => (rng.next() * 2 - 1) * lim);
    vars.push(tf.variable(tf.tensor2d(w, [fin, fout])), tf.variable(tf.zeros([fout])));
  }
  return vars;
}

function bench(label: string, layer: Layer): void {
  const rng = new Rng(1);
  const vars = makeParams(rng);
  const x = tf.tensor2d(Float32Array.from({ length: batch * 784 }, () => rng.next()), [batch, 784]);
  const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: batch }, () => rng.int(10)), 'int32'), 10);
  const loss = (): tf.Scalar => {
    let h = x;
    for (let i = 0; i < vars.length / 2; i++) {
      h = layer(h, vars[2 * i] as tf.Variable<tf.Rank.R2>, vars[2 * i + 1] as tf.Variable<tf.Rank.R1>, i < vars.length / 2 - 1, i === 0);
    }
    return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(h)), -1))) as tf.Scalar;
  };
  const step = (): number => tf.tidy(() => {
    const { value, grads } = tf.variableGrads(loss, vars);
    for (const v of vars) v.assign(tf.sub(v, tf.mul(0.01, grads[v.name]!)));
    return value.dataSync()[0]!;
  });
  step(); // warm-up: packs weights, compiles kernels
  const t0 = performance.now();
  let last = 0;
  for (let i = 0; i < steps; i++) last = step();
  const ms = (performance.now() - t0) / steps;
  let fwd = 0;
  for (let i = 0; i + 1 < sizes.length; i++) fwd += 2 * sizes[i]! * sizes[i + 1]!;
  const gflops = (3 * fwd * batch) / (ms * 1e6);
  console.log(`${label.padEnd(28)} ${ms.toFixed(1).padStart(8)} ms/step  ${gflops.toFixed(2).padStart(6)} GFLOP/s  (loss ${last.toFixed(4)})`);
  tf.dispose([...vars, x, y]);
}

const { name } = await selectBackend('wasm');
console.log(`backend ${name}, MLP ${sizes.join('-')}, batch ${batch}, ${steps} timed steps`);
bench('custom, no dx for layer 0', custom);
bench('custom, dx for every layer', customAllDx);
bench('tfjs default gradients', naive);
