/**
 * Child process of threads.test.ts: activates `backend` with `threads` threads, trains 3 SGD steps
 * of a 784-256-256-10 dense MLP on fixed data and prints {threads, sha256 of the weights, weights
 * sample, and (wasm) the CPU time of the second-busiest thread over the busiest during 20 large
 * matMuls} as one JSON line.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { selectBackend, tf, type BackendName } from '../../src/train/backend/index.js';
import { dense } from '../../src/train/nn/index.js';
import { Rng } from '../../src/core/util/index.js';

const [backend, threads] = [process.argv[2] as BackendName, Number(process.argv[3])];
const sel = await selectBackend(backend, { threads });
const rng = new Rng(7);
const sizes = [784, 256, 256, 10];
const vars = sizes.slice(1).map((n, i) => tf.variable(tf.tensor2d(Float32Array.from({ length: sizes[i]! * n }, () => rng.next() - 0.5), [sizes[i]!, n])));
const x = tf.tensor2d(Float32Array.from({ length: 256 * 784 }, () => rng.next()), [256, 784]);
const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: 256 }, () => rng.int(10)), 'int32'), 10);
const loss = (): tf.Scalar => {
  let h = x;
  vars.forEach((W, i) => { h = dense(h, W as tf.Variable<tf.Rank.R2>, undefined, { activation: i < vars.length - 1 ? 'relu' : 'linear' }); });
  return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
};
for (let s = 0; s < 3; s++) {
  tf.tidy(() => {
    const { grads } = tf.variableGrads(loss, vars);
    for (const v of vars) v.assign(tf.sub(v, tf.mul(0.05, grads[v.name]!)));
  });
}
const hash = createHash('sha256');
for (const v of vars) hash.update(new Uint8Array((v.dataSync() as Float32Array).buffer));
// the timing only means something on wasm (and would take a minute on cpu)
let secondOverFirst = 0;
if (backend === 'wasm') {
  const big = tf.randomUniform([256, 1200]) as tf.Tensor2D;
  const w = tf.randomUniform([1200, 1200]) as tf.Tensor2D;
  for (let i = 0; i < 2; i++) tf.tidy(() => { tf.matMul(big, w).dataSync(); }); // warm-up: packs the weights
  const before = threadTicks();
  for (let i = 0; i < 20; i++) tf.tidy(() => { tf.matMul(big, w).dataSync(); });
  const after = threadTicks();
  const busy = [...after].map(([tid, t]) => t - (before.get(tid) ?? 0)).sort((a, b) => b - a);
  secondOverFirst = busy[0]! > 0 ? busy[1]! / busy[0]! : 0;
}

/** CPU clock ticks (user + system) of every thread of this process, from /proc (Linux). */
function threadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    // fields after the parenthesised command name: state is field 3, utime 14, stime 15
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(tid, Number(fields[11]) + Number(fields[12]));
  }
  return out;
}
console.log(JSON.stringify({ backend: sel.name, threads: sel.threads, sha256: hash.digest('hex'), sample: Array.from((vars[0]!.dataSync() as Float32Array).slice(0, 64)), secondOverFirst }));
