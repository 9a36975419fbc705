/**
 * Trains the built-in byte-level LM teacher: a pre-LN causal transformer (the gpt student's
 * architecture, src/students/gpt.ts) on the moby-dick (or sotu) train split with hard next-byte
 * labels, AdamW and a cosine schedule, on TensorFlow.js; exports it to ONNX (input_ids,
 * attention_mask int64 [batch, sequence] -> logits [batch, sequence, 256]) and checks
 * onnxruntime against tfjs.
 *
 *   npx tsx scripts/make-lm-teacher.ts [--steps 1200] [--d-model 128] [--layers 4] [--seq-len 128] [--batch 8]
 *   npx tsx scripts/make-lm-teacher.ts --steps 5 --measure      # time a few steps, write nothing
 *
 * Writes the model and, beside it, a .json with its sha256, validation/test bits per byte,
 * parameter count, seconds and this command.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend, tf } from '../src/train/backend/index.js';
import { loadTextCorpus, textSplitRange, windowCount, type TextSourceName } from '../src/data/index.js';
import { checkExport, exportStudentToOnnx } from '../src/evaluate/export/index.js';
import { hardLabelLossSum } from '../src/train/losses/index.js';
import { AdamW, clipByGlobalNorm, cosineWithWarmup } from '../src/train/optim/index.js';
import { buildStudent, type GptSpec, type Student } from '../src/train/students/index.js';
import { Teacher } from '../src/core/runtime/index.js';
import { Rng } from '../src/core/util/rng.js';

const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string', default: 'moby-dick' },
    'seq-len': { type: 'string', default: '128' },
    'd-model': { type: 'string', default: '128' },
    layers: { type: 'string', default: '4' },
    heads: { type: 'string', default: '4' },
    steps: { type: 'string', default: '1200' },
    batch: { type: 'string', default: '8' },
    lr: { type: 'string', default: '0.003' },
    warmup: { type: 'string', default: '60' },
    'weight-decay': { type: 'string', default: '0.01' },
    seed: { type: 'string', default: '1' },
    'eval-every': { type: 'string', default: '200' },
    out: { type: 'string', default: 'data/teachers/lm-teacher.onnx' },
    measure: { type: 'boolean', default: false },
  },
});
const corpus = args.corpus as TextSourceName;
const seqLen = Number(args['seq-len']);
const steps = Number(args.steps);
const batch = Number(args.batch);
const lr = Number(args.lr);
const warmup = Math.min(Number(args.warmup), steps - 1);
const seed = Number(args.seed);
const evalEvery = Number(args['eval-every']);
const log = (m: string) => process.stderr.write(m + '\n');

/** Bytes of one split of the corpus. */
async function splitBytes(split: 'train' | 'validation' | 'test'): Promise<Uint8Array> {
  const { bytes } = await loadTextCorpus(corpus);
  const [from, to] = textSplitRange(bytes.length, split);
  return bytes.subarray(from, to);
}

/** ids/labels int32 [rows, T] of windows starting at `starts` (labels are the next bytes). */
function windows(bytes: Uint8Array, starts: readonly number[], T: number): { ids: Int32Array; labels: Int32Array } {
  const ids = new Int32Array(starts.length * T);
  const labels = new Int32Array(starts.length * T);
  starts.forEach((at, r) => {
    ids.set(bytes.subarray(at, at + T), r * T);
    labels.set(bytes.subarray(at + 1, at + T + 1), r * T);
  });
  return { ids, labels };
}

/** Non-overlapping windows of a held-out split, as the built-in dataset cuts them (stride = seqLen). */
function heldOutStarts(bytes: Uint8Array, limit = Infinity): number[] {
  const n = Math.min(windowCount(bytes.length, seqLen, seqLen), limit);
  return Array.from({ length: n }, (_, i) => i * seqLen);
}

/** Summed next-byte cross-entropy (nats) of a forward function over windows, batched. */
async function crossEntropySum(bytes: Uint8Array, starts: number[], logitsOf: (ids: Int32Array, rows: number) => Promise<tf.Tensor>): Promise<{ nats: number; count: number }> {
  let nats = 0, count = 0;
  for (let i = 0; i < starts.length; i += 32) {
    const part = starts.slice(i, i + 32);
    const w = windows(bytes, part, seqLen);
    const logits = await logitsOf(w.ids, part.length);
    const s = tf.tidy(() => {
      const l = hardLabelLossSum(tf.reshape(logits, [-1, 256]), tf.tensor1d(w.labels, 'int32'), tf.ones([w.labels.length]));
      return [l.sum.dataSync()[0]!, l.count.dataSync()[0]!];
    });
    logits.dispose();
    nats += s[0]!; count += s[1]!;
  }
  return { nats, count };
}

const tfjsLogits = (student: Student) => async (ids: Int32Array, rows: number): Promise<tf.Tensor> =>
  tf.tidy(() => student.forward(student.params, tf.tensor2d(ids, [rows, seqLen], 'int32'), { training: false }));

async function bitsPerByte(student: Student, bytes: Uint8Array, limit?: number): Promise<number> {
  const { nats, count } = await crossEntropySum(bytes, heldOutStarts(bytes, limit), tfjsLogits(student));
  return nats / count / Math.LN2;
}

const backend = await selectBackend('wasm');
const [train, validation, test] = [await splitBytes('train'), await splitBytes('validation'), await splitBytes('test')];
const spec: GptSpec = { arch: 'gpt', vocab: 256, dModel: Number(args['d-model']), layers: Number(args.layers), heads: Number(args.heads), seqLen, dropout: 0 };
const teacher = buildStudent(spec, { seed });
const schedule = cosineWithWarmup({ lr, warmupSteps: warmup, totalSteps: steps, minLr: lr / 10 });
const optimizer = new AdamW(teacher.params, { lr, weightDecay: Number(args['weight-decay']) });
const rng = new Rng(seed);
const tokensPerStep = batch * seqLen;
log(`make-lm-teacher: gpt d_model ${spec.dModel}, ${spec.layers} layers, ${spec.heads} heads, seq_len ${seqLen}: ${teacher.parameterCount().toLocaleString('en-US')} parameters on ${backend.name}; ` +
  `${steps} steps of ${batch} random windows (${(steps * tokensPerStep).toLocaleString('en-US')} tokens; ${corpus} train split has ${train.length.toLocaleString('en-US')} bytes)`);
const started = performance.now();
let lossSum = 0, lossSteps = 0;
for (let step = 0; step < steps; step++) {
  // random window starts: every step sees fresh byte offsets, so ~1 pass covers the split without aligned repeats
  const starts = Array.from({ length: batch }, () => rng.int(train.length - seqLen - 1));
  const w = windows(train, starts, seqLen);
  const { value, grads } = tf.variableGrads(() => {
    const logits = teacher.forward(teacher.params, tf.tensor2d(w.ids, [batch, seqLen], 'int32'), { training: true, step });
    const l = hardLabelLossSum(tf.reshape(logits, [-1, 256]), tf.tensor1d(w.labels, 'int32'), tf.ones([w.labels.length]));
    return tf.div(l.sum, l.count) as tf.Scalar;
  }, Object.values(teacher.params));
  const byName: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(teacher.params)) byName[name] = grads[v.name]!;
  const clipped = clipByGlobalNorm(byName, 1);
  optimizer.step(clipped.grads, schedule(step));
  lossSum += value.dataSync()[0]!;
  lossSteps++;
  tf.dispose([value, ...Object.values(grads), ...Object.values(clipped.grads)]);
  const done = step + 1;
  if (done % 20 === 0 || done === steps) {
    const secs = (performance.now() - started) / 1000;
    log(`step ${done}/${steps}: train loss ${(lossSum / lossSteps / Math.LN2).toFixed(3)} bits/byte, ${Math.round((done * tokensPerStep) / secs)} tokens/s, ${secs.toFixed(0)} s` +
      (args.measure ? '' : `, ~${Math.round((secs / done) * (steps - done))} s left`));
    lossSum = 0; lossSteps = 0;
  }
  if (!args.measure && evalEvery > 0 && done % evalEvery === 0 && done < steps) {
    log(`  validation (first 64 windows): ${(await bitsPerByte(teacher, validation, 64)).toFixed(3)} bits/byte`);
  }
}
const trainSeconds = (performance.now() - started) / 1000;
if (args.measure) {
  log(`measured ${steps} steps in ${trainSeconds.toFixed(1)} s: ${(trainSeconds / steps).toFixed(2)} s/step, ${Math.round((steps * tokensPerStep) / trainSeconds)} tokens/s`);
  process.exit(0);
}
const validationBpb = await bitsPerByte(teacher, validation);
const testBpb = await bitsPerByte(teacher, test);
log(`validation ${validationBpb.toFixed(4)} bits/byte, test ${testBpb.toFixed(4)} bits/byte`);

const weights = teacher.getWeights();
const bytes = exportStudentToOnnx(spec, weights);
// random-id probes (checkExport) plus the real validation windows through onnxruntime
const probe = await checkExport(spec, weights, bytes, { tolerance: 1e-4 });
const session = await Teacher.create(bytes, 'lm teacher');
let maxDiff = probe.maxAbsDiff;
let onnxBpb: number;
try {
  const tfjs = tfjsLogits(teacher);
  const onnx = await crossEntropySum(validation, heldOutStarts(validation), async (ids, rows) => {
    const out = await session.run({
      input_ids: { type: 'int64', data: BigInt64Array.from(ids, (v) => BigInt(v)), dims: [rows, seqLen] },
      attention_mask: { type: 'int64', data: new BigInt64Array(ids.length).fill(1n), dims: [rows, seqLen] },
    }, ['logits']);
    const actual = out.logits!.data as Float32Array;
    const expected = await tfjs(ids, rows);
    const e = expected.dataSync();
    for (let i = 0; i < e.length; i++) {
      const diff = Math.abs(actual[i]! - e[i]!);
      if (!(diff <= 1e-4 * Math.max(1, Math.abs(e[i]!)))) throw new Error(`onnxruntime logit ${i} is ${actual[i]}, tfjs ${e[i]}: expected |diff| <= 1e-4`);
      maxDiff = Math.max(maxDiff, diff);
    }
    expected.dispose();
    return tf.tensor3d(actual, [rows, seqLen, 256]);
  });
  onnxBpb = onnx.nats / onnx.count / Math.LN2;
} finally {
  await session.release();
}
log(`onnxruntime vs tfjs: max |logit diff| ${maxDiff.toExponential(2)} (probes + ${heldOutStarts(validation).length} validation windows); onnx validation ${onnxBpb.toFixed(4)} bits/byte`);

mkdirSync(dirname(args.out!), { recursive: true });
writeFileSync(args.out!, bytes);
const info = {
  file: args.out, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length,
  parameters: teacher.parameterCount(), spec, corpus,
  inputs: { input_ids: 'int64 [batch, sequence]', attention_mask: 'int64 [batch, sequence]' }, output: 'logits float32 [batch, sequence, 256]',
  training: { steps, batch, seqLen, tokens: steps * tokensPerStep, lr, warmup, minLr: lr / 10, weightDecay: Number(args['weight-decay']), clipNorm: 1, seed, optimizer: 'adamw', schedule: 'cosine', windows: 'uniform random starts in the train split' },
  validationBitsPerByte: validationBpb, testBitsPerByte: testBpb, onnxValidationBitsPerByte: onnxBpb, onnxMaxAbsDiff: maxDiff,
  backend: backend.name, seconds: Math.round(trainSeconds),
  command: `npx tsx scripts/make-lm-teacher.ts --corpus ${corpus} --seq-len ${seqLen} --d-model ${spec.dModel} --layers ${spec.layers} --heads ${spec.heads} ` +
    `--steps ${steps} --batch ${batch} --lr ${lr} --warmup ${warmup} --weight-decay ${args['weight-decay']} --seed ${seed} --eval-every ${evalEvery} --out ${args.out}`,
};
writeFileSync(args.out!.replace(/\.onnx$/, '.json'), JSON.stringify(info, null, 2) + '\n');
teacher.dispose();
optimizer.dispose();
console.log(JSON.stringify(info));
